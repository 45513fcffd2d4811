"""The one interface of a price source, what it gives back, and how it fails.

WordPress (`wordpress.WordPressSource`) and the fallbacks (`alpaca.AlpacaSource`, `yahoo.YahooSource`) all speak
`PriceSource`: the newest prices of the symbols asked for, and the history of one symbol for a window. The poller
and the backfill pick sources by name and by their place in the chain (`fallback.py`), never by kind.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Protocol

from django.conf import settings

from market.services import SampleIn

from ..transform import FetchFailed, TransformResult


@dataclass(frozen=True)
class Quote:
    ticker: str
    timestamp: dt.datetime  # aware, on the minute (the source's bar start)
    price: Decimal


@dataclass
class Fetched:
    """One answer turned into samples: the good ones, the rows skipped with their reason, the rows received."""

    result: TransformResult
    rows: int


class SourceFailed(FetchFailed):
    """A fetch that gave no usable price: never stored. `rate_limited` backs the source off; `stale_age` is the
    age of the last good answer a source kept for its outage (WordPress's cache), when there is one."""

    def __init__(
        self,
        source: str,
        code: str,
        message: str,
        *,
        rate_limited: bool = False,
        status: int | None = None,
        site_down: bool = False,
        stale_age: float | None = None,
    ):
        super().__init__(code, message, status=status, site_down=site_down)
        self.args = (f"{source}: {code}: {message}",)
        self.source, self.rate_limited, self.stale_age = source, rate_limited, stale_age

    def as_dict(self) -> dict:
        return {**super().as_dict(), "source": self.source, "rate_limited": self.rate_limited}


class PriceSource(Protocol):
    name: str
    budgeted: bool  # the per-source daily cap and rate-limit pause (budget.py) apply to its requests

    @property
    def window_seconds(self) -> float:
        """The longest one `history` call may take (the backfill lock's lease)."""

    def requests_for(self, tickers: list[str]) -> int:
        """How many HTTP requests `latest` makes for these tickers (for the daily cap)."""

    def latest(self, symbol_ids: dict[str, int], *, since: dict[str, dt.datetime] | None = None) -> Fetched:
        """The newest prices of the symbols `symbol_ids` maps (ticker -> pk); minutes after `since[ticker]` when
        the same answer holds them. Raises SourceFailed when the answer as a whole is unusable."""

    def history(self, ticker: str, symbol_id: int, *, start: dt.datetime, end: dt.datetime) -> Fetched:
        """Samples of `ticker` in [start, end); raises SourceFailed."""


class QuoteSource:
    """A source whose adapter answers in `Quote`s (the fallbacks): the interface's samples built from them."""

    name: str
    budgeted = True

    @property
    def window_seconds(self) -> float:
        return settings.MARKET_DATA_TIMEOUT_SECONDS * 2

    def latest_quotes(self, tickers: list[str], *, since: dict[str, dt.datetime]) -> list[Quote]:
        raise NotImplementedError

    def history_quotes(self, ticker: str, *, start: dt.datetime, end: dt.datetime) -> list[Quote]:
        raise NotImplementedError

    def latest(self, symbol_ids: dict[str, int], *, since: dict[str, dt.datetime] | None = None) -> Fetched:
        return _fetched(self.latest_quotes(list(symbol_ids), since=since or {}), symbol_ids)

    def history(self, ticker: str, symbol_id: int, *, start: dt.datetime, end: dt.datetime) -> Fetched:
        return _fetched(self.history_quotes(ticker, start=start, end=end), {ticker: symbol_id})


def _fetched(quotes: list[Quote], symbol_ids: dict[str, int]) -> Fetched:
    samples = [SampleIn(symbol_ids[q.ticker], q.timestamp, q.price, None) for q in quotes]
    return Fetched(TransformResult(samples=samples), len(quotes))


def newer_than(quotes: list[Quote], since: dt.datetime | None) -> list[Quote]:
    """The quotes after `since` and always the newest one (only the newest when `since` is None)."""
    kept = [q for q in quotes[:-1] if since is not None and q.timestamp > since]
    return kept + quotes[-1:]


def price_parse(source: str, value: object, what: str) -> Decimal:
    """A positive finite price from a JSON number; anything else (null, NaN, 0, text) is a failed fetch."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SourceFailed(source, "bad_price", f"{what}: {value!r} is not a price")
    try:
        price = Decimal(str(value)).quantize(Decimal("0.0001"))
    except InvalidOperation as error:
        raise SourceFailed(source, "bad_price", f"{what}: {value!r} is not a price") from error
    if not price.is_finite() or price <= 0:
        raise SourceFailed(source, "bad_price", f"{what}: {value!r} is not a positive price")
    return price


def minute_of(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(second=0, microsecond=0)
