"""From WordPress answers to price samples: decode the body, check its shape, validate every row.

A body that is not the expected JSON document (an HTML error page, a `WP_Error`, another shape) is a failed
fetch (`FetchFailed`) and nothing of it is stored. Inside a good document every row is checked on its own:
a bad row is skipped, counted and logged with its reason; the good rows of the same answer are kept.
"""

import datetime as dt
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from market.services import SampleIn

logger = logging.getLogger(__name__)

PRICE_STEP = Decimal("0.0001")  # decimal(15,4) upstream, decimal(18,4) here
PRICE_MAX = Decimal("1e14")


class FetchFailed(Exception):
    """The site's answer cannot be used at all. `code` is the WP_Error code or one of ours."""

    def __init__(self, code: str, message: str, *, status: int | None = None, site_down: bool = False):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.site_down = site_down  # counts against the circuit breaker; stale data may be served instead

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "status": self.status}


REASONS = (
    "missing_symbol",
    "unknown_symbol",
    "bad_price",
    "bad_timestamp",
    "bad_volume",
    "duplicate",
    "not_an_object",
)

_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


def _html_text(body: str, limit: int = 200) -> str:
    return _SPACES.sub(" ", _TAG.sub(" ", body)).strip()[:limit]


def body_decode(*, status: int, content: bytes | str) -> object:
    """The JSON document of a WordPress answer, or FetchFailed for an error page, a WP_Error or garbage."""
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    try:
        data = json.loads(text)
    except ValueError:
        if "critical error" in text.lower():
            raise FetchFailed(
                "critical_error", _html_text(text) or "PHP fatal error page", status=status, site_down=True
            ) from None
        kind = "an HTML page" if "<html" in text.lower() or "<!doctype" in text.lower() else "not JSON"
        raise FetchFailed(
            "non_json", f"HTTP {status}, body is {kind}: {_html_text(text, 120)!r}", status=status, site_down=True
        ) from None
    if isinstance(data, dict) and isinstance(data.get("code"), str) and "message" in data:
        data_status = data.get("data", {}).get("status") if isinstance(data.get("data"), dict) else None
        if status >= 400 or data_status:
            raise FetchFailed(
                data["code"], str(data.get("message")), status=data_status or status, site_down=status >= 500
            )
    if status >= 500:
        raise FetchFailed(f"http_{status}", f"HTTP {status}", status=status, site_down=True)
    if status >= 400:
        raise FetchFailed(f"http_{status}", f"HTTP {status}", status=status)
    return data


def _list_field(body: object, key: str, what: str) -> list:
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        got = type(body).__name__ if not isinstance(body, dict) else f"keys {sorted(body)[:8]}"
        raise FetchFailed("bad_shape", f"{what}: expected an object with a list '{key}', got {got}")
    return body[key]


def stock_data_rows(body: object) -> list:
    """The rows of `/stock-data`: `{"stock_data": [...], "symbols": [...], "timestamp"}`."""
    return _list_field(body, "stock_data", "/stock-data")


def history_rows(body: object) -> list:
    """The rows of `/stock-data/{symbol}`: `{"symbol", "period", "data": [...], "count", "timestamp"}`."""
    return _list_field(body, "data", "/stock-data/{symbol}")


# --- the site's time zone -------------------------------------------------------------------------------


def zone_from_index(index: object) -> dt.tzinfo:
    """The site's zone from the REST index `/wp-json/`: `timezone_string` (with DST) or else `gmt_offset`."""
    if not isinstance(index, dict):
        raise FetchFailed("bad_shape", "/wp-json/: expected an object")
    name = index.get("timezone_string")
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("site reports unknown timezone_string %r, using gmt_offset", name)
    offset = index.get("gmt_offset")
    try:
        hours = Decimal(str(offset))
    except (InvalidOperation, ValueError):
        raise FetchFailed("timezone_unknown", f"/wp-json/ has neither timezone_string nor gmt_offset ({offset!r})")
    if not hours.is_finite() or abs(hours) > 14:
        raise FetchFailed("timezone_unknown", f"/wp-json/ gmt_offset out of range: {offset!r}")
    return dt.timezone(dt.timedelta(minutes=int(hours * 60)))


