"""/api/strategies: list, detail, PATCH (validated per kind, nothing stored on a refusal), decisions, evaluate;
scopes; hostile input is a 4xx, never a 5xx."""

import datetime as dt
import json
from decimal import Decimal

import pytest

from trading.engine.services import strategy_create
from trading.models import Order, Strategy, StrategyDecision
from tradingrobot.security.services import api_key_create

from ..conftest import MARKET_OPEN_AT
from .test_trade_api import assert_error

URL = "/api/strategies"


@pytest.fixture
def tsla(db):
    return strategy_create(strategy_id="STRATEGY-TSLA", ticker="TSLA", by="tests")


def patch(api, strategy_id, body):
    text = body if isinstance(body, str | bytes) else json.dumps(body)
    return api.patch(f"{URL}/{strategy_id}", data=text, content_type="application/json")


def stored(strategy_id="STRATEGY-TSLA") -> dict:
    return Strategy.objects.filter(strategy_id=strategy_id).values().get()


def decide(strategy, bar_end, outcome="hold", reason="no_change", **extra) -> StrategyDecision:
    """A decision row as the engine records it (the engine's execution writes these in production)."""
    return StrategyDecision.objects.create(
        strategy=strategy,
        bar_end=bar_end,
        decided_at=bar_end + dt.timedelta(seconds=2),
        outcome=outcome,
        reason=reason,
        indicators={"fast": 1.5, "slow": 1.25},
        **extra,
    )


def keyed(scopes: str):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key_create(name=f"k-{scopes}", scopes=scopes, created_by="tests")[1])
    return client


def test_list_shows_each_strategy_with_its_last_decision(api, tsla):
    strategy_create(strategy_id="STRATEGY-QQQ", ticker="QQQ", by="tests")
    end = dt.datetime(2025, 12, 16, 15, 30, tzinfo=dt.UTC)
    decide(tsla, end - dt.timedelta(minutes=5))
    decide(tsla, end, outcome="buy", reason="crossed_up")
    response = api.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    by_id = {s["strategy_id"]: s for s in body["strategies"]}
    assert by_id["STRATEGY-QQQ"]["last_decision"] is None
    tsla_out = by_id["STRATEGY-TSLA"]
    assert (tsla_out["symbol"], tsla_out["kind"], tsla_out["timeframe"]) == ("TSLA", "sma_crossover", "5Min")
    assert (tsla_out["enabled"], tsla_out["mode"]) == (False, "live")
    assert tsla_out["params"] == {"fast": 10, "slow": 30}
    last = tsla_out["last_decision"]
    assert (last["outcome"], last["reason"], last["bar_end"]) == ("buy", "crossed_up", "2025-12-16T15:30:00Z")
    assert last["indicators"] == {"fast": 1.5, "slow": 1.25}
    assert api.get(URL, {"enabled": "true"}).json()["total"] == 0
    assert api.get(URL, {"symbol": "qqq"}).json()["strategies"][0]["strategy_id"] == "STRATEGY-QQQ"
    assert_error(api.get(URL, {"enabled": "maybe"}), 400, "invalid_enabled")


def test_read_scope_lists_admin_scope_changes(tsla):
    reader, trader, admin = keyed("read"), keyed("trade"), keyed("admin")
    assert reader.get(URL).status_code == 200
    assert reader.get(f"{URL}/STRATEGY-TSLA").status_code == 200
    assert_error(patch(reader, "STRATEGY-TSLA", {"enabled": True}), 403, "missing_scope")
    assert_error(patch(trader, "STRATEGY-TSLA", {"enabled": True}), 403, "missing_scope")
    assert stored()["enabled"] is False
    assert patch(admin, "STRATEGY-TSLA", {"enabled": True}).status_code == 200
    assert stored()["enabled"] is True


def test_patch_enables_and_changes_params_sizing_limits_and_mode(api, tsla):
    body = {
        "enabled": True,
        "mode": "signal",
        "params": {"fast": 5, "slow": 20},
        "sizing": "fixed_notional",
        "sizing_value": "5000",
        "max_position_qty": 100,
        "max_daily_loss": "250.5",
        "cooldown_bars": 3,
    }
    response = patch(api, "STRATEGY-TSLA", body)
    assert response.status_code == 200, response.content
    out = response.json()
    assert (out["enabled"], out["mode"], out["params"]) == (True, "signal", {"fast": 5, "slow": 20})
    assert (out["sizing"], out["sizing_value"], out["max_position_qty"]) == ("fixed_notional", 5000.0, 100.0)
    row = stored()
    assert (row["enabled"], row["mode"], row["params"], row["cooldown_bars"]) == (
        True,
        "signal",
        {"fast": 5, "slow": 20},
        3,
    )
    assert row["max_daily_loss"] == Decimal("250.5")
    assert patch(api, "STRATEGY-TSLA", {"enabled": False}).json()["enabled"] is False


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"params": {"fast": 1}}, "params.fast", "between 2 and 500"),
        ({"params": {"fast": 40, "slow": 30}}, "params.fast", "less than slow"),
        ({"params": {"fast": "ten"}}, "params.fast", "whole number"),
        ({"params": {"speed": 3}}, "params.speed", "unknown parameter"),
        ({"kind": "martingale"}, "kind", "Unknown strategy kind"),
        ({"timeframe": "1Min"}, "timeframe", "5Min"),
        ({"sizing": "pct_equity", "sizing_value": 150}, "sizing_value", "at most 100"),
        ({"sizing": "fixed_notional", "sizing_value": "200000"}, "sizing_value", "equity"),
    ],
)
def test_a_bad_value_is_a_400_naming_the_field_and_nothing_is_stored(api, tsla, account, body, field, fragment):
    before = stored()
    response = patch(api, "STRATEGY-TSLA", {**body, "enabled": True})
    error = assert_error(response, 400, "invalid_strategy")
    assert fragment in error["errors"][field], error
    assert stored() == before


