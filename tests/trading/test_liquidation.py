"""Issue 13 item 1: a stop with liquidate=true sells, whatever the per-order cap and the price's age."""

import datetime as dt
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY

from market.models import PriceSample
from portfolio.models import Position
from trading.models import Order
from trading.services import orders_execute_resting, trading_halt

from ..conftest import MARKET_CLOSED_AT, MARKET_OPEN_AT
from .test_trade_api import post_json

MONDAY_OPEN = dt.datetime(2025, 12, 22, 14, 30, tzinfo=dt.UTC)


def held(ticker: str) -> Decimal:
    return Position.objects.get(symbol__ticker=ticker).qty


def failures(ticker: str) -> float:
    return REGISTRY.get_sample_value("tradingrobot_liquidation_failures_total", {"symbol": ticker}) or 0.0


@pytest.fixture
def big_position(priced, place, settings):
    """40 TSLA at 250 (10,000) held, then the per-order cap lowered below its value."""
    place(qty="40")
    settings.MAX_ORDER_NOTIONAL = Decimal("5000")


def test_position_above_the_cap_is_sold_with_the_market_open(big_position):
    _, _, [order] = trading_halt(reason="panic", halted_by="ops", liquidate=True)
    assert (order.status, order.filled_qty) == (Order.Status.FILLED, Decimal("40"))
    assert held("TSLA") == 0


def test_stale_price_rests_and_fills_at_the_next_fresh_price(priced, place, add_price, time_machine):
    place(qty="4")
    later = MARKET_OPEN_AT + dt.timedelta(hours=2)  # the last price is two hours old
    time_machine.move_to(later, tick=False)
    _, _, [order] = trading_halt(reason="WordPress down", halted_by="ops", liquidate=True)
    assert (order.status, order.type) == (Order.Status.ACCEPTED, Order.Type.MARKET)
    add_price("TSLA", "240", later + dt.timedelta(minutes=1))
    time_machine.move_to(later + dt.timedelta(minutes=2), tick=False)
    assert orders_execute_resting() == 1
    order.refresh_from_db()
    assert (order.status, order.filled_avg_price) == (Order.Status.FILLED, Decimal("240"))
    assert held("TSLA") == 0


@pytest.mark.parametrize("stale", [False, True])
def test_above_the_cap_with_the_market_closed_rests_until_the_open(big_position, add_price, time_machine, stale):
    if not stale:
        add_price("TSLA", "250", MARKET_CLOSED_AT - dt.timedelta(minutes=1))
    time_machine.move_to(MARKET_CLOSED_AT, tick=False)
    _, _, [order] = trading_halt(reason="weekend", halted_by="ops", liquidate=True)
    assert order.status == Order.Status.ACCEPTED
    add_price("TSLA", "260", MONDAY_OPEN)
    time_machine.move_to(MONDAY_OPEN + dt.timedelta(seconds=1), tick=False)
    assert orders_execute_resting() == 1
    order.refresh_from_db()
    assert (order.status, order.filled_qty) == (Order.Status.FILLED, Decimal("40"))
    assert held("TSLA") == 0


def test_inactive_symbol_is_still_liquidated(big_position, symbols):
    symbols["TSLA"].is_active = False
    symbols["TSLA"].save()
    _, _, [order] = trading_halt(reason="panic", halted_by="ops", liquidate=True)
    assert order.status == Order.Status.FILLED


def test_answer_names_filled_and_resting(api, priced, time_machine):
    post_json(api, "/api/trade/TSLA/buy", {"quantity": 4})
    time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(hours=2), tick=False)
    body = post_json(api, "/api/stop_trading?liquidate=true", {"reason": "drill"}).json()
    assert (body["status"], body["liquidation"]) == ("success", "resting")
    assert body["message"] == "Trading stopped" and "next fresh price" in body["liquidation_detail"]


def test_position_left_open_is_a_non_success_answer_and_an_alert(api, priced, django_capture_on_commit_callbacks):
    post_json(api, "/api/trade/TSLA/buy", {"quantity": 4})
    post_json(api, "/api/trade/NVDA/buy", {"quantity": 2})
    PriceSample.objects.filter(symbol__ticker="NVDA").delete()  # nothing to sell it at
    before = failures("NVDA")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(api, "/api/stop_trading?liquidate=true", {})
    body = response.json()
    assert response.status_code == 200 and body["trading_halted"] is True
    assert (body["status"], body["liquidation"]) == ("partial", "incomplete")
    assert body["message"].startswith("Trading stopped, but 1 position(s) could not be liquidated: NVDA: No price")
    assert {o["symbol"]: o["status"] for o in body["liquidation_orders"]} == {"NVDA": "rejected", "TSLA": "filled"}
    assert failures("NVDA") == before + 1
    assert failures("TSLA") == 0
