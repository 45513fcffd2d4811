import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from rest_framework.renderers import JSONRenderer

from portfolio.equity import equity_snapshot_take
from trading.metrics import sharpe
from trading.models import OutboxMessage
from trading.performance import performance_compute, performance_push_enqueue, performance_report
from trading.performance_json import performance_data
from trading.serializers import PerformanceOut

from ..conftest import MARKET_OPEN_AT


@pytest.fixture
def traded(priced, place, add_price):
    """Buy 10 at 250; sell 4 at 260 (+40); sell 3 at 240 (-30); 3 left, marked at 240 (-30 unrealized)."""
    place(qty="10")
    add_price("TSLA", "260", MARKET_OPEN_AT - dt.timedelta(seconds=30))
    place(side="sell", qty="4")
    add_price("TSLA", "240", MARKET_OPEN_AT - dt.timedelta(seconds=10))
    place(side="sell", qty="3")


def test_overall_metrics_from_the_ledger(traded):
    m = performance_compute()
    assert (m.realized_pnl, m.unrealized_pnl, m.total_pnl) == (Decimal("10"), Decimal("-30"), Decimal("-20"))
    assert (m.total_trades, m.winning_trades, m.losing_trades, m.win_rate) == (3, 1, 1, 50.0)
    assert m.profit_factor == 1.3333
    assert m.avg_return == 0.0  # +4 % and -4 %
    assert (m.daily_pnl, m.monthly_pnl) == (Decimal("-20"), Decimal("-20"))
    assert m.roi == -0.02
    assert m.max_drawdown == 0.02
    assert m.sharpe_ratio is None and m.cagr is None  # under 90 days of curve


def test_per_strategy_metrics_are_realized_only(traded, place):
    m = performance_compute(strategy_id="STRATEGY-TSLA")
    assert (m.total_pnl, m.unrealized_pnl, m.total_trades) == (Decimal("10"), Decimal("0"), 3)
    assert m.max_drawdown == 0.0  # 100,040 down to 100,010 within the day: daily closes only (issue 13 item 8)
    assert m.roi == 0.01
    assert performance_compute(strategy_id="NONE").total_trades == 0


def test_no_trades_yet(account, market_open):
    m = performance_compute()
    assert (m.total_trades, m.win_rate, m.profit_factor, m.avg_return, m.roi) == (0, None, None, None, 0.0)


def test_sharpe_from_daily_closes():
    day = dt.datetime(2025, 12, 15, 20, 0, tzinfo=dt.UTC)
    curve = [
        (day, Decimal("100000")),
        (day + dt.timedelta(hours=1), Decimal("100000")),  # same day: the last value counts
        (day + dt.timedelta(days=1), Decimal("101000")),
        (day + dt.timedelta(days=2), Decimal("100495")),
    ]
    # returns +1 % and -0.5 %: mean 0.25 %, sample stdev 1.0607 %, times sqrt(252)
    times = np.array([np.datetime64(at.replace(tzinfo=None), "s") for at, _ in curve])
    assert sharpe(times, np.array([float(v) for _, v in curve])) == 3.7417


def test_equity_snapshots_shape_the_drawdown(traded, time_machine):
    equity_snapshot_take()
    m = performance_compute()
    assert m.max_drawdown == 0.02


def test_performance_api(api, traded):
    body = api.get("/api/performance").json()
    assert body["strategy_id"] == "ALL"
    assert body["metrics"]["total_pnl"] == -20.0 and body["metrics"]["win_rate"] == 50.0
    assert [s["strategy_id"] for s in body["strategies"]] == ["STRATEGY-TSLA"]
    one = api.get("/api/performance?strategy_id=STRATEGY-TSLA").json()
    assert one["metrics"]["total_pnl"] == 10.0 and "strategies" not in one
    missing = api.get("/api/performance?strategy_id=NOPE")
    assert missing.status_code == 404 and "STRATEGY-TSLA" in missing.json()["message"]


@pytest.mark.parametrize("strategy_id", ["", "ALL", "STRATEGY-TSLA"])
def test_the_prepared_json_is_the_serializers(traded, strategy_id):
    report = performance_report(strategy_id=strategy_id)
    assert report["metrics"]["sharpe_ratio"] is None  # a null rendered too
    expected = JSONRenderer().render(PerformanceOut(report).data)
    assert JSONRenderer().render(performance_data(report)) == expected
    assert ("strategies" in performance_data(report)) == (strategy_id == "")


def test_metrics_queued_for_wordpress(traded):
    assert performance_push_enqueue() == 2  # the account and STRATEGY-TSLA
    documents = [m.payload for m in OutboxMessage.objects.filter(kind="performance").order_by("id")]
    assert [d["strategy_id"] for d in documents] == ["ALL", "STRATEGY-TSLA"]
    assert set(documents[0]["metrics"]) >= {
        "total_pnl",
        "win_rate",
        "sharpe_ratio",
        "max_drawdown",
        "total_trades",
        "winning_trades",
        "losing_trades",
    }
    assert performance_push_enqueue() == 2  # same instant: the same records, not new ones
    assert OutboxMessage.objects.filter(kind="performance").count() == 2
