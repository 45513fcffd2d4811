"""Keeps the OHLC bars of every timeframe up to date as samples arrive.

New samples are merged into their bars by one SQL upsert per batch; the merge is idempotent
(earliest open, max high, min low, latest close), so two writers merging the same sample agree.
A sample that changed upstream can lower a high, so its buckets are rebuilt from the samples.
"""

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from .clock import market_clock
from .models import Bar, PriceSample, Timeframe

INTRADAY_SECONDS: dict[str, int] = {
    Timeframe.MIN1: 60,
    Timeframe.MIN5: 300,
    Timeframe.MIN15: 900,
    Timeframe.HOUR1: 3600,
}
TIMEFRAMES = [*INTRADAY_SECONDS, Timeframe.DAY1]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class SampleRow:
    symbol_id: int
    timestamp: dt.datetime
    price: Decimal
    volume: int | None


def bucket_of(timeframe: str, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The [start, end) of the bucket holding `at`. Days are exchange-local calendar days."""
    if timeframe == Timeframe.DAY1:
        tz = market_clock().tz
        local_midnight = dt.datetime.combine(at.astimezone(tz).date(), dt.time(), tzinfo=tz)
        next_midnight = dt.datetime.combine(local_midnight.date() + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        return local_midnight.astimezone(dt.UTC), next_midnight.astimezone(dt.UTC)
    size = INTRADAY_SECONDS[timeframe]
    seconds = int((at - _EPOCH).total_seconds()) // size * size
    start = _EPOCH + dt.timedelta(seconds=seconds)
    return start, start + dt.timedelta(seconds=size)


@dataclass(slots=True)
class _BarDraft:
    symbol_id: int
    timeframe: str
    start: dt.datetime
    day: dt.date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    open_at: dt.datetime
    close_at: dt.datetime
    close_volume: int | None

    def absorb(self, row: SampleRow) -> None:
        if row.timestamp < self.open_at:
            self.open, self.open_at = row.price, row.timestamp
        if row.timestamp >= self.close_at:
            self.close, self.close_at, self.close_volume = row.price, row.timestamp, row.volume
        self.high = max(self.high, row.price)
        self.low = min(self.low, row.price)


def drafts_from_samples(rows: Iterable[SampleRow]) -> list[_BarDraft]:
    clock = market_clock()
    drafts: dict[tuple, _BarDraft] = {}
    days: dict[dt.date, dt.datetime] = {}  # exchange-local day -> its 1Day bucket start (UTC)
    intraday = list(INTRADAY_SECONDS.items())
    for row in rows:
        day = clock.local_date(row.timestamp)
        day_start = days.get(day)
        if day_start is None:
            day_start = days[day] = dt.datetime.combine(day, dt.time(), tzinfo=clock.tz).astimezone(dt.UTC)
        epoch_seconds = int((row.timestamp - _EPOCH).total_seconds())
        starts = [(tf, _EPOCH + dt.timedelta(seconds=epoch_seconds // size * size)) for tf, size in intraday]
        starts.append((Timeframe.DAY1, day_start))
        for timeframe, start in starts:
            key = (row.symbol_id, timeframe, start)
            draft = drafts.get(key)
            if draft is None:
                drafts[key] = _BarDraft(
                    row.symbol_id,
                    timeframe,
                    start,
                    day,
                    row.price,
                    row.price,
                    row.price,
                    row.price,
                    row.timestamp,
                    row.timestamp,
                    row.volume,
                )
            else:
                draft.absorb(row)
    return list(drafts.values())


_CONFLICT_SQL = """
        ON CONFLICT (symbol_id, timeframe, start) DO UPDATE SET
            open = CASE WHEN EXCLUDED.open_at < {table}.open_at THEN EXCLUDED.open ELSE {table}.open END,
            open_at = {least}({table}.open_at, EXCLUDED.open_at),
            high = {greatest}({table}.high, EXCLUDED.high),
            low = {least}({table}.low, EXCLUDED.low),
            close = CASE WHEN EXCLUDED.close_at >= {table}.close_at THEN EXCLUDED.close ELSE {table}.close END,
            close_volume = CASE WHEN EXCLUDED.close_at >= {table}.close_at
                THEN EXCLUDED.close_volume ELSE {table}.close_volume END,
            close_at = {greatest}({table}.close_at, EXCLUDED.close_at)
"""
_COLUMNS = "symbol_id, timeframe, start, day, open, high, low, close, open_at, close_at, close_volume"


def _merge_sql(rows: int) -> str:
    table = Bar._meta.db_table
    greatest, least = ("GREATEST", "LEAST") if connection.vendor == "postgresql" else ("MAX", "MIN")
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * rows)
    # Only table names from _meta and fixed SQL words are interpolated; values are parameters.
    return f"INSERT INTO {table} ({_COLUMNS}) VALUES {values}" + _CONFLICT_SQL.format(  # noqa: S608
        table=table, greatest=greatest, least=least
    )


def _merge_sql_unnest() -> str:
    """PostgreSQL: one array per column, so a statement of thousands of bars has 11 parameters, not 11 per bar."""
    table = Bar._meta.db_table
    arrays = (
        "%b::bigint[], %b::varchar[], %b::timestamptz[], %b::date[], %b::numeric[], %b::numeric[], "
        "%b::numeric[], %b::numeric[], %b::timestamptz[], %b::timestamptz[], %b::bigint[]"
    )
    return f"INSERT INTO {table} ({_COLUMNS}) SELECT * FROM unnest({arrays})" + _CONFLICT_SQL.format(  # noqa: S608
        table=table, greatest="GREATEST", least="LEAST"
    )


def _params(draft: _BarDraft) -> list:
    ops = connection.ops
    return [
        draft.symbol_id,
        draft.timeframe,
        ops.adapt_datetimefield_value(draft.start),
        ops.adapt_datefield_value(draft.day),
        ops.adapt_decimalfield_value(draft.open, 18, 4),
        ops.adapt_decimalfield_value(draft.high, 18, 4),
        ops.adapt_decimalfield_value(draft.low, 18, 4),
        ops.adapt_decimalfield_value(draft.close, 18, 4),
        ops.adapt_datetimefield_value(draft.open_at),
        ops.adapt_datetimefield_value(draft.close_at),
        draft.close_volume,
    ]


def bars_merge_from_sql(new_samples: str, *, fresh: Collection[str] = ()) -> str:
    """PostgreSQL: a statement tail that merges into the bars the samples of the CTE named `new_samples`
    (columns symbol_id, timestamp, price, volume), aggregated by the server for every timeframe, with the
    same idempotent merge as `bars_merge`. Buckets and days as in `bucket_of` (exchange-local days).
    The timeframes in `fresh` (none of their bars exists yet: `bars_fresh_timeframes`) are inserted plainly,
    without the upsert's conflict check; a bar another writer added meanwhile fails the statement
    (UniqueViolation), to be run again without `fresh`."""
    table = Bar._meta.db_table
    tz = str(market_clock().tz).replace("'", "")
    local_day = f"(timestamp AT TIME ZONE '{tz}')::date"
    groupings = [
        (tf, f"date_bin(interval '{size} seconds', timestamp, timestamptz '1970-01-01 00:00:00+00')")
        for tf, size in INTRADAY_SECONDS.items()
    ]
    groupings.append((Timeframe.DAY1, f"({local_day}::timestamp AT TIME ZONE '{tz}')"))
    # First and last of a bucket by plain aggregates over [epoch, value] arrays (compared on the epoch, unique
    # per symbol in a batch): no sort per group, where an ordered array_agg sorts every bucket on its own.
    epoch = "extract(epoch FROM timestamp)"
    selects = {
        tf: f"""SELECT symbol_id, '{tf}', start, (min(timestamp) AT TIME ZONE '{tz}')::date,
            (min(ARRAY[{epoch}, price]))[2], max(price), min(price), (max(ARRAY[{epoch}, price]))[2],
            min(timestamp), max(timestamp), (max(ARRAY[{epoch}, volume]))[2]::bigint
        FROM (SELECT symbol_id, timestamp, price, volume, {bucket} AS start FROM {new_samples}) AS s
        GROUP BY symbol_id, start"""  # noqa: S608
        for tf, bucket in groupings
    }
    insert = f"INSERT INTO {table} ({_COLUMNS}) "
    plain = " UNION ALL ".join(sql for tf, sql in selects.items() if tf in fresh)
    merged = " UNION ALL ".join(sql for tf, sql in selects.items() if tf not in fresh)
    # The upsert locks its bars in key order, as every writer does (two orders of the same bars deadlock).
    ordered = f"SELECT * FROM ({merged}) AS merged ORDER BY 1, 2, 3"  # noqa: S608 - symbol_id, timeframe, start
    upsert = insert + ordered + _CONFLICT_SQL.format(table=table, greatest="GREATEST", least="LEAST")
    # Only table/column names, timeframe labels and the exchange's zone name are interpolated.
    if not plain:
        return upsert
    if not merged:
        return insert + plain
    return f", fresh_bars AS ({insert}{plain}) {upsert}"


def bars_fresh_timeframes(spans: Mapping[int, tuple[dt.datetime, dt.datetime]]) -> set[str]:
    """The timeframes with no bar yet in any bucket the samples of `spans` (symbol id -> (first, last
    timestamp)) fall in: their bars can be inserted without the upsert's conflict check. One query, one
    range of the bars' unique index per symbol and timeframe."""
    terms: list[str] = []
    params: list[str | int | dt.datetime] = []
    for symbol_id, (first, last) in spans.items():
        for timeframe in TIMEFRAMES:
            terms.append(
                "SELECT %s::varchar WHERE EXISTS (SELECT 1 FROM {table} WHERE symbol_id = %s AND "
                "timeframe = %s AND start >= %s AND start <= %s)"
            )
            params += [timeframe, symbol_id, timeframe, bucket_of(timeframe, first)[0], last]
    if not terms:
        return set(TIMEFRAMES)
    sql = " UNION ".join(terms).format(table=Bar._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        held = {row[0] for row in cursor.fetchall()}
    return set(TIMEFRAMES) - held


def execute_binary(sql: str, params: list) -> int:
    """PostgreSQL: run `sql` with server-side binding and binary parameters (`%b`) in the current transaction.
    Arrays of thousands of values travel several times cheaper than as the literals Django's client-side
    binding writes. Returns the row count."""
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def bars_merge(rows: Iterable[SampleRow], *, chunk: int = 500) -> int:
    """Merge new samples into their bars. Returns how many bar rows were written."""
    drafts = drafts_from_samples(rows)
    if connection.vendor == "postgresql":
        sql = _merge_sql_unnest()
        for i in range(0, len(drafts), 20 * chunk):
            part = drafts[i : i + 20 * chunk]
            execute_binary(sql, [[getattr(d, name) for d in part] for name in _COLUMNS.split(", ")])
        return len(drafts)
    with connection.cursor() as cursor:
        for i in range(0, len(drafts), chunk):
            part = drafts[i : i + chunk]
            params = [value for draft in part for value in _params(draft)]
            cursor.execute(_merge_sql(len(part)), params)
    return len(drafts)


def bars_rebuild(symbol_id: int, timestamps: Iterable[dt.datetime]) -> None:
    """Recompute from the stored samples every bar that holds one of `timestamps`."""
    buckets = {(tf, bucket_of(tf, ts)) for ts in timestamps for tf in TIMEFRAMES}
    for timeframe, (start, end) in buckets:
        samples = PriceSample.objects.filter(
            symbol_id=symbol_id, timestamp__gte=start, timestamp__lt=end, quarantined=False
        )
        rows = [
            SampleRow(symbol_id, ts, price, volume)
            for ts, price, volume in samples.order_by("timestamp").values_list("timestamp", "price", "volume")
        ]
        Bar.objects.filter(symbol_id=symbol_id, timeframe=timeframe, start=start).delete()
        drafts = [d for d in drafts_from_samples(rows) if d.timeframe == timeframe]
        Bar.objects.bulk_create(Bar(**{name: getattr(d, name) for name in d.__slots__}) for d in drafts)
