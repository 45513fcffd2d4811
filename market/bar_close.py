"""`bar_closed`: announce each bar once, when the first sample at or after its end is stored.

A bar ends at start + size (intraday) or at its day's session close (1Day; local midnight on a day without a
session, and always with the 24/7 calendar). `bars_close` runs inside the transaction that stored the samples,
after their bars were merged: it locks the `BarCloseMark` rows (one per symbol and timeframe) of the symbols
stored, finds the bars that start at or after their mark and end at or before the symbol's newest sample just
stored, announces them (after commit) and moves each mark to the last one's end. A second writer waits for
the lock and then sees the moved mark, so a repeated sample, a late sample for an already closed bar, or two
workers storing the same samples never announce a bar twice.
"""

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from django.db.models import Count, Max, Q, QuerySet

from tradingrobot.events import announce, listened

from .clock import MarketClock, market_clock
from .events import BarClosed
from .models import Bar, BarCloseMark, Timeframe
from .rollup import INTRADAY_SECONDS, TIMEFRAMES
from .selectors import BAR_COLUMNS, bar_volume

NEVER = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # the mark of a symbol and timeframe that never closed a bar


def day_end(clock: MarketClock, day: dt.date) -> dt.datetime:
    """When the 1Day bar of the exchange-local date `day` ends."""
    close = clock.session_close_on(day)
    if close is not None:
        return close
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=clock.tz).astimezone(dt.UTC)


def _closed_filter(clock: MarketClock, symbol_id: int, marks: Mapping[str, BarCloseMark], newest: dt.datetime) -> Q:
    """The symbol's bars of every timeframe that start at or after their mark and end at or before `newest`.
    Every term names symbol, timeframe and a start range: each one is a range of the bars' unique index."""
    condition = Q(pk__in=[])
    for timeframe, size in INTRADAY_SECONDS.items():
        latest_start = newest - dt.timedelta(seconds=size)
        start = marks[timeframe].closed_until
        condition |= Q(symbol_id=symbol_id, timeframe=timeframe, start__gte=start, start__lte=latest_start)
    today = clock.local_date(newest)
    last_day = today if day_end(clock, today) <= newest else today - dt.timedelta(days=1)
    start = marks[Timeframe.DAY1].closed_until
    return condition | Q(symbol_id=symbol_id, timeframe=Timeframe.DAY1, start__gte=start, day__lte=last_day)


def _marks_lock(symbol_ids: list[int]) -> dict[tuple[int, str], BarCloseMark]:
    """The marks of `symbol_ids`, row-locked in one order (symbol, timeframe) by every writer."""
    locked = (
        BarCloseMark.objects.select_for_update().filter(symbol_id__in=symbol_ids).order_by("symbol_id", "timeframe")
    )
    marks = {(m.symbol_id, m.timeframe): m for m in locked}
    if len(marks) < len(symbol_ids) * len(TIMEFRAMES):
        missing = [(s, tf) for s in symbol_ids for tf in TIMEFRAMES if (s, tf) not in marks]
        BarCloseMark.objects.bulk_create(
            [BarCloseMark(symbol_id=s, timeframe=tf, closed_until=NEVER) for s, tf in missing], ignore_conflicts=True
        )
        marks = {(m.symbol_id, m.timeframe): m for m in locked.all()}
    return marks


def bars_close(*, newest: Mapping[int, dt.datetime], live: bool) -> int:
    """Announce the bars the samples just stored closed. `newest`: symbol id -> its newest sample stored
    (new or changed) in this transaction. Runs inside that transaction, in three or four queries whatever the
    number of symbols and bars. When nobody hears `bar_closed` (with this `live`) the marks still move (a listener added
    later starts from then, never from history) but no bar is read. Returns how many bars closed."""
    if not newest:
        return 0
    clock = market_clock()
    symbol_ids = sorted(newest)
    marks = _marks_lock(symbol_ids)
    condition = Q(pk__in=[])
    for symbol_id in symbol_ids:
        by_timeframe: dict[str, BarCloseMark] = {tf: marks[(symbol_id, tf)] for tf in TIMEFRAMES}
        condition |= _closed_filter(clock, symbol_id, by_timeframe, newest[symbol_id])
    closing = Bar.objects.filter(condition)
    if listened("bar_closed", live=live):
        last, count = _announce_closed(clock, closing, marks, live)
    else:
        last, count = _last_closed(closing)
    moved = []
    for key, (start, day, close_volume) in last.items():
        mark = marks[key]
        mark.closed_until = _end(clock, key[1], start, day)
        mark.closed_day, mark.closed_volume = day, close_volume
        moved.append(mark)
    BarCloseMark.objects.bulk_update(moved, ["closed_until", "closed_day", "closed_volume"])
    return count


LastClosed = dict[tuple[int, str], tuple[dt.datetime, dt.date, int | None]]  # (symbol, tf) -> start, day, volume


def _announce_closed(
    clock: MarketClock, closing: QuerySet[Bar], marks: Mapping[tuple[int, str], BarCloseMark], live: bool
) -> tuple[LastClosed, int]:
    rows = closing.order_by("symbol_id", "timeframe", "start").values_list(
        "symbol_id", "symbol__ticker", "timeframe", *BAR_COLUMNS
    )
    batch: list[BarClosed] = []
    last: LastClosed = {}
    previous: tuple | None = None
    for symbol_id, ticker, timeframe, *row in rows:
        key = (symbol_id, timeframe)
        if key not in last:
            mark = marks[key]
            previous = None if mark.closed_day is None else (None, mark.closed_day, *[None] * 4, mark.closed_volume)
        volume = bar_volume(row, previous, timeframe)
        batch.append(
            BarClosed(
                type="bar_closed",
                symbol=ticker,
                timeframe=timeframe,
                start=row[0],
                end=_end(clock, timeframe, row[0], row[1]),
                open=row[2],
                high=row[3],
                low=row[4],
                close=row[5],
                volume=None if volume is None else Decimal(volume),
                live=live,
            )
        )
        last[key] = (row[0], row[1], row[6])
        previous = row
    # per symbol: 1Min first, 1Day last; each oldest first
    order: dict[str, int] = {tf: i for i, tf in enumerate(TIMEFRAMES)}
    batch.sort(key=lambda e: (e["symbol"], order[e["timeframe"]]))
    announce(*batch)
    return last, len(batch)


def _last_closed(closing: QuerySet[Bar]) -> tuple[LastClosed, int]:
    """The newest closing bar of each (symbol, timeframe) and how many close, without reading them all."""
    groups = list(closing.order_by().values_list("symbol_id", "timeframe").annotate(newest=Max("start"), n=Count("pk")))
    if not groups:
        return {}, 0
    exact = Q(pk__in=[])
    for symbol_id, timeframe, start, _ in groups:
        exact |= Q(symbol_id=symbol_id, timeframe=timeframe, start=start)
    rows = Bar.objects.filter(exact).values_list("symbol_id", "timeframe", "start", "day", "close_volume")
    last = {(symbol_id, tf): (start, day, volume) for symbol_id, tf, start, day, volume in rows}
    return last, sum(n for *_, n in groups)


def _end(clock: MarketClock, timeframe: str, start: dt.datetime, day: dt.date) -> dt.datetime:
    if timeframe == Timeframe.DAY1:
        return day_end(clock, day)
    return start + dt.timedelta(seconds=INTRADAY_SECONDS[timeframe])
