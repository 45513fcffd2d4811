"""Query-string values the API reads, parsed one way everywhere; a bad value is a 400 saying what to send."""

import datetime as dt

from django.utils.dateparse import parse_datetime

from .error_codes import ErrorCode
from .errors import InvalidInput


def time_param(value: str | None, name: str, *, code: ErrorCode) -> dt.datetime | None:
    """An ISO 8601 time (UTC when it carries no zone), or None when absent."""
    if value in (None, ""):
        return None
    try:  # a "+" of an offset arrives as a space when the client did not encode it
        parsed = parse_datetime(value) or parse_datetime(value[:19] + value[19:].replace(" ", "+"))
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidInput(f"{name} must be an ISO 8601 time like 2025-12-26T15:30:00Z; got {value[:40]!r}.", code=code)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def int_param(value: str | None, name: str, *, code: ErrorCode, default: int, minimum: int, maximum: int) -> int:
    """A whole number in [minimum, maximum], or `default` when absent."""
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if not minimum <= number <= maximum:
        raise InvalidInput(f"{name} must be a whole number from {minimum} to {maximum}; got {value[:20]!r}.", code=code)
    return number