def test_fixed_quantity_costing_more_than_the_equity_is_refused(api, tsla, priced):
    from tradingrobot.security.models import AuditEvent

    error = assert_error(patch(api, "STRATEGY-TSLA", {"sizing_value": 1000}), 400, "invalid_strategy")
    assert "1000 shares x 250.0000" in error["errors"]["sizing_value"]
    assert not AuditEvent.objects.filter(action="strategy_update").exists()  # refused: nothing changed
    assert patch(api, "STRATEGY-TSLA", {"sizing_value": 10}).status_code == 200
    event = AuditEvent.objects.get(action="strategy_update")
    assert event.actor.startswith("key:") and event.ip == "127.0.0.1"
    assert event.detail == {"changes": {"sizing_value": {"before": "1.0000", "after": "10.0000"}}}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"kind": "sma\x00crossover"}, 400, "invalid"),
        ({"enabled": "yes"}, 400, "invalid"),
        ({"enabled": 1}, 400, "invalid"),
        ({"sizing_value": "1e400"}, 400, "invalid"),
        ({"sizing_value": 10**30}, 400, "invalid"),
        ({"sizing_value": "12345678901.5"}, 400, "invalid"),
        ({"max_position_qty": "NaN"}, 400, "invalid"),
        ({"cooldown_bars": 10**20}, 400, "invalid"),
        ({"cooldown_bars": -1}, 400, "invalid"),
        ({"cooldown_bars": 1.5}, 400, "invalid"),
        ({"params": [1, 2]}, 400, "invalid"),
        ({"params": {"fast": 1e308 * 10}}, 400, "malformed_request"),
        ({"params": {"fast": 10**200}}, 400, "invalid_strategy"),
        ({"mode": ["live"]}, 400, "invalid"),
        ({"owner": "me"}, 400, "invalid"),
        ({}, 400, "invalid"),
        ([{"enabled": True}], 400, "invalid_body"),
        ('{"enabled": tru', 400, "malformed_request"),
        ('{"params": {"fast": 1' + "0" * 5000 + "}}", 400, "malformed_request"),
    ],
)
def test_hostile_patches_are_4xx_and_change_nothing(api, tsla, body, status, code):
    before = stored()
    response = patch(api, "STRATEGY-TSLA", body)
    assert_error(response, status, code)
    assert stored() == before


def test_unknown_strategy_is_a_404(api, db):
    assert_error(api.get(f"{URL}/STRATEGY-NOPE"), 404, "strategy_not_found")
    assert_error(patch(api, "STRATEGY-NOPE", {"enabled": True}), 404, "strategy_not_found")
    assert_error(api.get(f"{URL}/STRATEGY-NOPE/decisions"), 404, "strategy_not_found")
    assert_error(api.post(f"{URL}/STRATEGY-NOPE/evaluate"), 404, "strategy_not_found")
    assert_error(api.get(f"{URL}/bad%00id"), 400, "nul_character")  # refused before routing (issue 13 item 5)


def test_decisions_are_paginated_newest_first_and_filtered_by_time_and_outcome(api, tsla):
    start = dt.datetime(2025, 12, 16, 15, 0, tzinfo=dt.UTC)
    for i in range(7):
        decide(tsla, start + dt.timedelta(minutes=5 * i), outcome="skip" if i % 2 else "hold")
    url = f"{URL}/STRATEGY-TSLA/decisions"
    page = api.get(url, {"limit": 3, "offset": 1}).json()
    assert (page["total"], page["limit"], page["offset"]) == (7, 3, 1)
    assert [d["bar_end"] for d in page["decisions"]] == [
        "2025-12-16T15:25:00Z",
        "2025-12-16T15:20:00Z",
        "2025-12-16T15:15:00Z",
    ]
    skips = api.get(url, {"outcome": "skip"}).json()
    assert skips["total"] == 3 and {d["outcome"] for d in skips["decisions"]} == {"skip"}
    window = api.get(url, {"after": "2025-12-16T15:10:00Z", "until": "2025-12-16T15:20:00Z"}).json()
    assert [d["bar_end"] for d in window["decisions"]] == ["2025-12-16T15:15:00Z", "2025-12-16T15:10:00Z"]
    assert_error(api.get(url, {"outcome": "win"}), 400, "invalid_outcome")
    assert_error(api.get(url, {"after": "yesterday"}), 400, "invalid_after")
    assert_error(api.get(url, {"limit": "0"}), 400, "invalid_limit")
    assert_error(api.get(url, {"offset": "-1"}), 400, "invalid_offset")


def test_evaluate_decides_on_the_latest_closed_bar_without_ordering(api, tsla, add_price, market_open):
    assert_error(api.post(f"{URL}/STRATEGY-TSLA/evaluate"), 422, "no_closed_bar")
    patch(api, "STRATEGY-TSLA", {"enabled": True, "params": {"fast": 2, "slow": 3}})
    first = MARKET_OPEN_AT - dt.timedelta(minutes=5 * 5)  # the market clock is frozen at MARKET_OPEN_AT
    for i, price in enumerate(["100", "100", "100", "110", "120"]):
        add_price("TSLA", price, first + dt.timedelta(minutes=5 * i))
    response = api.post(f"{URL}/STRATEGY-TSLA/evaluate")
    assert response.status_code == 200, response.content
    out = response.json()
    assert out["outcome"] == "buy", out
    assert out["ordered"] is False
    assert set(out["indicators"]) >= {"sma_fast", "sma_slow"}
    assert not Order.objects.exists()
    assert not StrategyDecision.objects.exists()
