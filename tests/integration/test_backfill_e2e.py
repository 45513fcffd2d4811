"""Backfill through /stock-data/{symbol} against the development feed."""

import datetime as dt
import itertools
import logging
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from integration.models import BackfillWindow
from integration.services import Window, _shares, backfill_lock_name, backfill_run, stock_data_poll
from integration.tasks import poll_lock_name
from market.models import Bar, PriceSample, Symbol
from tests.conftest import MARKET_OPEN_AT
from tradingrobot.locks import CacheLock, cache_lock

pytestmark = pytest.mark.django_db
FIVE_MINUTES = dt.timedelta(minutes=5)


def timestamps(ticker: str) -> list[dt.datetime]:
    return list(
        PriceSample.objects.filter(symbol__ticker=ticker).order_by("timestamp").values_list("timestamp", flat=True)
    )


def test_backfill_stores_every_sample_of_the_windows_and_resumes(devfeed, market_open):
    report = backfill_run(days=3, tickers=["TSLA"], window_days=1)

    assert report.ok, report.summary()
    first = dt.datetime(2025, 12, 13, tzinfo=dt.UTC)  # windows are aligned on whole days
    expected = int((MARKET_OPEN_AT - first) / FIVE_MINUTES) + 1
    assert (report.stored, report.windows, sum(report.skipped.values())) == (expected, 4, 0)
    stamps = timestamps("TSLA")
    assert stamps[0] == first and stamps[-1] == MARKET_OPEN_AT
    assert all(b - a == FIVE_MINUTES for a, b in itertools.pairwise(stamps))  # no gap, no overlap
    assert BackfillWindow.objects.count() == 3  # the window holding "now" is not complete yet
    assert Bar.objects.filter(symbol__ticker="TSLA", timeframe="1Day").count() == 5  # New York days 12-12..12-16

    market_open.shift(dt.timedelta(hours=1))
    again = backfill_run(days=3, tickers=["TSLA"], window_days=1)
    assert (again.windows_skipped, again.windows) == (3, 1)
    assert (again.stored, again.updated) == (12, 0)


def test_backfill_across_a_dst_change_has_no_gap(devfeed, caplog):
    """2025-11-02: New York falls back. The site stores rows by local time, so the repeated hour arrives twice
    with the same stamps: those are duplicates, skipped; every other instant is there once."""
    with (
        caplog.at_level(logging.WARNING, logger="integration.transform"),
        time_machine.travel(dt.datetime(2025, 11, 3, 12, 0, tzinfo=dt.UTC), tick=False),
    ):
        report = backfill_run(days=2, tickers=["SPY"], window_days=1)
    assert report.ok, report.summary()
    assert report.skipped == {"duplicate": 12}
    warnings = [r.getMessage() for r in caplog.records if r.name == "integration.transform"]
    assert len(warnings) == 1, warnings  # once for the window, not once per repeated row
    assert warnings[0].startswith("skipped 12 duplicate WordPress row(s) (SPY 12)")
    assert "DST fall-back in America/New_York" in warnings[0]
    stamps = timestamps("SPY")
    gaps = [(a, b) for a, b in itertools.pairwise(stamps) if b - a != FIVE_MINUTES]
    assert gaps == [(dt.datetime(2025, 11, 2, 5, 55, tzinfo=dt.UTC), dt.datetime(2025, 11, 2, 7, 0, tzinfo=dt.UTC))]


def test_a_failed_window_stops_the_run_and_a_rerun_finishes_it(devfeed, market_open):
    def break_after_first(window, report):
        if report.windows == 1:
            devfeed.fault("critical")

    broken = backfill_run(days=8, tickers=["QQQ"], window_days=1, on_window=break_after_first)
    assert broken.error.code == "critical_error"
    done = BackfillWindow.objects.count()
    assert 1 <= done < 8  # at most a few windows were fetched ahead

    devfeed.fault("ok")
    market_open.shift(dt.timedelta(seconds=31))  # in case the failures opened the breaker
    resumed = backfill_run(days=8, tickers=["QQQ"], window_days=1)
    assert resumed.ok and resumed.windows_skipped == done
    first = dt.datetime(2025, 12, 8, tzinfo=dt.UTC)
    assert len(timestamps("QQQ")) == int((MARKET_OPEN_AT + dt.timedelta(seconds=31) - first) / FIVE_MINUTES) + 1


def test_backfill_command_prints_totals(devfeed, market_open):
    out = StringIO()
    call_command("backfill_wordpress", days=1, symbol=["nvda"], window_days=1, no_progress=True, stdout=out)
    assert "backfill: rows=" in out.getvalue() and "windows=2" in out.getvalue()

    with pytest.raises(CommandError, match="unknown_symbol"):
        call_command("backfill_wordpress", days=1, symbol=["AAPL"], no_progress=True, stdout=StringIO())


def test_one_backfill_at_a_time(devfeed, market_open):
    with cache_lock(backfill_lock_name(), ttl=60, owner="a running backfill") as held:
        report = backfill_run(days=1, tickers=["NVDA"], window_days=1)
        assert held.owned()
        with pytest.raises(CommandError, match="backfill_running: another backfill is running"):
            call_command("backfill_wordpress", days=1, no_progress=True, stdout=StringIO())
    assert report.error.code == "backfill_running" and "a running backfill" in report.error.message
    assert devfeed.requests == 0 and PriceSample.objects.count() == 0 and BackfillWindow.objects.count() == 0


