"""WordPress (TradingRobotPlug.com): the client, polling, backfill and push-back. Credentials: security.py."""

import re

from django.core.exceptions import ImproperlyConfigured

from .base import env

WP_BASE_URL = env("WP_BASE_URL", default="https://tradingrobotplug.com").rstrip("/")
WP_TIMEZONE = env("WP_TIMEZONE", default="")  # wins over the zone the site reports in /wp-json/
WP_REST_STYLE = env("WP_REST_STYLE", default="auto")  # auto | pretty (/wp-json/...) | query (?rest_route=...)
WP_CONNECT_TIMEOUT = env.float("WP_CONNECT_TIMEOUT", default=5.0)
WP_READ_TIMEOUT = env.float("WP_READ_TIMEOUT", default=90.0)  # /stock-data may fetch 4 quotes live, 15 s each
WP_RETRIES = env.int("WP_RETRIES", default=3)
WP_BACKOFF_SECONDS = env.float("WP_BACKOFF_SECONDS", default=1.0)  # 1, 2, 4... plus jitter
WP_BACKOFF_MAX_SECONDS = env.float("WP_BACKOFF_MAX_SECONDS", default=30.0)
WP_BACKOFF_JITTER_SECONDS = env.float("WP_BACKOFF_JITTER_SECONDS", default=1.0)
WP_RETRY_AFTER_MAX_SECONDS = env.float("WP_RETRY_AFTER_MAX_SECONDS", default=120.0)
WP_BREAKER_FAILURES = env.int("WP_BREAKER_FAILURES", default=3)  # consecutive failed calls that open it
WP_BREAKER_RESET_SECONDS = env.float("WP_BREAKER_RESET_SECONDS", default=60.0)  # open this long, then one trial
WP_CACHE_TTL = env.int("WP_CACHE_TTL", default=300)  # a good answer is served from cache this long
WP_STALE_KEEP_SECONDS = env.int("WP_STALE_KEEP_SECONDS", default=7 * 24 * 3600)  # last good answer kept for outages
WP_CACHE_PREFIX = env("WP_CACHE_PREFIX", default="wp")
WP_POLL_SECONDS = env.float("WP_POLL_SECONDS", default=300.0)
WP_FAST_POLL_SECONDS = env.float("WP_FAST_POLL_SECONDS", default=0.0)  # 1-3 to enable; only while open, not halted
WP_BACKFILL_WINDOW_DAYS = env.int("WP_BACKFILL_WINDOW_DAYS", default=7)
PUSHBACK_BACKOFF_SECONDS = env.float("PUSHBACK_BACKOFF_SECONDS", default=30.0)  # 30 s, 60 s, 120 s... plus jitter
PUSHBACK_BACKOFF_MAX_SECONDS = env.float("PUSHBACK_BACKOFF_MAX_SECONDS", default=1800.0)
# A claimed record and the one-deliverer lock expire after this (renewed per record while the deliverer lives):
# how soon a killed worker's delivery is redone.
PUSHBACK_LEASE_SECONDS = env.float("PUSHBACK_LEASE_SECONDS", default=300.0)
# This robot's name in the trade ids it pushes (TRP-<instance>-<fill id>), so two robot databases pushing to one
# site never send the same trade_id. Empty: a random id stored in the database when it was migrated.
ROBOT_INSTANCE_ID = env("ROBOT_INSTANCE_ID", default="")
if not re.fullmatch(r"[A-Za-z0-9]{0,16}", ROBOT_INSTANCE_ID):
    raise ImproperlyConfigured("ROBOT_INSTANCE_ID: up to 16 ASCII letters and digits.")

# Second market-data sources while WordPress is down (integration/sources/), all off by default. Keys: security.py.
MARKET_DATA_FALLBACK = env.list("MARKET_DATA_FALLBACK", default=[])  # in order, e.g. alpaca,yahoo
MARKET_DATA_STALE_SECONDS = env.float("MARKET_DATA_STALE_SECONDS", default=420.0)  # WordPress sample older: switch
MARKET_DATA_TIMEOUT_SECONDS = env.float("MARKET_DATA_TIMEOUT_SECONDS", default=10.0)
MARKET_DATA_BACKOFF_SECONDS = env.float("MARKET_DATA_BACKOFF_SECONDS", default=600.0)  # after a 429; doubled
MARKET_DATA_BACKOFF_MAX_SECONDS = env.float("MARKET_DATA_BACKOFF_MAX_SECONDS", default=1800.0)
MARKET_DATA_DAILY_CAP = env.int("MARKET_DATA_DAILY_CAP", default=2000)  # requests per source per UTC day
YAHOO_BASE_URL = env("YAHOO_BASE_URL", default="https://query1.finance.yahoo.com").rstrip("/")
ALPACA_DATA_URL = env("ALPACA_DATA_URL", default="")  # empty: the SDK's https://data.alpaca.markets
