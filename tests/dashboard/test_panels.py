"""The strategies and backtests panels' routes: /api/strategies and /api/backtests's own views with the session,
plus each strategy's P&L and a list of runs; the toggle and the start form need the halt permission and CSRF."""

import datetime as dt
from decimal import Decimal

import pytest

from portfolio.models import BookPosition
from trading.backtest import services as backtests
from trading.backtest.models import BacktestRun
from trading.engine.services import strategy_create
from trading.models import Order, Strategy
from trading.order_request import order_request_parse
from trading.services import order_place

from ..conftest import MARKET_OPEN_AT
from .test_access import csrf_of, logged_in

SYNTHETIC = {
    "kind": "sma_crossover",
    "symbols": ["TSLA"],
    "timeframe": "5Min",
    "params": {"fast": 10, "slow": 30},
    "start": "2026-03-02",
    "end": "2026-03-06",
    "data": "synthetic",
    "seed": 3,
}


@pytest.fixture(autouse=True)
def report_dir(settings, tmp_path):
    settings.BACKTEST_REPORT_DIR = tmp_path / "backtests"


@pytest.fixture
def operator(make_user):
    make_user("op", staff=True, halt=True)
    return logged_in("op", csrf_checks=True)


@pytest.fixture
def viewer(make_user):
    make_user("viewer", staff=True)
    return logged_in("viewer", csrf_checks=True)


@pytest.fixture
def strategy(symbols):
    return strategy_create(strategy_id="S-TSLA", ticker="TSLA", fields={"mode": "signal"}, by="tests")


def test_strategies_are_the_api_list_plus_each_strategys_pnl(operator, api, strategy, market_open, add_price):
    add_price("TSLA", "250", MARKET_OPEN_AT)
    for side, qty in (("buy", "3"), ("sell", "1")):
        request = order_request_parse(ticker="TSLA", side=side, qty=qty, strategy_id="S-TSLA")
        order, _ = order_place(request=request, placed_by="engine", source=Order.Source.STRATEGY)
        assert order.status == Order.Status.FILLED
    add_price("TSLA", "260", MARKET_OPEN_AT + dt.timedelta(minutes=1))
    book = BookPosition.objects.get(book="S-TSLA")
    expected = book.realized_pl + book.qty * Decimal("260") - book.cost_basis
    assert book.qty == 2 and expected != 0
    mine = operator.get("/dashboard/api/strategies").json()
    theirs = api.get("/api/strategies").json()
    (row,) = mine["strategies"]
    assert Decimal(row.pop("pnl")) == expected
    assert mine == theirs
    detail = operator.get("/dashboard/api/strategies/S-TSLA").json()
    assert (detail["strategy_id"], Decimal(detail["pnl"])) == ("S-TSLA", expected)


def test_a_strategy_that_never_traded_has_no_pnl(operator, strategy):
    (row,) = operator.get("/dashboard/api/strategies").json()["strategies"]
    assert (row["strategy_id"], row["enabled"], row["mode"], row["last_decision"], row["pnl"]) == (
        "S-TSLA",
        False,
        "signal",
        None,
        None,
    )


def test_toggle_with_the_halt_permission_and_csrf_enables_the_strategy(operator, strategy):
    token = csrf_of(operator)
    response = operator.patch(
        "/dashboard/api/strategies/S-TSLA", {"enabled": True}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["enabled"], response.json()["pnl"]) == (True, None)
    assert Strategy.objects.get(strategy_id="S-TSLA").enabled is True