def test_a_backfill_holds_and_renews_its_lock_window_after_window(devfeed, market_open):
    rivals = []

    def on_window(window, report) -> None:
        rivals.append(CacheLock(backfill_lock_name(), ttl=60, owner="rival").acquire())

    report = backfill_run(days=2, tickers=["NVDA"], window_days=1, on_window=on_window)
    assert report.ok and rivals == [False, False, False]
    after = CacheLock(backfill_lock_name(), ttl=60)
    assert after.acquire()  # released at the end
    after.release()


def test_a_backfill_whose_lock_was_taken_over_stops(devfeed, market_open):
    rival = CacheLock(backfill_lock_name(), ttl=60, owner="rival")

    def on_window(window, report) -> None:
        assert rival.acquire(stale=lambda owner: True)  # as if our lease had run out and another took it

    report = backfill_run(days=2, tickers=["NVDA"], window_days=1, on_window=on_window)
    assert report.error.code == "backfill_lock_lost"
    assert report.windows == 2  # the window written when the loss was seen counts; no further one
    assert rival.owned()
    rival.release()


def test_poll_command_prints_counts_and_fails_loudly(devfeed, market_open):
    out = StringIO()
    call_command("poll_wordpress", stdout=out)
    assert "stored=4" in out.getvalue()
    devfeed.fault("wp_error")
    with pytest.raises(CommandError, match="invalid_request"):
        call_command("poll_wordpress", stdout=StringIO())


def test_poll_command_takes_the_poll_lock(devfeed, market_open):
    with cache_lock(poll_lock_name(), ttl=60, owner="a running worker"):
        out = StringIO()
        call_command("poll_wordpress", stdout=out)
    assert out.getvalue() == "skipped: another poll is running\n"
    assert devfeed.requests == 0 and PriceSample.objects.count() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_backfill_with_two_pipelines_stores_the_same(devfeed, market_open):
    report = backfill_run(days=2, tickers=["TSLA", "SPY"], window_days=1, workers=2)
    assert report.ok, report.summary()
    first = dt.datetime(2025, 12, 14, tzinfo=dt.UTC)
    expected = int((MARKET_OPEN_AT - first) / FIVE_MINUTES) + 1
    assert (report.stored, report.windows) == (2 * expected, 6)
    assert len(timestamps("TSLA")) == len(timestamps("SPY")) == expected
    assert BackfillWindow.objects.count() == 4


def test_pipelines_share_the_plan_by_symbol_so_two_transactions_never_wait_on_one_symbol():
    """Each symbol's windows go to one pipeline, oldest first (its bar-close marks are row-locked per symbol);
    with fewer symbols than pipelines the windows are dealt out one by one."""
    day = dt.timedelta(days=1)
    start = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
    symbols = [Symbol(pk=pk, ticker=ticker) for pk, ticker in enumerate(["NVDA", "QQQ", "SPY", "TSLA"], 1)]
    plan = [Window(symbol, start + i * day, start + (i + 1) * day) for symbol in symbols for i in range(3)]
    plan.append(Window(symbols[0], start + 3 * day, start + 4 * day))  # NVDA has one window more
    shares = _shares(plan, 2)
    owners = {w.symbol.ticker: i for i, share in enumerate(shares) for w in share}
    assert sorted(len(share) for share in shares) == [6, 7]
    for i, share in enumerate(shares):
        assert all(owners[w.symbol.ticker] == i for w in share)
        for ticker in {w.symbol.ticker for w in share}:
            starts = [w.start for w in share if w.symbol.ticker == ticker]
            assert starts == sorted(starts)
    dealt = sorted((w.symbol.ticker, w.start) for share in shares for w in share)
    assert dealt == sorted((w.symbol.ticker, w.start) for w in plan)  # every window once
    one = [w for w in plan if w.symbol.ticker == "SPY"]
    assert _shares(one, 2) == [one[0::2], one[1::2]]


def test_a_backfill_announces_its_bars_as_not_live_and_the_next_poll_only_new_ones(
    devfeed, market_open, heard, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = backfill_run(days=1, tickers=["TSLA"], window_days=1)
    assert report.ok, report.summary()
    bars = [e for e in heard if e["type"] == "bar_closed"]
    assert bars and {e["live"] for e in bars} == {False}  # history never reaches a strategy as live
    # Every bar but the newest of each timeframe (holding the last sample, 15:30) has its closing sample.
    assert len(bars) == Bar.objects.filter(symbol__ticker="TSLA").count() - 5
    assert len({(e["timeframe"], e["start"]) for e in bars}) == len(bars)
    heard.clear()

    market_open.shift(FIVE_MINUTES)
    with django_capture_on_commit_callbacks(execute=True):
        assert stock_data_poll().ok
    closed = [(e["symbol"], e["timeframe"], e["start"], e["live"]) for e in heard if e["type"] == "bar_closed"]
    assert closed == [("TSLA", "1Min", MARKET_OPEN_AT, True), ("TSLA", "5Min", MARKET_OPEN_AT, True)]
