"""Query-string values the API reads, parsed one way everywhere; a bad value is a 400 saying what to send.

Hostile input is refused here, before any query: a ticker is checked against one pattern (a NUL byte never reaches
PostgreSQL), times are bounded (an aware time near year 1 or 9999 cannot overflow on conversion), whole numbers are
ASCII digits only (no "1_0", no Unicode digits).
"""

import datetime as dt
import re

from django.utils.dateparse import parse_datetime

from .error_codes import ErrorCode
from .errors import InvalidInput

TICKER = re.compile(r"[A-Za-z]{1,10}", re.ASCII)  # the stored rule (market.models.TICKER_VALIDATOR), any case
WHOLE_NUMBER = re.compile(r"[0-9]{1,18}", re.ASCII)
TIME_MIN = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
TIME_MAX = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def ticker_param(value: object, name: str = "symbol") -> str:
    """An upper-case ticker: 1 to 10 ASCII letters."""
    text = value.strip() if isinstance(value, str) else ""
    if not TICKER.fullmatch(text):
        shown = str(value)[:20].encode("unicode_escape").decode("ascii")
        raise InvalidInput(f"{name} must be 1 to 10 letters, like TSLA; got {shown!r}.", code=ErrorCode.INVALID_SYMBOL)
    return text.upper()


def time_param(value: str | None, name: str, *, code: ErrorCode) -> dt.datetime | None:
    """An ISO 8601 time (UTC when it carries no zone) from 1970 to 2099, in UTC; or None when absent."""
    if not value:  # None or ""
        return None
    try:  # a "+" of an offset arrives as a space when the client did not encode it
        parsed = parse_datetime(value) or parse_datetime(value[:19] + value[19:].replace(" ", "+"))
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidInput(f"{name} must be an ISO 8601 time like 2025-12-26T15:30:00Z; got {value[:40]!r}.", code=code)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        parsed = parsed.astimezone(dt.UTC)
    except OverflowError:
        parsed = None
    if parsed is None or not TIME_MIN <= parsed < TIME_MAX:
        raise InvalidInput(
            f"{name} must be from {TIME_MIN.year} to {TIME_MAX.year - 1}; got {value[:40]!r}.", code=code
        )
    return parsed


def int_param(value: str | None, name: str, *, code: ErrorCode, default: int, minimum: int, maximum: int) -> int:
    """A whole number in [minimum, maximum] written in ASCII digits, or `default` when absent."""
    if not value:  # None or ""
        return default
    number = int(value) if WHOLE_NUMBER.fullmatch(value) else minimum - 1
    if not minimum <= number <= maximum:
        raise InvalidInput(f"{name} must be a whole number from {minimum} to {maximum}; got {value[:20]!r}.", code=code)
    return number
