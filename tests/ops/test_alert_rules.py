"""The shipped Prometheus rules parse, pass `promtool check rules`, and fire as their unit tests expect."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REQUIRE_SERVICES

RULES_DIR = Path(__file__).resolve().parents[2] / "tradingrobot" / "ops" / "prometheus"
CONDITIONS = {
    "TradingRobotWordPressDown",
    "TradingRobotDataStale",
    "TradingRobotHighErrorRate",
    "TradingRobotOutboxBacklogGrowing",
    "TradingRobotTradingHalted",
    "TradingRobotLiquidationIncomplete",
    "TradingRobotPriceQuarantined",
}


def test_rules_file_is_yaml_with_every_condition():
    document = yaml.safe_load((RULES_DIR / "alerts.yml").read_text())
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    names = {rule["alert"] for rule in rules}
    assert names >= CONDITIONS
    for rule in rules:
        assert rule["expr"].strip() and rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]


@pytest.fixture
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but promtool is missing (apt-get install prometheus)")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    return path


def test_promtool_checks_the_rules(promtool):
    done = subprocess.run(  # noqa: S603 - promtool from PATH
        [promtool, "check", "rules", "alerts.yml"], cwd=RULES_DIR, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 11 rules found" in done.stdout


def test_promtool_unit_tests_the_rules(promtool):
    """Series that should fire each alert (and some that should not), evaluated by Prometheus's own engine."""
    done = subprocess.run(  # noqa: S603 - promtool from PATH
        [promtool, "test", "rules", "alerts_test.yml"], cwd=RULES_DIR, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
