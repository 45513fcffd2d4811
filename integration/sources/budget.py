"""Per-source budgets in the shared cache: a pause after a 429 or rate-limit page (doubled each time, up to
MARKET_DATA_BACKOFF_MAX_SECONDS) and a daily request cap (per UTC day)."""

import time

from django.conf import settings
from django.core.cache import cache

from market.clock import now

DAY_SECONDS = 24 * 3600


def _key(source: str, what: str) -> str:
    return f"{settings.WP_CACHE_PREFIX}:md:{source}:{what}"


def _day_key(source: str) -> str:
    return _key(source, f"day:{now():%Y-%m-%d}")


def budget_refusal(*, source: str, requests: int) -> str | None:
    """Why `source` may not be asked now for `requests` requests, or None."""
    until = cache.get(_key(source, "paused_until"))
    if until is not None and until > time.time():
        return f"backing off after a rate limit for {until - time.time():.0f} s more"
    spent = cache.get(_day_key(source)) or 0
    if spent + requests > settings.MARKET_DATA_DAILY_CAP:
        return f"daily cap of {settings.MARKET_DATA_DAILY_CAP} requests reached ({spent} spent)"
    return None


def budget_spend(*, source: str, requests: int) -> None:
    key = _day_key(source)
    cache.add(key, 0, timeout=DAY_SECONDS + 3600)
    cache.incr(key, requests)


def budget_rate_limited(*, source: str) -> float:
    """Pause the source; returns the pause in seconds (600, 1200, then the maximum by default)."""
    strikes = (cache.get(_key(source, "strikes")) or 0) + 1
    pause = min(settings.MARKET_DATA_BACKOFF_SECONDS * 2 ** (strikes - 1), settings.MARKET_DATA_BACKOFF_MAX_SECONDS)
    cache.set(_key(source, "strikes"), strikes, timeout=DAY_SECONDS)
    cache.set(_key(source, "paused_until"), time.time() + pause, timeout=int(pause) + 1)
    return pause


def budget_answered(*, source: str) -> None:
    cache.delete_many([_key(source, "strikes"), _key(source, "paused_until")])


def budget_state(*, source: str) -> dict:
    until = cache.get(_key(source, "paused_until"))
    return {
        "requests_today": cache.get(_day_key(source)) or 0,
        "daily_cap": settings.MARKET_DATA_DAILY_CAP,
        "paused_seconds": max(0.0, round(until - time.time(), 1)) if until else 0.0,
    }