def zone_from_name(name: str) -> dt.tzinfo:
    """`WP_TIMEZONE`: an IANA name (`America/New_York`) or a fixed offset in hours (`-5`, `5.5`)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return zone_from_index({"gmt_offset": name})


def local_to_utc(naive: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """A site-local wall time to aware UTC. In the repeated hour of a DST fall-back the first occurrence is
    taken (the site itself keys rows on the local time, so it stores only one of the two); a wall time that
    does not exist (the skipped hour of spring-forward) is an error."""
    if naive.tzinfo is not None:
        return naive.astimezone(dt.UTC)
    aware = naive.replace(tzinfo=zone)
    utc = aware.astimezone(dt.UTC)
    if isinstance(zone, ZoneInfo) and utc.astimezone(zone).replace(tzinfo=None) != naive:
        raise ValueError(f"{naive} does not exist in {zone} (daylight-saving gap)")
    return utc


def utc_to_local(at: dt.datetime, zone: dt.tzinfo) -> str:
    """An instant as the site's MySQL datetime, for `start_date` / `end_date`."""
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


# --- rows ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SkippedRow:
    index: int
    symbol: str | None
    reason: str
    detail: str


@dataclass
class TransformResult:
    samples: list[SampleIn] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)

    @property
    def reasons(self) -> Counter:
        return Counter(s.reason for s in self.skipped)


class _BadRow(Exception):
    def __init__(self, reason: str, detail: str):
        self.reason, self.detail = reason, detail


