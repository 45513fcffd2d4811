"""The market clock and the asset list from Alpaca, when it is the broker and MARKET_CLOCK_SOURCE=alpaca
(exchange_calendars stays the default): sessions from `GET /v2/calendar`, tradability from `GET /v2/assets`."""

import datetime as dt
import functools
import logging
from zoneinfo import ZoneInfo

from alpaca.trading.client import TradingClient
from alpaca.trading.models import Asset, Calendar
from alpaca.trading.requests import GetCalendarRequest

from market.clock import MarketClock, now
from market.services import symbols_tradable_set

from .alpaca_broker import trading_client_build

log = logging.getLogger(__name__)

NEW_YORK = ZoneInfo("America/New_York")  # Alpaca's calendar times are New York wall-clock times
PAST, AHEAD = dt.timedelta(days=3 * 365), dt.timedelta(days=360)  # the span exchange_calendars' clock covers too


def alpaca_clock_build(*, client: TradingClient) -> MarketClock:
    today = now().date()
    days = client.get_calendar(GetCalendarRequest(start=today - PAST, end=today + AHEAD))
    assert isinstance(days, list)
    sessions = sorted(
        (d.open.replace(tzinfo=NEW_YORK), d.close.replace(tzinfo=NEW_YORK)) for d in days if isinstance(d, Calendar)
    )
    return MarketClock(
        "alpaca", [o.astimezone(dt.UTC) for o, _ in sessions], [c.astimezone(dt.UTC) for _, c in sessions], NEW_YORK
    )


@functools.cache
def alpaca_clock() -> MarketClock:
    """The provider market.clock asks: built once per process."""
    return alpaca_clock_build(client=trading_client_build())


def assets_sync(*, client: TradingClient) -> list[str]:
    """Our symbols' tradability from Alpaca's asset list; returns the tickers whose state changed."""
    listed = client.get_all_assets()
    assert isinstance(listed, list)
    changed = symbols_tradable_set(tradable={a.symbol: bool(a.tradable) for a in listed if isinstance(a, Asset)})
    if changed:
        log.warning("Alpaca assets: tradability changed for %s", ", ".join(changed))
    return changed
