"""Reads of the price store."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Expression, OuterRef, Q, QuerySet, Subquery

from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import NotFound

from .clock import market_clock
from .models import Bar, PriceSample, Symbol, Timeframe
from .rollup import bucket_of


def symbol_get(*, ticker: str) -> Symbol:
    ticker = (ticker or "").strip().upper()
    try:
        return Symbol.objects.get(ticker=ticker)
    except Symbol.DoesNotExist:
        known = ", ".join(Symbol.objects.filter(is_active=True).values_list("ticker", flat=True))
        raise NotFound(f"Unknown symbol '{ticker}'. Known symbols: {known}.", code=ErrorCode.UNKNOWN_SYMBOL) from None


@dataclass(frozen=True)
class LatestPrice:
    ticker: str
    price: Decimal | None
    timestamp: dt.datetime | None
    source: str | None = None  # where the newest sample came from (wordpress, a fallback, csv...)

    def age_seconds(self, at: dt.datetime) -> float | None:
        return None if self.timestamp is None else round((at - self.timestamp).total_seconds(), 3)


def price_latest_list(*, active_only: bool = True) -> list[LatestPrice]:
    """The newest sample of every symbol, in one query."""
    newest = PriceSample.objects.filter(symbol=OuterRef("pk"), quarantined=False).order_by("-timestamp")
    symbols = Symbol.objects.all() if not active_only else Symbol.objects.filter(is_active=True)
    rows = symbols.annotate(
        last_price=Subquery(newest.values("price")[:1]),
        last_at=Subquery(newest.values("timestamp")[:1]),
        last_source=Subquery(newest.values("source")[:1]),
    ).values_list("ticker", "last_price", "last_at", "last_source")
    return [LatestPrice(ticker, price, at, source) for ticker, price, at, source in rows]


def price_latest_subquery(symbol: str = "symbol") -> Subquery:
    """The newest accepted price of the symbol the outer row's `symbol` field names (NULL without one), for an
    annotation: the price `price_latest_list` gives, read in the query that needs it."""
    newest = PriceSample.objects.filter(symbol=OuterRef(symbol), quarantined=False).order_by("-timestamp")
    return Subquery(newest.values("price")[:1])


def prices_accepted(*, symbol_id: int | Expression) -> QuerySet[PriceSample]:
    """The symbol's accepted samples (a quarantined one is not a price: market/price_band.py), newest first: the
    first is its latest price. `symbol_id` may be an expression (a column of an enclosing query)."""
    return PriceSample.objects.filter(Q(symbol_id=symbol_id), quarantined=False).order_by("-timestamp")


def price_latest(*, symbol_id: int) -> PriceSample | None:
    """The newest accepted sample."""
    return prices_accepted(symbol_id=symbol_id).first()


@dataclass(frozen=True)
class QuarantinedPrice:
    ticker: str
    timestamp: dt.datetime
    price: Decimal


def price_quarantined_list(*, since: dt.datetime) -> list[QuarantinedPrice]:
    """The samples quarantined by the price band (market/price_band.py) stamped at or after `since`, oldest first."""
    rows = (
        PriceSample.objects.filter(quarantined=True, timestamp__gte=since)
        .order_by("timestamp")
        .values_list("symbol__ticker", "timestamp", "price")
    )
    return [QuarantinedPrice(ticker, at, price) for ticker, at, price in rows[:100]]


def price_first_between(*, symbol_id: int, start: dt.datetime, end: dt.datetime) -> PriceSample | None:
    """The first accepted sample at or after `start` and before `end`."""
    return (
        PriceSample.objects.filter(symbol_id=symbol_id, timestamp__gte=start, timestamp__lt=end, quarantined=False)
        .order_by("timestamp")
        .first()
    )


@dataclass(frozen=True)
class BarView:
    timestamp: dt.datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int | None
    sources: tuple[str, ...] = ()  # where its samples came from (filled by market_data_get)


BAR_COLUMNS = ("start", "day", "open", "high", "low", "close", "close_volume", "close_at")


def bar_volume(current: tuple, previous: tuple | None, timeframe: str) -> int | None:
    """Rise of the cumulative day volume inside `current`, measured from the previous bar's close sample.
    Rows are tuples in BAR_COLUMNS order: [1] is the day, [6] the close volume."""
    if current[6] is None:
        return None
    if previous is None:
        return current[6] if timeframe == Timeframe.DAY1 else None
    if previous[1] != current[1]:
        return current[6]  # first bar of the day: everything traded since the day began
    if previous[6] is None or current[6] < previous[6]:
        return None
    return current[6] - previous[6]


@dataclass(frozen=True)
class BarPage:
    bars: list[BarView]
    newest_sample_at: dt.datetime | None  # known when the page ends at the newest bar


def bar_list(
    *, symbol: Symbol, timeframe: str, limit: int, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> BarPage:
    """Bars oldest first: the first `limit` from `start` when given, else the newest `limit` before `end`.
    Reads limit + 1 rows of the rollup: the cost follows the bars asked for, not the samples stored."""
    bars = Bar.objects.filter(symbol=symbol, timeframe=timeframe)
    if end is not None:
        bars = bars.filter(start__lt=end)
    newest_sample_at = None
    if start is None:
        rows = list(bars.order_by("-start").values_list(*BAR_COLUMNS)[: limit + 1])[::-1]
        previous = rows.pop(0) if len(rows) > limit else None
        if end is None and rows:
            newest_sample_at = rows[-1][7]
    else:
        rows = list(bars.filter(start__gte=start).order_by("start").values_list(*BAR_COLUMNS)[:limit])
        previous = bars.filter(start__lt=start).order_by("-start").values_list(*BAR_COLUMNS).first() if rows else None
    out = []
    for row in rows:
        out.append(BarView(row[0], row[2], row[3], row[4], row[5], bar_volume(row, previous, timeframe)))
        previous = row
    return BarPage(out, newest_sample_at)


def price_is_stale(*, timestamp: dt.datetime | None, at: dt.datetime) -> bool:
    """Older than the allowed age while the market is open; while it is closed, not reaching
    the last session's close."""
    if timestamp is None:
        return True
    clock = market_clock()
    max_age = dt.timedelta(seconds=settings.MAX_PRICE_AGE_SECONDS)
    if clock.is_open(at):
        return at - timestamp > max_age
    last_close = clock.previous_close(at)
    return last_close is not None and timestamp < last_close - max_age


