"""Issue 13 item 8: /api/performance does bounded work: daily closes, grouped queries, a bounded list, a memo."""

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolio.equity import equity_snapshot_take
from portfolio.ledger import account_get_or_create
from portfolio.models import EquityClose, EquitySnapshot
from trading.performance import (
    account_closes,
    account_fills,
    performance_compute,
    performance_memo,
    performance_report,
    strategy_memo,
    strategy_summaries,
)
from trading.performance_fills import fill_summaries
from trading.performance_state import fills_version_bump
from trading.performance_summaries import summary_fold
from tradingrobot.snapshot_cache import ledger_version_bump

from ..conftest import MARKET_OPEN_AT


def test_one_close_a_day_is_kept_beside_the_snapshots(priced, place, add_price, time_machine):
    place(qty="10")  # 10 TSLA at 250
    for day, hour, price in [(0, 0, "250"), (0, 3, "200"), (1, 0, "240"), (1, 2, "230"), (2, 0, "260")]:
        at = MARKET_OPEN_AT + dt.timedelta(days=day, hours=hour)
        time_machine.move_to(at, tick=False)
        add_price("TSLA", price, at - dt.timedelta(seconds=1))
        equity_snapshot_take()
    assert EquitySnapshot.objects.count() == 5
    closes = list(EquityClose.objects.order_by("day").values_list("equity", flat=True))
    assert closes == [Decimal("99500"), Decimal("99800"), Decimal("100100")]  # 97,500 cash + 10 x the day's last
    m = performance_compute()
    # start 100,000 -> closes 99,500 / 99,800 / 100,100 -> now 100,100; the intraday 99,500 of day 1 would not count
    assert m.max_drawdown == 0.5


def test_a_strategys_curve_closes_each_day(priced, place, add_price, time_machine):
    place(qty="10", strategy_id="S-1")
    add_price("TSLA", "240", MARKET_OPEN_AT)
    time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(seconds=1), tick=False)
    place(side="sell", qty="5", strategy_id="S-1")  # -50 realized
    next_day = MARKET_OPEN_AT + dt.timedelta(days=1)
    add_price("TSLA", "260", next_day)
    time_machine.move_to(next_day + dt.timedelta(seconds=1), tick=False)
    place(side="sell", qty="5", strategy_id="S-1")  # +50
    m = performance_compute(strategy_id="S-1")
    assert (m.total_trades, m.winning_trades, m.losing_trades) == (3, 1, 1)
    assert m.realized_pnl == 0  # -50 + 50 (no commission in the test settings)
    assert m.max_drawdown == 0.05  # 100,000 -> 99,950 at the first day's close


def _traded_strategies(place, count: int) -> None:
    for i in range(count):
        place(qty="1", strategy_id=f"S-{i:02d}")
        place(side="sell", qty="1", strategy_id=f"S-{i:02d}")


def _fills_announced() -> None:
    """What order_filled makes the listeners do (tests/: on_commit callbacks do not run)."""
    ledger_version_bump()
    fills_version_bump()


def _queries(build) -> int:
    with CaptureQueriesContext(connection) as captured:
        build()
    return len(captured.captured_queries)


def test_the_report_costs_the_same_queries_for_two_or_twelve_strategies(priced, place):
    _traded_strategies(place, 2)
    two = _queries(performance_report)
    _traded_strategies(place, 12)
    twelve = _queries(performance_report)
    assert len(performance_report()["strategies"]) == 12
    assert twelve == two


def test_the_strategies_listed_are_bounded_to_the_most_recently_traded(priced, place, time_machine, settings):
    settings.PERFORMANCE_MAX_STRATEGIES = 2
    for i, strategy in enumerate(["S-C", "S-A", "S-B"]):
        time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(seconds=i), tick=False)
        place(qty="1", strategy_id=strategy)
    assert [s["strategy_id"] for s in performance_report()["strategies"]] == ["S-A", "S-B"]
    assert performance_report(strategy_id="S-C")["strategy_id"] == "S-C"  # still answered on its own


@pytest.fixture
def memo_on(settings):
    settings.PERFORMANCE_CACHE_SECONDS = 60
    for memo in (performance_memo, strategy_memo, account_fills, strategy_summaries, account_closes):
        memo.clear()
    yield
    for memo in (performance_memo, strategy_memo, account_fills, strategy_summaries, account_closes):
        memo.clear()


def test_the_report_is_memoized_per_ledger_version(priced, place, memo_on):
    place(qty="1")
    first = performance_report()
    assert _queries(performance_report) == 0
    assert performance_report() is first
    ledger_version_bump()
    assert _queries(performance_report) > 0
    assert performance_report() is not first


def test_a_new_version_recomputes_only_the_strategies_whose_fills_changed(priced, place, memo_on):
    _traded_strategies(place, 3)
    before = {s["strategy_id"]: s["metrics"] for s in performance_report()["strategies"]}
    ledger_version_bump()
    reused = _queries(performance_report)  # nothing traded: every strategy's metrics reused
    place(qty="1", strategy_id="S-01")
    _fills_announced()
    with CaptureQueriesContext(connection) as captured:
        after = {s["strategy_id"]: s["metrics"] for s in performance_report()["strategies"]}
    assert len(captured.captured_queries) > reused
    assert (before["S-01"]["total_trades"], after["S-01"]["total_trades"]) == (2, 3)
    assert after["S-00"] == before["S-00"] and after["S-02"] == before["S-02"]


