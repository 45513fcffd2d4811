"""The paper broker: starting cash, calendar, fill costs, risk limits, the status document."""

from decimal import Decimal
from pathlib import Path

from .base import VAR_DIR, env

STARTING_CASH = Decimal(env.str("STARTING_CASH", default="100000"))
TRADING_CALENDAR = env("TRADING_CALENDAR", default="XNYS")
PRIMARY_SYMBOLS = ["TSLA", "QQQ", "SPY", "NVDA"]
PAPER_SLIPPAGE_BPS = Decimal(env.str("PAPER_SLIPPAGE_BPS", default="0"))
PAPER_COMMISSION_PER_SHARE = Decimal(env.str("PAPER_COMMISSION_PER_SHARE", default="0"))
PAPER_COMMISSION_MIN = Decimal(env.str("PAPER_COMMISSION_MIN", default="0"))
MAX_PRICE_AGE_SECONDS = env.int("MAX_PRICE_AGE_SECONDS", default=900)
# A new sample further than this many percent from the last accepted one is quarantined until the next sample
# confirms it (market/price_band.py); 0 turns the band off.
PRICE_BAND_PERCENT = env.float("PRICE_BAND_PERCENT", default=20.0)
MAX_ORDER_QTY = Decimal(env.str("MAX_ORDER_QTY", default="100000"))
MAX_ORDER_NOTIONAL = Decimal(env.str("MAX_ORDER_NOTIONAL", default="1000000"))
QTY_DECIMAL_PLACES = env.int("QTY_DECIMAL_PLACES", default=4)
ALLOW_SHORTING = False
MARKET_DATA_MAX_LIMIT = 10000
STATUS_TICK_SECONDS = env.float("STATUS_TICK_SECONDS", default=5.0)
STATUS_CACHE_SECONDS = env.float("STATUS_CACHE_SECONDS", default=1.0)  # see tradingrobot/snapshot_cache.py
# /api/performance per ledger version (trading/performance.py); the age bounds it when no shared cache is used.
PERFORMANCE_CACHE_SECONDS = env.float("PERFORMANCE_CACHE_SECONDS", default=30.0)
PERFORMANCE_MAX_STRATEGIES = env.int("PERFORMANCE_MAX_STRATEGIES", default=50)
# With Redis: seconds a process may reuse a /api/market_data page (every price write invalidates it at once anyway).
MARKET_DATA_CACHE_SECONDS = env.float("MARKET_DATA_CACHE_SECONDS", default=60.0)
# The strategy engine evaluates a closed bar in the process that stored it instead of in a Celery task.
STRATEGY_ENGINE_INLINE = env.bool("STRATEGY_ENGINE_INLINE", default=False)
# Backtests (trading/backtest): default costs are not zero; a run asks for zero explicitly.
BACKTEST_SLIPPAGE_BPS = Decimal(env.str("BACKTEST_SLIPPAGE_BPS", default="2"))
BACKTEST_COMMISSION_PER_SHARE = Decimal(env.str("BACKTEST_COMMISSION_PER_SHARE", default="0.005"))
BACKTEST_COMMISSION_MIN = Decimal(env.str("BACKTEST_COMMISSION_MIN", default="1.00"))
BACKTEST_MAX_COMBINATIONS = env.int("BACKTEST_MAX_COMBINATIONS", default=400)
BACKTEST_REPORT_DIR = Path(env("BACKTEST_REPORT_DIR", default=str(VAR_DIR / "backtests")))
# The broker orders go to: `paper` (the default, this process fills) or `alpaca` (integration/alpaca).
TRADING_BROKER = env("TRADING_BROKER", default="paper")
# Alpaca's trading API; empty: the SDK's paper URL (https://paper-api.alpaca.markets), or its live one with ALPACA_LIVE.
ALPACA_TRADING_URL = env("ALPACA_TRADING_URL", default="")
ALPACA_STREAM_URL = env("ALPACA_STREAM_URL", default="")  # empty: the SDK's trade_updates stream URL
# Live trading needs both: ALPACA_LIVE=true and ALPACA_LIVE_CONFIRM set to ALPACA_LIVE_PHRASE.
ALPACA_LIVE = env.bool("ALPACA_LIVE", default=False)
ALPACA_LIVE_CONFIRM = env("ALPACA_LIVE_CONFIRM", default="")
ALPACA_LIVE_PHRASE = "I understand this trades real money"
ALPACA_REQUESTS_PER_MINUTE = env.int("ALPACA_REQUESTS_PER_MINUTE", default=200)  # Alpaca's limit per account
ALPACA_RETRY_WAIT_SECONDS = env.float("ALPACA_RETRY_WAIT_SECONDS", default=3.0)  # the SDK's wait before a retry
ALPACA_TIMEOUT_SECONDS = env.float("ALPACA_TIMEOUT_SECONDS", default=10.0)
# Sessions from: exchange_calendars (TRADING_CALENDAR, the default) or alpaca (GET /v2/calendar; needs the keys).
MARKET_CLOCK_SOURCE = env("MARKET_CLOCK_SOURCE", default="exchange_calendars")
ALPACA_RECONCILE_SECONDS = env.float("ALPACA_RECONCILE_SECONDS", default=300.0)  # positions and cash vs Alpaca