def _price(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _BadRow("bad_price", f"price {value!r} is not a number")
    try:
        price = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise _BadRow("bad_price", f"price {value!r} is not a number") from None
    if not price.is_finite() or price <= 0 or price >= PRICE_MAX:
        raise _BadRow("bad_price", f"price {value!r} is not a finite positive number")
    price = price.quantize(PRICE_STEP)
    if price <= 0:
        raise _BadRow("bad_price", f"price {value!r} rounds to zero")
    return price


def _volume(value: object) -> int | None:
    if value is None or value == "":
        return None
    if type(value) is str and value.isascii() and value.isdigit():  # the site's usual "12345"
        return int(value)
    if isinstance(value, bool):
        raise _BadRow("bad_volume", f"volume {value!r} is not a number")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except (InvalidOperation, AttributeError):
        raise _BadRow("bad_volume", f"volume {value!r} is not a number") from None
    if not number.is_finite() or number < 0 or number != number.to_integral_value():
        raise _BadRow("bad_volume", f"volume {value!r} is not a whole number >= 0")
    return int(number)


ONE_HOUR = dt.timedelta(hours=1)
_UNKNOWN = object()


def _hour_offset(hour: dt.datetime, zone: dt.tzinfo) -> dt.timedelta | None:
    """The UTC offset `local_to_utc` gives every wall time of the naive hour `hour`, or None when the hour holds a
    change of offset or a gap (its rows then go through `local_to_utc` one by one)."""
    last = hour + ONE_HOUR - dt.timedelta(microseconds=1)
    try:
        offsets = {at - local_to_utc(at, zone).replace(tzinfo=None) for at in (hour, last)}
    except ValueError:
        return None
    return offsets.pop() if len(offsets) == 1 else None


def _mysql_hour(text: str) -> str | None:
    """ "YYYY-MM-DD HH" of the site's usual "YYYY-MM-DD HH:MM:SS", whose hour needs no parsing; else None."""
    return text[:13] if len(text) == 19 and text[10] == " " and text[13] == ":" else None


def _timestamp(value: object, zone: dt.tzinfo, hours: dict | None = None) -> dt.datetime:
    if hours is not None and type(value) is str and (hour_text := _mysql_hour(value)) is not None:
        offset = hours.get(hour_text)  # an hour of one offset, seen before: no other checks can fail
        if offset is not None:
            try:
                naive = dt.datetime.fromisoformat(value)
            except ValueError:
                pass  # reported below, as for any other value
            else:
                return (naive - offset).replace(tzinfo=dt.UTC)
    if not isinstance(value, str) or not value.strip():
        raise _BadRow("bad_timestamp", f"timestamp {value!r} is missing")
    text = value.strip()
    if text.startswith("0000-00-00"):
        raise _BadRow("bad_timestamp", f"timestamp {value!r} is MySQL's zero date")
    try:
        naive = dt.datetime.fromisoformat(text)
        if hours is not None and naive.tzinfo is None:  # one offset per wall-clock hour, worked out once
            hour = naive.replace(minute=0, second=0, microsecond=0)
            offset = hours.get(hour, _UNKNOWN)
            if offset is _UNKNOWN:
                offset = hours[hour] = _hour_offset(hour, zone)
                if offset is not None and text == value and (hour_text := _mysql_hour(text)) is not None:
                    hours[hour_text] = offset
            if offset is not None:
                return (naive - offset).replace(tzinfo=dt.UTC)
        return local_to_utc(naive, zone)
    except ValueError as exc:
        raise _BadRow("bad_timestamp", f"timestamp {value!r}: {exc}") from None


def rows_to_samples(
    rows: Iterable[object], *, symbol_ids: Mapping[str, int], zone: dt.tzinfo, symbol: str | None = None
) -> TransformResult:
    """Validate rows and turn the good ones into samples. `symbol_ids` maps the tickers we accept to their
    ids; `symbol` is the ticker a history answer is about (its rows must match it)."""
    result = TransformResult()
    seen: set[tuple[int, dt.datetime]] = set()
    hours: dict[dt.datetime | str, dt.timedelta | None] = {}
    accepted: dict[str, tuple[str, int]] = {}  # a symbol as written in the rows, found good -> (ticker, id)
    for index, row in enumerate(rows):
        ticker = None
        try:
            if not isinstance(row, dict):
                raise _BadRow("not_an_object", f"row is {type(row).__name__}")
            raw = row.get("symbol")
            known = accepted.get(raw) if type(raw) is str else None
            if known is not None:
                ticker, symbol_id = known
            else:
                if not isinstance(raw, str) or not raw.strip():
                    raise _BadRow("missing_symbol", f"symbol {raw!r} is missing")
                ticker = raw.strip().upper()
                found = symbol_ids.get(ticker)
                if found is None or (symbol is not None and ticker != symbol):
                    raise _BadRow("unknown_symbol", f"symbol {ticker!r} is not one we ingest")
                symbol_id = found
                if type(raw) is str:
                    accepted[raw] = (ticker, symbol_id)
            price = _price(row.get("price"))
            timestamp = _timestamp(row.get("timestamp"), zone, hours)
            volume = _volume(row.get("volume"))
            key = (symbol_id, timestamp)
            if key in seen:
                raise _BadRow("duplicate", f"{ticker} {row.get('timestamp')} appears twice")
            seen.add(key)
            result.samples.append(SampleIn(symbol_id, timestamp, price, volume))
        except _BadRow as bad:
            result.skipped.append(SkippedRow(index, ticker, bad.reason, bad.detail))
            if bad.reason != "duplicate":
                logger.warning("skipped WordPress row %d (%s): %s", index, bad.reason, bad.detail)
    _warn_duplicates(result.skipped, zone)
    return result


def _warn_duplicates(skipped: list[SkippedRow], zone: dt.tzinfo) -> None:
    """One warning per answer for its repeated rows, with their count: a DST fall-back repeats an hour of
    site-local stamps (12 rows of 5 minutes per symbol, expected), which per-row warnings would flood."""
    duplicates = [row for row in skipped if row.reason == "duplicate"]
    if not duplicates:
        return
    by_symbol = Counter(row.symbol for row in duplicates)
    first, last = duplicates[0].detail, duplicates[-1].detail
    logger.warning(
        "skipped %d duplicate WordPress row(s) (%s), the first stored kept: %s%s%s",
        len(duplicates),
        ", ".join(f"{symbol} {count}" for symbol, count in sorted(by_symbol.items())),
        first,
        "" if len(duplicates) == 1 else f" ... {last}",
        f"; the repeated hour of a DST fall-back in {zone}" if isinstance(zone, ZoneInfo) else "",
    )