def test_toggle_without_the_permission_or_without_csrf_changes_nothing(operator, viewer, strategy):
    token = csrf_of(viewer)
    refused = viewer.patch(
        "/dashboard/api/strategies/S-TSLA", {"enabled": True}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert refused.status_code == 403 and "trading.halt_trading" in refused.json()["message"]
    no_csrf = operator.patch("/dashboard/api/strategies/S-TSLA", {"enabled": True}, content_type="application/json")
    assert (no_csrf.status_code, "CSRF" in no_csrf.json()["message"]) == (403, True)
    assert Strategy.objects.get(strategy_id="S-TSLA").enabled is False


def test_toggle_with_a_hostile_body_is_a_400_and_changes_nothing(operator, strategy):
    token = csrf_of(operator)
    for body in ({"enabled": "yes"}, {"enabled": True, "owner": "me"}, ["enabled"], {}):
        response = operator.patch(
            "/dashboard/api/strategies/S-TSLA", body, content_type="application/json", HTTP_X_CSRFTOKEN=token
        )
        assert response.status_code == 400, (body, response.json())
        assert set(response.json()) >= {"status", "code", "message"}
    unknown = operator.patch(
        "/dashboard/api/strategies/NOPE", {"enabled": True}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert unknown.status_code == 404
    assert Strategy.objects.get(strategy_id="S-TSLA").enabled is False


def test_backtests_list_runs_newest_first_with_metrics_and_session_report_links(operator, symbols):
    done = backtests.backtest_execute(run_id=backtests.backtest_create(raw=SYNTHETIC).pk)
    queued = backtests.backtest_create(raw={**SYNTHETIC, "seed": 4})
    runs = operator.get("/dashboard/api/backtests").json()["backtests"]
    assert [(r["id"], r["status"]) for r in runs] == [(queued.pk, "queued"), (done.pk, "done")]
    assert runs[0]["report_url"] is None and runs[0]["metrics"] is None
    shown = runs[1]
    assert (shown["kind"], shown["symbols"], shown["timeframe"], shown["start"], shown["end"], shown["data"]) == (
        "sma_crossover",
        ["TSLA"],
        "5Min",
        "2026-03-02",
        "2026-03-06",
        "synthetic",
    )
    assert shown["metrics"] == done.metrics
    assert shown["report_url"] == f"/dashboard/api/backtests/{done.pk}/report"
    report = operator.get(shown["report_url"])
    assert report.status_code == 200 and report["Content-Type"].startswith("text/html")
    picture = operator.get(shown["equity_png_url"])
    assert picture.status_code == 200 and b"".join(picture.streaming_content).startswith(b"\x89PNG")
    not_done = operator.get(f"/dashboard/api/backtests/{queued.pk}/report")
    assert (not_done.status_code, not_done.json()["code"]) == (409, "backtest_not_done")


def test_start_a_backtest_from_the_page_needs_the_permission_and_refuses_bad_input(operator, viewer, symbols):
    token = csrf_of(viewer)
    refused = viewer.post(
        "/dashboard/api/backtests", SYNTHETIC, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert refused.status_code == 403
    token = csrf_of(operator)
    bad = {**SYNTHETIC, "start": "2026-03-06", "end": "2026-03-02"}
    response = operator.post("/dashboard/api/backtests", bad, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400, response.json()
    assert BacktestRun.objects.count() == 0
    started = operator.post(
        "/dashboard/api/backtests", SYNTHETIC, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert started.status_code == 202, started.json()
    assert BacktestRun.objects.get().pk == started.json()["id"]


def test_the_page_offers_the_form_and_kinds_only_with_the_halt_permission(operator, viewer):
    page = operator.get("/dashboard/").content.decode()
    assert 'id="backtest-form"' in page and '<option value="sma_crossover" selected>' in page
    assert 'id="backtest-form"' not in viewer.get("/dashboard/").content.decode()


def test_decisions_journal_is_the_api_journal(operator, api, strategy):
    from trading.models import StrategyDecision

    StrategyDecision.objects.create(
        strategy=strategy,
        bar_end=dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC),
        decided_at=dt.datetime(2026, 3, 2, 15, 0, 1, tzinfo=dt.UTC),
        outcome="skip",
        reason="warming_up",
        message="30 bars needed",
        target="",
        position_qty=Decimal(0),
        indicators={},
    )
    mine = operator.get("/dashboard/api/strategies/S-TSLA/decisions?limit=5").json()
    assert mine == api.get("/api/strategies/S-TSLA/decisions?limit=5").json()
    assert [(d["outcome"], d["reason"]) for d in mine["decisions"]] == [("skip", "warming_up")]
