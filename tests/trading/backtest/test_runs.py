"""Backtest runs end to end: the API (202, worker, detail, report, PNG), the command, sweeps, bad input (400 or
a command error, nothing stored), a failed run stored as failed with no report, the report's drawdown panel."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from market.models import Bar
from trading.backtest import services
from trading.backtest.data import bars_load
from trading.backtest.models import BacktestRun
from trading.backtest.report import DRAWDOWN_LABEL, report_figure
from trading.backtest.request import backtest_request_parse
from tradingrobot.celery import app as celery_app

SYNTHETIC = {
    "kind": "sma_crossover",
    "symbols": ["TSLA", "NVDA"],
    "timeframe": "5Min",
    "params": {"fast": 10, "slow": 30},
    "start": "2026-03-02",
    "end": "2026-03-13",
    "data": "synthetic",
    "seed": 3,
}


@pytest.fixture(autouse=True)
def report_dir(settings, tmp_path):
    settings.BACKTEST_REPORT_DIR = tmp_path / "backtests"
    return settings.BACKTEST_REPORT_DIR


@pytest.fixture
def eager():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def _no_nan(text: str):
    def refuse(name):
        raise AssertionError(f"{name} in JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_api_runs_a_backtest_on_the_worker_and_serves_the_report(api, eager):
    response = api.post("/api/backtests", SYNTHETIC, format="json")
    assert response.status_code == 202, response.content
    run_id = response.json()["id"]
    assert response.json()["status"] == "queued"

    detail = api.get(f"/api/backtests/{run_id}")
    body = _no_nan(detail.content)
    assert detail.status_code == 200 and body["status"] == "done" and body["progress"] == 100.0
    assert body["metrics"]["total_trades"] == len(body["trades"]) > 0
    assert body["params"]["slippage_bps"] == "2" and body["params"]["commission"] == "0.005"  # costs not zero
    html = api.get(body["report_url"])
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    page = b"".join(html.streaming_content).decode()
    assert "data:image/png;base64," in page and "max_drawdown" in page
    png = api.get(body["equity_png_url"])
    assert png.status_code == 200 and b"".join(png.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"
    report = _no_nan(Path(BacktestRun.objects.get(pk=run_id).report_paths["report.json"]).read_text())
    assert report["constants"]["sharpe_annualisation"] == math.sqrt(252)
    assert report["metrics"]["max_drawdown"] == round(-min(report["equity_curve"]["drawdown_pct"]), 4)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_api_sweep_ranks_every_combination(api, eager):
    body = {**SYNTHETIC, "symbols": ["TSLA"], "grid": {"fast": [5, 10], "slow": [30, 50]}, "rank_by": "total_pnl"}
    response = api.post("/api/backtests", body, format="json")
    assert response.status_code == 202, response.content
    run = api.get(f"/api/backtests/{response.json()['id']}").json()
    assert run["status"] == "done" and run["combinations"] == 4
    pnl = [row["metrics"]["total_pnl"] for row in run["ranking"]]
    assert len(pnl) == 4 and pnl == sorted(pnl, reverse=True)
    assert {tuple(sorted(row["params"].items())) for row in run["ranking"]} == {
        (("fast", f), ("slow", s)) for f in (5, 10) for s in (30, 50)
    }


BAD = [
    ({"kind": "nope"}, "unknown_strategy_kind", "sma_crossover"),
    ({"end": "2026-03-01"}, "invalid_backtest", "before start"),
    ({"start": "2026-03-07", "end": "2026-03-08"}, "backtest_no_data", "No 5Min bars"),  # a weekend
    ({"params": {"fast": 1, "slow": 30}}, "invalid_strategy_params", "fast"),
    ({"params": {"fast": 40, "slow": 30}}, "invalid_strategy_params", "less than slow"),
    ({"grid": {"fast": list(range(2, 30)), "slow": list(range(31, 50))}}, "grid_too_large", "maximum of 400"),
    ({"timeframe": "2Min"}, "invalid_backtest", "timeframe"),
    ({"start": "1900-01-01"}, "invalid_backtest", "at most 3660 days"),
    ({"symbols": ["TSLA", "BAD TICK"]}, "invalid_backtest", "symbols"),
    ({"slippage_bps": "-1"}, "invalid_backtest", "slippage_bps"),
    ({"data": "store", "symbols": ["TSLA", "ZZZZ"]}, "invalid_backtest", "ZZZZ not in the price store"),
]


@pytest.mark.parametrize(("change", "code", "says"), BAD)
def test_api_bad_input_is_a_400_saying_what_to_fix_and_stores_nothing(api, change, code, says):
    response = api.post("/api/backtests", {**SYNTHETIC, **change}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code and says in response.json()["message"]
    assert BacktestRun.objects.count() == 0


@pytest.mark.django_db
def test_api_needs_the_admin_scope_and_unknown_runs_are_404(anon_api, api):
    assert anon_api.post("/api/backtests", SYNTHETIC, format="json").status_code == 401
    assert api.get("/api/backtests/999").json()["code"] == "backtest_not_found"


@pytest.mark.django_db
def test_a_run_whose_data_is_gone_is_stored_failed_with_the_reason_and_no_report(report_dir):
    call_command("load_synthetic", "--symbols", "TSLA", "--start", "2026-03-02", "--end", "2026-03-04", "--seed", "1")
    run = services.backtest_create(raw={**SYNTHETIC, "symbols": ["TSLA"], "data": "store", "end": "2026-03-04"})
    Bar.objects.all().delete()
    run = services.backtest_execute(run_id=run.pk)
    assert run.status == "failed" and "No 5Min bars for TSLA" in run.reason
    assert run.metrics is None and run.report_paths is None
    assert not report_dir.exists() or not any(report_dir.iterdir())
    assert services.backtest_execute(run_id=run.pk).status == "failed"  # a redelivery changes nothing


@pytest.mark.django_db
def test_store_data_gives_the_same_fills_as_the_generator_it_was_loaded_from():
    call_command("load_synthetic", "--symbols", "TSLA", "--start", "2026-03-02", "--end", "2026-03-06", "--seed", "5")
    common = {**SYNTHETIC, "symbols": ["TSLA"], "end": "2026-03-06", "seed": 5}
    store = bars_load(request=backtest_request_parse(raw={**common, "data": "store"}))["TSLA"]
    synthetic = bars_load(request=backtest_request_parse(raw={**common, "data": "synthetic"}))["TSLA"]
    assert np.array_equal(store.timestamps, synthetic.timestamps)
    assert np.allclose(store.open, synthetic.open) and np.allclose(store.close, synthetic.close)


@pytest.mark.django_db
def test_command_prints_the_metrics_table_and_the_report_paths(capsys):
    call_command(
        "backtest", "--kind", "sma_crossover", "--symbol", "TSLA", "--params", "fast=10,slow=30",
        "--start", "2026-03-02", "--end", "2026-03-06", "--data", "synthetic", "--seed", "7",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "max_drawdown" in out and "report.html: " in out and "equity.png: " in out
    run = BacktestRun.objects.get()
    assert run.status == "done" and run.metrics["total_trades"] > 0


@pytest.mark.django_db
def test_command_sweep_prints_the_ranked_table(capsys):
    call_command(
        "backtest", "--kind", "sma_crossover", "--symbol", "TSLA", "--grid", "fast=5,10", "slow=30,50",
        "--start", "2026-03-02", "--end", "2026-03-06", "--data", "synthetic", "--processes", "2",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "4 combinations in" in out and "fast=5,slow=30" in out


FAST_21 = "fast=" + ",".join(str(v) for v in range(2, 23))
SLOW_21 = "slow=" + ",".join(str(v) for v in range(31, 52))


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--kind", "nope", "--symbol", "TSLA"], "unknown_strategy_kind"),
        (["--kind", "sma_crossover", "--symbol", "TSLA", "--params", "fast"], "name=value"),
        (["--kind", "sma_crossover", "--symbol", "TSLA", "--params", "fast=600"], "between 2 and 500"),
        (["--kind", "sma_crossover", "--symbol", "TSLA", "--grid", FAST_21, SLOW_21], "grid_too_large"),
    ],
)  # fmt: skip
@pytest.mark.django_db
def test_command_errors_say_what_to_fix(args, says):
    with pytest.raises(CommandError, match=says):
        call_command("backtest", *args, "--start", "2026-03-02", "--end", "2026-03-06", "--data", "synthetic")
    assert BacktestRun.objects.count() == 0


@pytest.mark.django_db
def test_the_reported_max_drawdown_is_the_minimum_of_the_plotted_drawdown_series():
    request = backtest_request_parse(raw=SYNTHETIC)
    bars = bars_load(request=request)
    result = services.backtest_simulate(request=request, bars=bars)
    metrics = services.backtest_metrics(request=request, result=result)
    figure = report_figure(result=result, bars=bars)
    (panel,) = [ax for ax in figure.axes if ax.get_ylabel() == DRAWDOWN_LABEL]
    (line,) = panel.get_lines()
    plotted = np.asarray(line.get_ydata(), dtype=float)
    assert len(plotted) == len(result.times) and metrics.max_drawdown > 0
    assert metrics.max_drawdown == round(-float(plotted.min()), 4)


@pytest.mark.django_db
def test_admin_lists_runs_with_metrics_and_serves_the_report(admin_client):
    run = services.backtest_execute(run_id=services.backtest_create(raw=SYNTHETIC).pk)
    page = admin_client.get("/admin/backtest/backtestrun/").content.decode()
    assert f"/admin/backtest/backtestrun/{run.pk}/report/" in page and str(run.metrics["max_drawdown"]) in page
    report = admin_client.get(f"/admin/backtest/backtestrun/{run.pk}/report/")
    assert report.status_code == 200 and b"data:image/png;base64," in b"".join(report.streaming_content)


@pytest.mark.django_db
def test_command_takes_kind_symbol_and_params_from_a_strategy_row(capsys, symbols):
    from trading.engine.services import strategy_create

    strategy_create(strategy_id="STRATEGY-TSLA", ticker="TSLA", fields={"params": {"fast": 5, "slow": 15}}, by="test")
    call_command(
        "backtest", "--strategy", "STRATEGY-TSLA", "--start", "2026-03-02", "--end", "2026-03-06", "--data", "synthetic"
    )
    run = BacktestRun.objects.get()
    assert (run.params["kind"], run.params["symbols"], run.params["params"]) == (
        "sma_crossover",
        ["TSLA"],
        {"fast": 5, "slow": 15},
    )
    with pytest.raises(CommandError, match="strategy_not_found"):
        call_command("backtest", "--strategy", "NOPE", "--start", "2026-03-02", "--end", "2026-03-06")
