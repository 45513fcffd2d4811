"""The market clock: one place that knows "now" and the exchange's sessions.

Sessions come from exchange_calendars (XNYS by default: hours, holidays, early closes) and are
copied once into sorted lists of datetimes, so asking "is the market open?" is a bisect, not a
pandas call. `TRADING_CALENDAR=24/7` makes the market always open.
"""

import bisect
import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

ALWAYS_OPEN = "24/7"


def now() -> dt.datetime:
    """The current time, aware, in UTC. Tests freeze it with time-machine."""
    return timezone.now()


@dataclass(frozen=True)
class Session:
    open: dt.datetime
    close: dt.datetime


class MarketClock:
    def __init__(self, name: str, opens: list[dt.datetime], closes: list[dt.datetime], tz: ZoneInfo):
        self.name = name
        self.opens = opens
        self.closes = closes
        self.tz = tz

    @property
    def always_open(self) -> bool:
        return self.name == ALWAYS_OPEN

    def is_open(self, at: dt.datetime) -> bool:
        if self.always_open:
            return True
        session = self.session_at(at)
        return session is not None

    def session_at(self, at: dt.datetime) -> Session | None:
        """The session in progress at `at`, or None when the market is closed."""
        if self.always_open:
            day = at.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            return Session(day, day + dt.timedelta(days=1))
        i = bisect.bisect_right(self.opens, at) - 1
        if i >= 0 and at < self.closes[i]:
            return Session(self.opens[i], self.closes[i])
        return None

    def current_or_next_session(self, at: dt.datetime) -> Session | None:
        """The session in progress, else the next one (None past the calendar's end)."""
        session = self.session_at(at)
        if session is not None:
            return session
        i = bisect.bisect_right(self.opens, at)
        if i < len(self.opens):
            return Session(self.opens[i], self.closes[i])
        return None

    def next_open(self, at: dt.datetime) -> dt.datetime | None:
        if self.always_open:
            return None
        i = bisect.bisect_right(self.opens, at)
        return self.opens[i] if i < len(self.opens) else None

    def next_close(self, at: dt.datetime) -> dt.datetime | None:
        if self.always_open:
            return None
        i = bisect.bisect_right(self.closes, at)
        return self.closes[i] if i < len(self.closes) else None

    def previous_close(self, at: dt.datetime) -> dt.datetime | None:
        if self.always_open:
            return None
        i = bisect.bisect_right(self.closes, at) - 1
        return self.closes[i] if i >= 0 else None

    def local_date(self, at: dt.datetime) -> dt.date:
        return at.astimezone(self.tz).date()

    def session_close_on(self, day: dt.date) -> dt.datetime | None:
        """The close of the session on the exchange-local date `day` (None: no session that day, or 24/7)."""
        if self.always_open:
            return None
        i = bisect.bisect_left(self.closes, dt.datetime.combine(day, dt.time(), tzinfo=self.tz))
        if i < len(self.closes) and self.local_date(self.closes[i]) == day:
            return self.closes[i]
        return None


def _build_exchange_clock(name: str) -> MarketClock:
    import exchange_calendars as xcals

    today = dt.date.today()
    calendar = xcals.get_calendar(
        name, start=(today - dt.timedelta(days=3 * 365)).isoformat(), end=(today + dt.timedelta(days=360)).isoformat()
    )
    opens = [ts.to_pydatetime() for ts in calendar.opens]
    closes = [ts.to_pydatetime() for ts in calendar.closes]
    return MarketClock(name, opens, closes, ZoneInfo(str(calendar.tz)))


@functools.cache
def _clock_for(name: str) -> MarketClock:
    if name == ALWAYS_OPEN:
        return MarketClock(ALWAYS_OPEN, [], [], ZoneInfo("America/New_York"))
    return _build_exchange_clock(name)


_provider: Callable[[], MarketClock] | None = None


def clock_provider_install(provider: Callable[[], MarketClock] | None) -> None:
    """Sessions from elsewhere (the wiring: Alpaca's calendar when MARKET_CLOCK_SOURCE=alpaca); None: the calendar
    TRADING_CALENDAR names. The provider is asked once per process (it caches)."""
    global _provider
    _provider = provider


def market_clock() -> MarketClock:
    if _provider is not None:
        return _provider()
    return _clock_for(settings.TRADING_CALENDAR)
