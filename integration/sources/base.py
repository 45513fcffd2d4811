"""What a price source gives back, and how it fails."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Protocol


@dataclass(frozen=True)
class Quote:
    ticker: str
    timestamp: dt.datetime  # aware, on the minute (the source's bar start)
    price: Decimal


class SourceFailed(Exception):
    """A fetch that gave no usable price: never stored. `rate_limited` backs the source off."""

    def __init__(self, source: str, code: str, message: str, *, rate_limited: bool = False):
        super().__init__(f"{source}: {code}: {message}")
        self.source, self.code, self.message, self.rate_limited = source, code, message, rate_limited

    def as_dict(self) -> dict:
        return {"source": self.source, "code": self.code, "message": self.message, "rate_limited": self.rate_limited}


class PriceSource(Protocol):
    name: str

    def requests_for(self, tickers: list[str]) -> int:
        """How many HTTP requests `latest(tickers)` makes (for the daily cap)."""

    def latest(self, tickers: list[str]) -> list[Quote]:
        """The newest price of each ticker; raises SourceFailed when any answer is of the wrong shape."""

    def history(self, ticker: str, *, start: dt.datetime, end: dt.datetime) -> list[Quote]:
        """One-minute closes of `ticker` in [start, end)."""


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
