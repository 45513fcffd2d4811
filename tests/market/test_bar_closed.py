"""`bar_closed`: once per (symbol, timeframe, bar), when the first sample at or after the bar's end is stored."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from market.models import BarCloseMark, PriceSample, Symbol
from market.services import SampleIn, sample_upsert_many
from tradingrobot import events

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2025, 12, 16, 15, 0, tzinfo=dt.UTC)  # 10:00 New York, a Tuesday
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def store(symbols, django_capture_on_commit_callbacks):
    def store(at: dt.datetime, price: str, volume: int | None = None, *, ticker: str = "TSLA", live: bool = True):
        with django_capture_on_commit_callbacks(execute=True):
            return sample_upsert_many(
                samples=[SampleIn(symbols[ticker].pk, at, Decimal(price), volume)],
                source=PriceSample.Source.MANUAL,
                live=live,
            )

    return store


def closed(heard: list[dict]) -> list[tuple]:
    """(timeframe, start, end) of the bar_closed events heard so far, emptying the list."""
    bars = [(e["timeframe"], e["start"], e["end"]) for e in heard if e["type"] == "bar_closed"]
    heard.clear()
    return bars


def test_a_bar_closes_once_with_its_values_despite_repeated_and_late_samples(store, heard):
    store(T0 - MINUTE, "99", 900)
    store(T0, "100", 1000)
    assert closed(heard) == [  # the first sample at the end of the bars holding 14:59
        ("1Min", T0 - MINUTE, T0),
        ("5Min", T0 - 5 * MINUTE, T0),
        ("15Min", T0 - 15 * MINUTE, T0),
        ("1Hour", T0 - 60 * MINUTE, T0),
    ]

    store(T0 + dt.timedelta(seconds=30), "103", 1200)
    assert closed(heard) == []
    result = store(T0 + MINUTE, "101", 1500)  # at the 15:00 bar's end: it closes
    assert result.bars_closed == 1
    assert [e for e in heard if e["type"] == "bar_closed"] == [
        {
            "type": "bar_closed",
            "symbol": "TSLA",
            "timeframe": "1Min",
            "start": T0,
            "end": T0 + MINUTE,
            "open": Decimal("100"),
            "high": Decimal("103"),
            "low": Decimal("100"),
            "close": Decimal("103"),
            "volume": Decimal("300"),  # 1200 at its close sample, 900 at the previous bar's
            "live": True,
        }
    ]
    heard.clear()

    store(T0 + MINUTE, "101", 1500)  # the same sample again: unchanged
    store(T0 + MINUTE, "101.5", 1500)  # corrected upstream: updated, still the same instant
    store(T0 + dt.timedelta(seconds=45), "98", 1300)  # late, inside the closed 15:00 bar
    assert closed(heard) == []
    assert store(T0 + dt.timedelta(seconds=45), "98", 1300).bars_closed == 0

    store(T0 + dt.timedelta(minutes=5), "102", 2000)  # closes the 15:01 bar and the 15:00-15:05 bar
    assert closed(heard) == [("1Min", T0 + MINUTE, T0 + 2 * MINUTE), ("5Min", T0, T0 + 5 * MINUTE)]


def test_every_intraday_timeframe_closes_at_its_end(store, heard):
    store(T0, "100")
    store(T0 + dt.timedelta(minutes=15), "101")
    assert closed(heard) == [
        ("1Min", T0, T0 + MINUTE),
        ("5Min", T0, T0 + 5 * MINUTE),
        ("15Min", T0, T0 + 15 * MINUTE),
    ]
    store(T0 + dt.timedelta(minutes=59), "102")
    assert closed(heard) == [
        ("1Min", T0 + 15 * MINUTE, T0 + 16 * MINUTE),
        ("5Min", T0 + 15 * MINUTE, T0 + 20 * MINUTE),
        ("15Min", T0 + 15 * MINUTE, T0 + 30 * MINUTE),
    ]
    store(T0 + dt.timedelta(hours=1), "103")
    assert closed(heard) == [
        ("1Min", T0 + 59 * MINUTE, T0 + 60 * MINUTE),
        ("5Min", T0 + 55 * MINUTE, T0 + 60 * MINUTE),
        ("15Min", T0 + 45 * MINUTE, T0 + 60 * MINUTE),
        ("1Hour", T0, T0 + 60 * MINUTE),
    ]


def day_bars(heard):
    return [(start, end) for timeframe, start, end in closed(heard) if timeframe == "1Day"]


def test_the_day_bar_closes_at_the_session_close_not_at_midnight(store, heard):
    day_start = dt.datetime(2025, 12, 16, 5, 0, tzinfo=dt.UTC)  # midnight New York
    close = dt.datetime(2025, 12, 16, 21, 0, tzinfo=dt.UTC)  # 16:00 New York
    store(T0, "100")
    store(close - MINUTE, "101")
    assert day_bars(heard) == []
    store(close, "102")  # after-hours samples still go into the day's bar, but the session is over
    assert day_bars(heard) == [(day_start, close)]
    store(close + dt.timedelta(hours=2), "103")
    store(dt.datetime(2025, 12, 17, 4, 59, tzinfo=dt.UTC), "104")  # 23:59 New York, same day
    assert day_bars(heard) == []


def test_an_early_close_and_a_day_without_a_session(store, heard):
    early_close = dt.datetime(2025, 11, 28, 18, 0, tzinfo=dt.UTC)  # the day after Thanksgiving: 13:00 New York
    store(early_close - MINUTE, "100")
    store(early_close, "101")
    assert day_bars(heard) == [(dt.datetime(2025, 11, 28, 5, 0, tzinfo=dt.UTC), early_close)]
    saturday = dt.datetime(2025, 11, 29, 5, 0, tzinfo=dt.UTC)
    store(saturday + dt.timedelta(hours=12), "102")
    store(saturday + dt.timedelta(hours=23), "103")
    assert day_bars(heard) == []
    sunday = saturday + dt.timedelta(days=1)
    store(sunday, "104")  # no session on Saturday: its bar ends at midnight
    assert day_bars(heard) == [(saturday, sunday)]


def test_a_backfill_announces_bars_as_not_live(store, heard):
    store(T0, "100", live=False)
    store(T0 + MINUTE, "101", live=False)
    assert [(e["timeframe"], e["live"]) for e in heard if e["type"] == "bar_closed"] == [("1Min", False)]


def test_the_engine_hears_live_bars_only_so_a_backfill_alone_builds_no_event(symbols, store, monkeypatch):
    """Installed as in production (tradingrobot/listeners.py), the engine is the only bar_closed listener: it is
    heard for live bars and not for a backfill's, whose marks still move without a bar being read."""
    from market import bar_close

    assert events.listened("bar_closed", live=True)
    assert not events.listened("bar_closed", live=False)
    announced: list[int] = []
    monkeypatch.setattr(bar_close, "_announce_closed", lambda *args: announced.append(1) or ({}, 0))
    store(T0, "100", 1000, live=False)
    assert store(T0 + MINUTE, "101", 1500, live=False).bars_closed == 1
    assert announced == []
    mark = BarCloseMark.objects.get(symbol=symbols["TSLA"], timeframe="1Min")
    assert mark.closed_until == T0 + MINUTE
    store(T0 + 2 * MINUTE, "102", 1800, live=True)
    assert announced == [1]