@dataclass(frozen=True)
class MarketData:
    """A symbol's bars, the time of its newest stored sample, and whether that is stale at `at`."""

    symbol: str
    timeframe: str
    data: list[BarView]
    as_of: dt.datetime | None
    stale: bool

    @property
    def count(self) -> int:
        return len(self.data)


def market_data_get(
    *, ticker: str, timeframe: str, limit: int, start: dt.datetime | None, end: dt.datetime | None, at: dt.datetime
) -> MarketData:
    """The bars `bar_list` pages (see there), with the newest sample's time."""
    symbol = symbol_get(ticker=ticker)
    page = bar_list(symbol=symbol, timeframe=timeframe, limit=limit, start=start, end=end)
    as_of = page.newest_sample_at
    if as_of is None:
        newest = price_latest(symbol_id=symbol.pk)
        as_of = newest.timestamp if newest else None
    sources = bar_sources(symbol_id=symbol.pk, timeframe=timeframe, starts=[bar.timestamp for bar in page.bars])
    bars = [replace(bar, sources=tuple(sources.get(bar.timestamp, ()))) for bar in page.bars]
    return MarketData(symbol.ticker, timeframe, bars, as_of, price_is_stale(timestamp=as_of, at=at))


def bar_sources(*, symbol_id: int, timeframe: str, starts: list[dt.datetime]) -> dict[dt.datetime, list[str]]:
    """Which sources fed each bar (by its start): one query over the samples of the page's span. On PostgreSQL
    the server groups them per bar (a page of 5-minute bars over 1-second samples spans 30,000 rows: read into
    Python one by one, they cost half a second)."""
    if not starts:
        return {}
    if connection.vendor == "postgresql":
        return _bar_sources_grouped(symbol_id, starts, [bucket_of(timeframe, start)[1] for start in starts])
    return _bar_sources_read(symbol_id, timeframe, starts)


def _bar_sources_read(symbol_id: int, timeframe: str, starts: list[dt.datetime]) -> dict[dt.datetime, list[str]]:
    end = bucket_of(timeframe, starts[-1])[1]
    rows = (
        PriceSample.objects.filter(symbol_id=symbol_id, timestamp__gte=starts[0], timestamp__lt=end, quarantined=False)
        .order_by()
        .values_list("timestamp", "source")
    )
    found: dict[dt.datetime, set[str]] = defaultdict(set)
    for at, source in rows:
        found[bucket_of(timeframe, at)[0]].add(source)
    return {start: sorted(kinds) for start, kinds in found.items()}


def _bar_sources_grouped(
    symbol_id: int, starts: list[dt.datetime], ends: list[dt.datetime]
) -> dict[dt.datetime, list[str]]:
    table = PriceSample._meta.db_table
    query = f"""
        SELECT bar.start, array_agg(DISTINCT sample.source ORDER BY sample.source)
        FROM unnest(%s::timestamptz[], %s::timestamptz[]) AS bar(start, stop)
        JOIN {table} AS sample
          ON sample.symbol_id = %s AND sample.timestamp >= bar.start AND sample.timestamp < bar.stop
        GROUP BY bar.start
    """  # noqa: S608 - the model's own table name
    with connection.cursor() as cursor:
        cursor.execute(query, [starts, ends, symbol_id])
        return {start: list(kinds) for start, kinds in cursor.fetchall()}
