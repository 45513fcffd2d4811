"""Market's event catalogue: the price-store facts `market` announces itself (bus: tradingrobot/events.py).

- `prices_stored`: new or changed samples of `symbols` are stored (after the "prices arrived" follow-up,
  `trading.prices.prices_arrived`, filled what they allow). Also a /ws/updates frame (one per symbol).
- `market_data_switched`: the store is now fed by `source` instead of `previous` (WordPress down or stale and a
  fallback answered, or WordPress back); announced by `integration.sources.fallback`. Also a /ws/updates frame.
- `bar_closed`: the first sample at or after a bar's end was stored, so the bar will not change any more
  from live data; announced once per (symbol, timeframe, bar) by `market.bar_close` in the storing
  transaction. `live` is False when the sample came from a backfill or history load: a listener that
  trades must ignore those. Not sent to WebSocket clients.
"""

import datetime as dt
from decimal import Decimal
from typing import Literal, NotRequired, TypedDict

from tradingrobot.events import announce, catalogue


class PricesStored(TypedDict):
    type: Literal["prices_stored"]
    symbols: list[str]
    source: NotRequired[str]  # wordpress, or the fallback that fed them (alpaca, yahoo); csv for a file load


class BarClosed(TypedDict):
    type: Literal["bar_closed"]
    symbol: str
    timeframe: str  # 1Min, 5Min, 15Min, 1Hour, 1Day
    start: dt.datetime
    end: dt.datetime  # intraday: start + size; 1Day: the session's close (local midnight on a day without one)
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal | None  # the rise of the day's cumulative volume inside the bar (None when unknown)
    live: bool


class MarketDataSwitched(TypedDict):
    type: Literal["market_data_switched"]
    source: str  # the source feeding the store from now on: wordpress, alpaca, yahoo
    previous: str
    reason: str


MARKET_EVENTS = catalogue(PricesStored, BarClosed, MarketDataSwitched)


def prices_stored_announce(*, tickers: list[str], source: str = "wordpress") -> None:
    announce(PricesStored(type="prices_stored", symbols=tickers, source=source))


def market_data_switched_announce(*, source: str, previous: str, reason: str) -> None:
    announce(MarketDataSwitched(type="market_data_switched", source=source, previous=previous, reason=reason))
