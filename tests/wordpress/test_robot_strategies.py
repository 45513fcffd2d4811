"""The robot's strategy list reaches the real site: enabled in the robot -> `active` in the site's /strategies
after the next delivery; disabled -> `inactive` after the one after (real WordPress, real robot, real outbox)."""

import pytest

pytestmark = pytest.mark.slow

CREATE = (
    "from trading.engine.services import strategy_create; "
    "from trading.models import Strategy; "
    "Strategy.objects.filter(strategy_id='STRATEGY-WPTEST').exists() or "
    "strategy_create(strategy_id='STRATEGY-WPTEST', ticker='NVDA', by='tests')"
)


def site_entry(wordpress) -> dict:
    answer = wordpress.rest("GET", "/strategies")
    assert answer.status_code == 200, answer.text
    listed = {s["strategy_id"]: s for s in answer.json()["strategies"]}
    assert "STRATEGY-WPTEST" in listed, sorted(listed)
    return listed["STRATEGY-WPTEST"]


def toggle(robot, enabled: bool) -> None:
    answer = robot.api("PATCH", "/api/strategies/STRATEGY-WPTEST", json={"enabled": enabled, "mode": "signal"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["enabled"] is enabled


def test_enabling_a_strategy_in_the_robot_shows_it_active_on_the_site(wordpress, robot_up):
    robot_up.manage("shell", "-c", CREATE)
    robot_up.manage("pushback_deliver")
    toggle(robot_up, True)
    report = robot_up.manage("pushback_deliver")
    assert "failed 0" in report, report
    entry = site_entry(wordpress)
    assert (entry["status"], entry["enabled"], entry["mode"]) == ("active", True, "signal")
    assert (entry["symbol"], entry["kind"], entry["timeframe"]) == ("NVDA", "sma_crossover", "5Min")
    assert entry["current_price"] is None or isinstance(entry["current_price"], str)

    toggle(robot_up, False)
    assert "failed 0" in robot_up.manage("pushback_deliver")
    entry = site_entry(wordpress)
    assert (entry["status"], entry["enabled"]) == ("inactive", False)
