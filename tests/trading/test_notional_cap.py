"""Issue 13 item 11: the per-order cap is checked at the price an order can fill at, and again at fill."""

import datetime as dt
from decimal import Decimal

from portfolio.models import Account, Position
from trading.models import Fill, Order
from trading.services import orders_execute_resting, trading_halt

from ..conftest import MARKET_CLOSED_AT, MARKET_OPEN_AT

MONDAY_OPEN = dt.datetime(2025, 12, 22, 14, 30, tzinfo=dt.UTC)


def cash() -> Decimal:
    return Account.objects.get().cash


def tsla_held() -> Decimal:
    return Position.objects.get(symbol__ticker="TSLA").qty


def test_a_sell_limit_far_below_market_is_checked_at_the_market(priced, place, settings):
    place(qty="10")  # 2,500 of TSLA at 250
    settings.MAX_ORDER_NOTIONAL = Decimal("1000")
    order = place(side="sell", qty="10", type="limit", limit_price="0.0001")  # would fill at 250: 2,500
    assert (order.status, order.reject_code) == (Order.Status.REJECTED, "risk_limit")
    assert "2500.00" in order.reject_reason
    assert tsla_held() == Decimal("10")
    assert not Fill.objects.filter(side="sell").exists()


def test_a_sell_limit_above_market_is_checked_at_its_limit(priced, place, settings):
    place(qty="10")
    settings.MAX_ORDER_NOTIONAL = Decimal("2600")
    refused = place(side="sell", qty="10", type="limit", limit_price="270")  # 2,700 at its limit
    assert refused.reject_code == "risk_limit"
    resting = place(side="sell", qty="10", type="limit", limit_price="255")  # 2,550: within the cap
    assert resting.status == Order.Status.ACCEPTED


def test_a_market_order_accepted_while_closed_is_rechecked_at_fill(add_price, place, settings, time_machine):
    time_machine.move_to(MARKET_CLOSED_AT, tick=False)
    settings.MAX_ORDER_NOTIONAL = Decimal("1000")
    settings.PRICE_BAND_PERCENT = 0  # the price jumps on purpose (the band has its own tests)
    add_price("TSLA", "100", MARKET_CLOSED_AT - dt.timedelta(days=1))
    order = place(qty="9")  # 900 at Friday's price: accepted
    assert order.status == Order.Status.ACCEPTED
    add_price("TSLA", "250", MONDAY_OPEN + dt.timedelta(seconds=5))  # gapped up: 2,250 at fill
    time_machine.move_to(MONDAY_OPEN + dt.timedelta(minutes=1), tick=False)
    assert orders_execute_resting() == 0
    order.refresh_from_db()
    assert (order.status, order.reject_code) == (Order.Status.REJECTED, "risk_limit")
    assert "at fill" in order.reject_reason and "2250.00" in order.reject_reason
    assert order.reserve_price is None
    assert cash() == Decimal("100000")
    assert not Fill.objects.exists()


def test_a_resting_sell_limit_is_rechecked_at_fill(priced, place, add_price, settings, time_machine):
    place(qty="10")
    settings.MAX_ORDER_NOTIONAL = Decimal("2600")
    settings.PRICE_BAND_PERCENT = 0  # the price jumps on purpose (the band has its own tests)
    order = place(side="sell", qty="10", type="limit", limit_price="255")  # 2,550 at its limit: accepted
    assert order.status == Order.Status.ACCEPTED
    add_price("TSLA", "400", MARKET_OPEN_AT + dt.timedelta(seconds=30))  # crosses; would fill at 400: 4,000
    time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(seconds=31), tick=False)
    assert orders_execute_resting() == 0
    order.refresh_from_db()
    assert (order.status, order.reject_code) == (Order.Status.REJECTED, "risk_limit")
    assert tsla_held() == Decimal("10")


def test_within_the_cap_at_fill_still_fills(add_price, place, settings, time_machine):
    time_machine.move_to(MARKET_CLOSED_AT, tick=False)
    settings.MAX_ORDER_NOTIONAL = Decimal("1000")
    add_price("TSLA", "100", MARKET_CLOSED_AT - dt.timedelta(days=1))
    order = place(qty="9")
    add_price("TSLA", "110", MONDAY_OPEN + dt.timedelta(seconds=5))  # 990 at fill
    time_machine.move_to(MONDAY_OPEN + dt.timedelta(minutes=1), tick=False)
    assert orders_execute_resting() == 1
    order.refresh_from_db()
    assert order.status == Order.Status.FILLED


def test_a_liquidation_above_the_cap_still_fills_at_the_next_session(priced, place, add_price, settings, time_machine):
    place(qty="10")
    settings.MAX_ORDER_NOTIONAL = Decimal("100")
    time_machine.move_to(MARKET_CLOSED_AT, tick=False)
    _, _, (liquidation,) = trading_halt(reason="stop", halted_by="ops", liquidate=True)
    assert liquidation.status == Order.Status.ACCEPTED
    add_price("TSLA", "260", MONDAY_OPEN + dt.timedelta(seconds=5))
    time_machine.move_to(MONDAY_OPEN + dt.timedelta(minutes=1), tick=False)
    assert orders_execute_resting() == 1
    liquidation.refresh_from_db()
    assert liquidation.status == Order.Status.FILLED
    assert tsla_held() == Decimal("0")
