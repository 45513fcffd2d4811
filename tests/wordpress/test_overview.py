"""The site's dashboard from real numbers: fills in the real robot, pushed with `pushback_deliver`, are what
`/dashboard/overview` shows, with the theme's stand-in (a must-use plugin) registering the same routes."""

import datetime as dt
import json
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from .conftest import FAKE_THEME_METRICS, drop_prefixed_tables, execute_trade
from .dashboard_js import OVERVIEW_METRICS, overview_problems, trades_problems

pytestmark = pytest.mark.slow

PRICES = {"TSLA": "250.5", "SPY": "600.25", "QQQ": "520", "NVDA": "140.75"}
FROM_DOCUMENT = ("avg_return", "sharpe_ratio", "max_drawdown", "daily_pnl", "monthly_pnl", "roi")
EMPTY_PREFIX = "wpnone_"


def four(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.0001"))


@pytest.fixture
def only_robot_trades(wordpress):
    """The receiver tests' own rows (trade ids other than the robot's TRP-…) out of the site's trade table, so the
    overview's totals are the robot's alone (those tests make their rows afresh each time)."""
    wordpress.php(
        "global $wpdb; $wpdb->query(\"DELETE FROM {$wpdb->prefix}trp_bridge_trades WHERE trade_id NOT LIKE 'TRP-%'\");"
        "trp_bridge_views_invalidate();"
    )


def fill_of(robot, result: dict) -> dict:
    assert result["status"] == "executed", result
    fills = robot.api("GET", f"/api/orders/{result['order']['id']}").json()["fills"]
    assert len(fills) == 1
    return fills[0]


def test_overview_shows_exactly_what_the_robot_pushed(wordpress, robot_up, only_robot_trades):
    if not robot_up.has_command("pushback_deliver"):
        pytest.xfail("waits for the robot's `manage.py pushback_deliver` (issue 6)")
    fill_of(robot_up, execute_trade(wordpress, "TSLA", "buy", "4"))
    try:
        robot_up.load_fresh_prices({"TSLA": "262.25"})
        fill_of(robot_up, execute_trade(wordpress, "TSLA", "sell", "2"))
        robot_up.load_fresh_prices({"TSLA": "238.5"})
        last = fill_of(robot_up, execute_trade(wordpress, "TSLA", "sell", "1"))
    finally:
        robot_up.load_fresh_prices(PRICES)
    assert "failed 0" in robot_up.manage("pushback_deliver")
    robot_up.manage(
        "shell", "-c", "from trading.performance import performance_push_enqueue; performance_push_enqueue()"
    )
    assert "failed 0" in robot_up.manage("pushback_deliver")
    expected = robot_up.api("GET", "/api/performance").json()["metrics"]
    assert expected["win_rate"] is not None and expected["losing_trades"] >= 1 and expected["winning_trades"] >= 1

    answer = wordpress.rest("GET", "/dashboard/overview")
    assert answer.status_code == 200, answer.text
    overview = answer.json()
    metrics = overview["metrics"]
    assert overview["source"] == "robot"
    assert metrics["total_trades"] == expected["total_trades"]
    assert four(metrics["total_pnl"]) == four(expected["total_pnl"])
    assert metrics["win_rate"] == expected["win_rate"]
    assert four(metrics["profit_factor"]) == four(expected["profit_factor"])
    for name in FROM_DOCUMENT:
        assert four(metrics[name]) == four(expected[name]), name
    # The most recent trade is the last fill, as the robot made it.
    recent = overview["recent_trades"][0]
    assert recent["trade_id"] == f"TRP-{robot_up.instance_id()}-{last['id']}"
    assert (recent["symbol"], recent["side"], Decimal(recent["quantity"])) == ("TSLA", "SELL", 1)
    assert Decimal(recent["price"]) == Decimal(str(last["price"]))
    listed = wordpress.rest("GET", "/trades", params={"limit": 10}).json()
    assert overview["recent_trades"] == listed["trades"]
    assert overview_problems(overview) == [] and trades_problems(listed) == []

    # Deactivated: the theme's made-up numbers are back; reactivated: the robot's again.
    wordpress.set_plugin_active(False)
    try:
        theirs = wordpress.rest("GET", "/dashboard/overview").json()
        assert theirs["metrics"] == FAKE_THEME_METRICS
    finally:
        wordpress.set_plugin_active(True)
    again = wordpress.rest("GET", "/dashboard/overview").json()
    assert again["metrics"] == metrics and again["recent_trades"] == overview["recent_trades"]


def test_overview_before_anything_was_pushed_says_so(wordpress):
    """A fresh site (a second table prefix in the same database, the theme's stand-in active there too)."""
    try:
        installed = json.loads(wordpress.php("", script="install_site.php", TRP_WP_TABLE_PREFIX=EMPTY_PREFIX))
        assert installed["plugin_active"]
        answers = wordpress.php_json(
            """
            $out = [];
            foreach (['/dashboard/overview', '/trades', '/strategies', '/performance/STRATEGY-TSLA/metrics'] as $r) {
                $out[$r] = rest_get_server()->response_to_data(rest_do_request('/tradingrobotplug/v1' . $r), false);
            }
            echo wp_json_encode($out);
            """,
            TRP_WP_TABLE_PREFIX=EMPTY_PREFIX,
        )
    finally:
        drop_prefixed_tables(EMPTY_PREFIX)
    overview = answers["/dashboard/overview"]
    assert overview["source"] == "none yet"
    assert overview["metrics"] == dict.fromkeys(OVERVIEW_METRICS, 0)
    assert overview["recent_trades"] == [] and overview["active_strategies"] == []
    assert overview_problems(overview) == []
    assert answers["/trades"]["source"] == "none yet" and answers["/trades"]["trades"] == []
    assert answers["/strategies"]["source"] == "none yet" and answers["/strategies"]["strategies"] == []
    metrics = answers["/performance/STRATEGY-TSLA/metrics"]
    assert metrics["source"] == "none yet" and set(metrics["metrics"].values()) == {"0.0000", "0"}


def a_pushed_trade(wordpress, **changes) -> dict:
    trade = {
        "trade_id": f"T-{uuid.uuid4().hex[:12]}",
        "strategy_id": "STRATEGY-QQQ",
        "symbol": "QQQ",
        "side": "SELL",
        "quantity": "1",
        "price": "520",
        "pnl": "3.5",
        "execution_time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **changes,
    }
    answer = wordpress.rest("POST", "/trades", user="robot", json=trade)
    assert answer.status_code == 201, answer.text
    return trade


def overview_query_counts(log: Path) -> list[int]:
    lines = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [line["queries"] for line in lines if "dashboard/overview" in line["uri"]]


def test_a_hundred_views_after_a_push_run_the_queries_once(wordpress, tmp_path):
    build = wordpress.php_json(
        """
        define('SAVEQUERIES', true);
        global $wpdb;
        $before = count((array) $wpdb->queries);
        trp_bridge_overview_build();
        $pattern = '/' . preg_quote($wpdb->prefix, '/')
            . '(trp_bridge_(trades|performance|strategies)|trp_stock_data)\\b/';
        echo wp_json_encode(count(preg_grep($pattern, array_column(array_slice((array) $wpdb->queries, $before), 0))));
        """
    )
    assert build >= 4  # the trades' aggregates, the recent trades, the account's metrics, the strategies
    log = tmp_path / "queries.jsonl"
    wordpress.set_options(trp_test_query_log=str(log))
    try:
        a_pushed_trade(wordpress)
        bodies = []
        for _ in range(100):
            answer = wordpress.rest("GET", "/dashboard/overview")
            assert answer.status_code == 200
            bodies.append({k: v for k, v in answer.json().items() if k != "timestamp"})
        assert overview_query_counts(log) == [build] + [0] * 99
        assert all(body == bodies[0] for body in bodies)

        pushed = a_pushed_trade(wordpress, pnl="-2.25")
        after = wordpress.rest("GET", "/dashboard/overview").json()
        assert overview_query_counts(log)[100:] == [build]
        assert after["metrics"]["total_trades"] == bodies[0]["metrics"]["total_trades"] + 1
        assert after["recent_trades"][0]["trade_id"] == pushed["trade_id"]
    finally:
        wordpress.set_options(trp_test_query_log=None)


def test_the_theme_answer_parses_too(wordpress):
    """The shape checker itself accepts what the theme's own script is written for (and rejects a string metric)."""
    wordpress.set_plugin_active(False)
    try:
        theirs = wordpress.rest("GET", "/dashboard/overview").json()
        their_trades = wordpress.rest("GET", "/trades").json()
    finally:
        wordpress.set_plugin_active(True)
    assert overview_problems(theirs) == [] and trades_problems(their_trades) == []
    broken = {**theirs, "metrics": {**theirs["metrics"], "sharpe_ratio": "1.2300"}}
    assert overview_problems(broken) == ["metrics.sharpe_ratio is '1.2300', not a JSON number"]