def test_new_fills_are_folded_into_the_account_totals_as_a_full_read_would_count_them(priced, place, memo_on, settings):
    _traded_strategies(place, 3)
    performance_report()
    place(qty="2", strategy_id="S-01")
    place(side="sell", qty="1", strategy_id="S-02")
    place(side="sell", qty="1")  # the manual book: no strategy
    _fills_announced()
    folded = performance_report()
    settings.PERFORMANCE_CACHE_SECONDS = 0
    fresh = performance_report()
    assert folded["metrics"] == fresh["metrics"]
    assert folded["metrics"]["total_trades"] == 9
    assert folded["strategies"] == fresh["strategies"]


def test_a_price_write_reads_no_fills_and_a_fill_only_the_new_ones(priced, place, memo_on):
    _traded_strategies(place, 3)
    performance_report()
    ledger_version_bump()  # as a price write: the fills version stands
    with CaptureQueriesContext(connection) as captured:
        performance_report()
    assert not [q for q in captured.captured_queries if "trading_fill" in q["sql"]]
    price_write = len(captured.captured_queries)
    place(qty="1", strategy_id="S-01")
    _fills_announced()
    # the fills' totals and the new fills (folded into the strategy's summary too): no strategy re-read
    assert _queries(performance_report) == price_write + 2


def test_strategy_summaries_folded_across_days_as_a_full_read_would_count_them(
    priced, place, add_price, memo_on, settings, time_machine
):
    _traded_strategies(place, 2)
    performance_report()
    for days in (1, 2):
        time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(days=days, minutes=1))
        add_price("TSLA", "251", MARKET_OPEN_AT + dt.timedelta(days=days))
        place(qty="1", strategy_id="S-01")
        place(side="sell", qty="1", strategy_id="S-01")
        _fills_announced()
        folded = performance_report()
    settings.PERFORMANCE_CACHE_SECONDS = 0
    assert folded["strategies"] == performance_report()["strategies"]
    assert [s["metrics"]["total_trades"] for s in folded["strategies"]] == [2, 6]


def test_a_fill_before_the_summarys_last_day_is_not_folded(priced, place, account):
    from market.clock import market_clock

    place(qty="1", strategy_id="S-00")
    summary = fill_summaries(account, ["S-00"], market_clock().tz)["S-00"]
    earlier = summary.days[-1][0] - dt.timedelta(days=1)
    row = (10**9, "S-00", "sell", Decimal(1), Decimal(250), Decimal(1), Decimal(3), earlier)
    assert summary_fold(summary, [row], market_clock().tz) is None
    later = summary_fold(summary, [(*row[:-1], summary.days[-1][0])], market_clock().tz)
    assert later is not None and (later.fills, later.realized, later.stats.count) == (2, summary.realized + 3, 1)


def test_the_closes_are_read_from_the_last_day_held_on_and_all_again_after_the_max_age(
    priced, place, memo_on, settings, time_machine
):
    place(qty="1")
    for days in range(3):
        time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(days=days, minutes=1))
        equity_snapshot_take()
    account = account_get_or_create()
    assert [c[1] for c in account_closes.get(account)] == [c.equity for c in EquityClose.objects.order_by("day")]
    time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(days=2, minutes=2))
    equity_snapshot_take()  # today's close rewritten
    time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(days=3, minutes=1))
    equity_snapshot_take()  # a new day
    first = EquityClose.objects.order_by("day").first()
    assert first is not None
    EquityClose.objects.filter(pk=first.pk).update(equity=Decimal("1"))  # not how closes change
    with CaptureQueriesContext(connection) as captured:
        closes = account_closes.get(account)
    assert "day" in captured.captured_queries[0]["sql"] and len(closes) == 4
    expected = [(c.at, c.equity) for c in EquityClose.objects.order_by("day")]
    assert closes[1:] == expected[1:] and closes[0] != expected[0]  # an earlier day's close is taken as final
    settings.PERFORMANCE_CACHE_SECONDS = 0.001
    time.sleep(0.002)
    assert account_closes.get(account) == expected  # past the max age: all read again


def test_totals_that_do_not_add_up_are_read_again(priced, place, memo_on, settings):
    from trading.models import Fill

    _traded_strategies(place, 2)
    performance_report()
    Fill.objects.filter(pk=Fill.objects.filter(side="sell").order_by("id").values("pk")[:1]).update(
        realized_pl=Decimal("-7")
    )  # not how fills change; stands for anything the folding did not see
    _fills_announced()
    seen = performance_report()["metrics"]
    settings.PERFORMANCE_CACHE_SECONDS = 0
    assert seen == performance_report()["metrics"]
    assert seen["losing_trades"] == 1
