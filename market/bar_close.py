"""`bar_closed`: announce each bar once, when the first sample at or after its end is stored.

A bar ends at start + size (intraday) or at its day's session close (1Day; local midnight on a day without a
session, and always with the 24/7 calendar). `bars_close` runs inside the transaction that stored the samples,
after their bars were merged: per symbol it locks that symbol's `BarCloseMark` rows (one per timeframe), finds
the bars that start at or after the mark and end at or before the newest sample just stored, announces them
(after commit) and moves the mark to the last one's end. A second writer waits for the lock and then sees the
moved mark, so a repeated sample, a late sample for an already closed bar, or two workers storing the same
samples never announce a bar twice.
"""

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from django.db.models import Q

from tradingrobot.events import announce

from .clock import MarketClock, market_clock
from .events import BarClosed
from .models import Bar, BarCloseMark, Symbol, Timeframe
from .rollup import INTRADAY_SECONDS, TIMEFRAMES
from .selectors import BAR_COLUMNS, bar_volume

NEVER = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # the mark of a symbol and timeframe that never closed a bar


def day_end(clock: MarketClock, day: dt.date) -> dt.datetime:
    """When the 1Day bar of the exchange-local date `day` ends."""
    close = clock.session_close_on(day)
    if close is not None:
        return close
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=clock.tz).astimezone(dt.UTC)


def _closed_filter(clock: MarketClock, marks: Mapping[str, dt.datetime], newest: dt.datetime) -> Q:
    """Bars of every timeframe that start at or after their mark and end at or before `newest`."""
    condition = Q(pk__in=[])
    for timeframe, size in INTRADAY_SECONDS.items():
        latest_start = newest - dt.timedelta(seconds=size)
        condition |= Q(timeframe=timeframe, start__gte=marks[timeframe], start__lte=latest_start)
    today = clock.local_date(newest)
    last_day = today if day_end(clock, today) <= newest else today - dt.timedelta(days=1)
    return condition | Q(timeframe=Timeframe.DAY1, start__gte=marks[Timeframe.DAY1], day__lte=last_day)


def _marks_lock(symbol_id: int) -> dict[str, BarCloseMark]:
    marks = {m.timeframe: m for m in BarCloseMark.objects.select_for_update().filter(symbol_id=symbol_id)}
    if len(marks) < len(TIMEFRAMES):
        BarCloseMark.objects.bulk_create(
            [
                BarCloseMark(symbol_id=symbol_id, timeframe=tf, closed_until=NEVER)
                for tf in TIMEFRAMES
                if tf not in marks
            ],
            ignore_conflicts=True,
        )
        marks = {m.timeframe: m for m in BarCloseMark.objects.select_for_update().filter(symbol_id=symbol_id)}
    return marks


def bars_close(*, newest: Mapping[int, dt.datetime], live: bool) -> int:
    """Announce the bars the samples just stored closed. `newest`: symbol id -> its newest sample stored
    (new or changed) in this transaction. Runs inside that transaction. Returns how many bars closed."""
    clock = market_clock()
    tickers = dict(Symbol.objects.filter(pk__in=list(newest)).values_list("pk", "ticker")) if newest else {}
    closed = 0
    for symbol_id in sorted(newest):  # one lock order for every writer
        marks = _marks_lock(symbol_id)
        bars = Bar.objects.filter(symbol_id=symbol_id)
        rows = list(
            bars.filter(_closed_filter(clock, {tf: m.closed_until for tf, m in marks.items()}, newest[symbol_id]))
            .order_by("start")
            .values_list("timeframe", *BAR_COLUMNS)
        )
        by_timeframe: dict[str, list[tuple]] = {}
        for timeframe, *row in rows:
            by_timeframe.setdefault(timeframe, []).append(tuple(row))
        for timeframe in [tf for tf in TIMEFRAMES if tf in by_timeframe]:
            closing = by_timeframe[timeframe]
            previous = (
                bars.filter(timeframe=timeframe, start__lt=closing[0][0])
                .order_by("-start")
                .values_list(*BAR_COLUMNS)
                .first()
            )
            end = NEVER
            for row in closing:
                end = _end(clock, timeframe, row)
                volume = bar_volume(row, previous, timeframe)
                announce(
                    BarClosed(
                        type="bar_closed",
                        symbol=tickers[symbol_id],
                        timeframe=str(timeframe),
                        start=row[0],
                        end=end,
                        open=row[2],
                        high=row[3],
                        low=row[4],
                        close=row[5],
                        volume=None if volume is None else Decimal(volume),
                        live=live,
                    )
                )
                previous = row
            BarCloseMark.objects.filter(pk=marks[timeframe].pk, closed_until__lt=end).update(closed_until=end)
            closed += len(closing)
    return closed


def _end(clock: MarketClock, timeframe: str, row: tuple) -> dt.datetime:
    if timeframe == Timeframe.DAY1:
        return day_end(clock, row[1])
    return row[0] + dt.timedelta(seconds=INTRADAY_SECONDS[timeframe])
