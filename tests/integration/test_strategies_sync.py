"""The site's /strategies read into ours, against the development feed (a real HTTP server on loopback)."""

import pytest
from django.core.management import CommandError, call_command

from integration.strategies_sync import strategies_sync
from trading.engine.services import strategy_update
from trading.models import Strategy
from tradingrobot.settings.celery import CELERY_BEAT_SCHEDULE

pytestmark = pytest.mark.django_db


def rows() -> dict[str, tuple]:
    return {
        s.strategy_id: (s.symbol.ticker, s.kind, s.params, s.enabled, s.site_status)
        for s in Strategy.objects.select_related("symbol")
    }


def test_each_listed_id_gets_a_disabled_sma_crossover_on_its_symbol_with_the_site_status(devfeed):
    report = strategies_sync()
    assert report.ok, report.error
    assert (report.listed, sorted(report.created), report.updated) == (
        4,
        ["STRATEGY-NVDA", "STRATEGY-QQQ", "STRATEGY-SPY", "STRATEGY-TSLA"],
        [],
    )
    assert rows()["STRATEGY-TSLA"] == ("TSLA", "sma_crossover", {"fast": 10, "slow": 30}, False, "active")
    assert {row[3] for row in rows().values()} == {False}  # the site says active: we still enable nothing


def test_a_second_sync_creates_nothing_records_a_changed_status_and_never_enables(devfeed):
    strategies_sync()
    strategy_update(strategy_id="STRATEGY-QQQ", changes={"params": {"fast": 5, "slow": 50}}, by="tests")
    devfeed.fault("ok", strategy_status={"QQQ": "paused"})
    report = strategies_sync()
    assert (report.created, report.updated) == ([], ["STRATEGY-QQQ"])
    assert rows()["STRATEGY-QQQ"] == ("QQQ", "sma_crossover", {"fast": 5, "slow": 50}, False, "paused")
    assert strategies_sync().updated == []


def test_an_enabled_strategy_stays_as_the_operator_left_it(devfeed):
    strategies_sync()
    strategy_update(strategy_id="STRATEGY-TSLA", changes={"enabled": True, "mode": "signal"}, by="tests")
    devfeed.fault("ok", strategy_status={"TSLA": "inactive"})
    strategies_sync()
    tsla = Strategy.objects.get(strategy_id="STRATEGY-TSLA")
    assert (tsla.enabled, tsla.mode, tsla.site_status) == (True, "signal", "inactive")


@pytest.mark.parametrize("mode", ["http500", "critical", "nonjson", "bad_shape", "wp_error"])
def test_a_failed_read_changes_nothing(devfeed, mode):
    devfeed.fault(mode)
    report = strategies_sync()
    assert not report.ok and report.error
    assert rows() == {}


def test_the_command_prints_what_it_did_and_fails_loudly(devfeed, capsys):
    call_command("strategies_sync")
    out = capsys.readouterr().out
    assert "listed 4, created 4 (disabled)" in out and "created STRATEGY-TSLA (disabled)" in out
    devfeed.fault("http500")
    with pytest.raises(CommandError, match="strategies sync failed"):
        call_command("strategies_sync")


def test_beat_runs_the_sync_on_a_schedule():
    entry = CELERY_BEAT_SCHEDULE["strategies-sync"]
    assert entry["task"] == "integration.tasks.strategies_sync"
    assert entry["schedule"] == 900.0
