"""Parsing a CSV of price samples (columns symbol,timestamp,price,volume): pure, no I/O."""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.utils.dateparse import parse_datetime

from .services import SampleIn

REQUIRED_COLUMNS = ("symbol", "timestamp", "price")


def parse_row(row: dict, symbols: dict[str, int]) -> SampleIn:
    """One CSV row as a sample; ValueError says why it is skipped."""
    ticker = (row.get("symbol") or "").strip().upper()
    if ticker not in symbols:
        raise ValueError(f"unknown symbol {ticker!r}" if ticker else "missing symbol")
    raw_ts = (row.get("timestamp") or "").strip()
    timestamp = parse_datetime(raw_ts) if raw_ts else None
    if timestamp is None:
        raise ValueError(f"unparseable timestamp {raw_ts!r}")
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=dt.UTC)
    try:
        price = Decimal((row.get("price") or "").strip())
    except InvalidOperation:
        raise ValueError(f"price {row.get('price')!r} is not a number") from None
    if not price.is_finite() or price <= 0:
        raise ValueError(f"price {row.get('price')!r} is not a positive number")
    if -int(price.as_tuple().exponent) > 4 or price >= Decimal("1e14"):
        price = price.quantize(Decimal("0.0001"))
    raw_volume = (row.get("volume") or "").strip()
    volume = None
    if raw_volume:
        try:
            volume = int(Decimal(raw_volume))
        except (InvalidOperation, ValueError):
            raise ValueError(f"volume {raw_volume!r} is not a whole number") from None
        if volume < 0:
            raise ValueError(f"volume {raw_volume!r} is negative")
    return SampleIn(symbols[ticker], timestamp.astimezone(dt.UTC), price, volume)
