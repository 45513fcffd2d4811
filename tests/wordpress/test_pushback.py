"""A fill in the robot reaches the plugin's /trades through push-back, exactly once."""

from decimal import Decimal

import pytest

from .conftest import execute_trade

pytestmark = pytest.mark.slow


def test_fill_reaches_wordpress_trades_exactly_once(wordpress, robot_up):
    if not robot_up.has_command("pushback_deliver"):
        pytest.xfail("waits for the robot's `manage.py pushback_deliver` (issue 6)")
    result = execute_trade(wordpress, "TSLA", "buy", "5")
    assert result["status"] == "executed"
    order = robot_up.api("GET", f"/api/orders/{result['order']['id']}").json()
    assert len(order["fills"]) == 1
    fill = order["fills"][0]

    first = robot_up.manage("pushback_deliver")
    second = robot_up.manage("pushback_deliver")
    assert "failed 0" in first and "delivered 0" not in first, first
    assert second.strip() == "" or "delivered 0, failed 0" in second, second

    trades = wordpress.rest("GET", "/trades", params={"limit": 500}).json()["trades"]
    ids = [t["trade_id"] for t in trades]
    assert len(ids) == len(set(ids)), "a trade_id stored twice"
    mine = [
        t
        for t in trades
        if t["symbol"] == "TSLA"
        and t["side"] == "BUY"
        and Decimal(t["quantity"]) == Decimal(str(fill["qty"]))
        and Decimal(t["price"]) == Decimal(str(fill["price"]))
    ]
    assert len(mine) == 1, trades
    # Every fill the robot made is in WordPress once: as many trades as fills in the ledger.
    orders = robot_up.api("GET", "/api/orders", params={"status": "all", "limit": 500}).json()["orders"]
    fills = sum(len(robot_up.api("GET", f"/api/orders/{o['id']}").json()["fills"]) for o in orders)
    robot_trades = [t for t in trades if not t["trade_id"].startswith("T-")]  # T-… are the receiver tests' own
    assert len(robot_trades) == fills


def test_performance_reaches_wordpress(wordpress, robot_up):
    if not robot_up.has_command("pushback_deliver"):
        pytest.xfail("waits for the robot's `manage.py pushback_deliver` (issue 6)")
    assert execute_trade(wordpress, "QQQ", "buy", "1")["status"] == "executed"
    robot_up.manage(
        "shell", "-c", "from trading.performance import performance_push_enqueue; performance_push_enqueue()"
    )
    report = robot_up.manage("pushback_deliver")
    assert "failed 0" in report, report

    expected = robot_up.api("GET", "/api/performance").json()
    stored = wordpress.rest("GET", "/performance/ALL/metrics")
    assert stored.status_code == 200, stored.text
    document = stored.json()
    assert document["period_label"] == "all" and set(document["period"]) == {"start_date", "end_date"}
    metrics = expected.get("metrics", expected)
    assert int(document["metrics"]["total_trades"]) == metrics["total_trades"]
    assert Decimal(document["metrics"]["total_pnl"]) == Decimal(str(metrics["total_pnl"])).quantize(Decimal("0.0001"))