def test_marks_are_per_symbol(store, heard):
    store(T0, "100", ticker="TSLA")
    store(T0, "400", ticker="SPY")
    store(T0 + MINUTE, "101", ticker="TSLA")
    assert [(e["symbol"], e["timeframe"]) for e in heard if e["type"] == "bar_closed"] == [("TSLA", "1Min")]
    heard.clear()
    store(T0 + MINUTE, "401", ticker="SPY")
    assert [(e["symbol"], e["timeframe"]) for e in heard if e["type"] == "bar_closed"] == [("SPY", "1Min")]
    marks = BarCloseMark.objects.filter(timeframe="1Min").order_by("symbol__ticker")
    assert [(m.symbol.ticker, m.closed_until) for m in marks] == [("SPY", T0 + MINUTE), ("TSLA", T0 + MINUTE)]


def test_nothing_is_announced_when_the_store_rolls_back(symbols, heard, django_capture_on_commit_callbacks):
    sample = [SampleIn(symbols["TSLA"].pk, T0, Decimal("100"), None)]
    sample_upsert_many(samples=sample, source=PriceSample.Source.MANUAL)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        later = [SampleIn(symbols["TSLA"].pk, T0 + MINUTE, Decimal("101"), None)]
        sample_upsert_many(samples=later, source=PriceSample.Source.MANUAL)
        raise RuntimeError("the caller's transaction fails")
    assert closed(heard) == []
    assert BarCloseMark.objects.get(symbol=symbols["TSLA"], timeframe="1Min").closed_until < T0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_writers_storing_the_same_samples_announce_each_bar_once(require_postgres, heard):
    tsla = Symbol.objects.get(ticker="TSLA").pk
    rounds, writers = 6, 4
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(offset: int) -> None:
        try:
            for batch in range(rounds):
                # Every writer stores the same batch, plus samples of the previous batch again (late repeats).
                stamps = range(max(batch * 20 - 5, 0), batch * 20 + 20)
                samples = [SampleIn(tsla, T0 + s * MINUTE, Decimal(100 + s), s) for s in stamps]
                barrier.wait(timeout=30)
                sample_upsert_many(samples=samples[offset:] + samples[:offset], source=PriceSample.Source.MANUAL)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    one_minute = [e["start"] for e in heard if e["type"] == "bar_closed" and e["timeframe"] == "1Min"]
    assert sorted(one_minute) == [T0 + s * MINUTE for s in range(rounds * 20 - 1)]  # each once; the last still open
    keys = [(e["timeframe"], e["start"]) for e in heard if e["type"] == "bar_closed"]
    assert len(keys) == len(set(keys))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_writers_of_different_days_share_no_bar_row_and_still_announce_each_bar_once(require_postgres, heard):
    """Samples of different days touch no common bar row, so only the mark's row lock keeps two writers from
    both announcing the bars of the day before."""
    tsla = Symbol.objects.get(ticker="TSLA").pk
    first_day = dt.datetime(2025, 10, 1, 15, 0, tzinfo=dt.UTC)
    writers, rounds = 4, 8
    errors: list[BaseException] = []

    def store_on(day: int, barrier: threading.Barrier | None = None) -> None:
        try:
            if barrier is not None:
                barrier.wait(timeout=30)
            at = first_day + dt.timedelta(days=day)
            sample_upsert_many(samples=[SampleIn(tsla, at, Decimal(100 + day), None)], source=PriceSample.Source.MANUAL)
        except BaseException as error:
            errors.append(error)
        finally:
            if barrier is not None:
                connection.close()

    for r in range(rounds):
        base = r * (writers + 1)
        store_on(base)
        barrier = threading.Barrier(writers)
        threads = [threading.Thread(target=store_on, args=(base + 1 + w, barrier)) for w in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    keys = [(e["timeframe"], e["start"]) for e in heard if e["type"] == "bar_closed"]
    assert len(keys) == len(set(keys)), sorted(k for k in set(keys) if keys.count(k) > 1)[:5]
    one_minute = sorted(start for timeframe, start in keys if timeframe == "1Min")
    assert one_minute[0] == first_day and len(one_minute) == len(set(one_minute))


@pytest.fixture
def engine_deaf():
    """Nobody hears bar_closed (the strategy engine stops listening for the test)."""
    from trading.engine.listener import bar_closed_received

    events.unlisten(bar_closed_received)
    yield
    events.listen(bar_closed_received, types={"bar_closed"}, where={"live": True})


def test_with_nobody_listening_the_marks_still_move_and_no_history_is_announced_later(symbols, store, engine_deaf):
    assert not events.listened("bar_closed")
    store(T0, "100", 1000)
    assert store(T0 + MINUTE, "101", 1500).bars_closed == 1
    mark = BarCloseMark.objects.get(symbol=symbols["TSLA"], timeframe="1Min")
    assert (mark.closed_until, mark.closed_day, mark.closed_volume) == (T0 + MINUTE, T0.date(), 1000)

    seen: list[dict] = []
    events.listen(seen.append, types={"bar_closed"})
    try:
        assert store(T0 + 2 * MINUTE, "102", 1800).bars_closed == 1
    finally:
        events.unlisten(seen.append)
    assert [(e["start"], e["volume"]) for e in seen] == [(T0 + MINUTE, Decimal("500"))]  # 1500 - 1000
