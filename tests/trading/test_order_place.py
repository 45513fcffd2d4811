import datetime as dt
from decimal import Decimal

import pytest

from portfolio.models import Account, Position
from trading.models import Fill, Order
from trading.services import orders_execute_resting, orders_expire, trading_halt
from tradingrobot.errors import TradingHalted

from ..conftest import MARKET_CLOSED_AT, MARKET_OPEN_AT


def cash() -> Decimal:
    return Account.objects.get().cash


def held(ticker: str) -> Position:
    return Position.objects.get(symbol__ticker=ticker)


def test_market_buy_fills_at_latest_price_with_slippage_and_commission(priced, place, settings):
    settings.PAPER_SLIPPAGE_BPS = Decimal("10")
    settings.PAPER_COMMISSION_PER_SHARE = Decimal("0.01")
    settings.PAPER_COMMISSION_MIN = Decimal("1.00")

    order = place(qty="10")

    assert order.status == Order.Status.FILLED
    assert order.filled_avg_price == Decimal("250.2500")  # 250 + 10 bps
    fill = Fill.objects.get(order=order)
    assert (fill.qty, fill.price, fill.commission) == (Decimal("10"), Decimal("250.2500"), Decimal("1.00"))
    assert cash() == Decimal("100000") - Decimal("2502.50") - Decimal("1.00")
    position = held("TSLA")
    assert (position.qty, position.cost_basis, position.realized_pl) == (10, Decimal("2502.50"), Decimal("-1.00"))


def test_sell_realizes_profit_and_closing_leaves_nothing(priced, place, add_price):
    place(qty="10")
    add_price("TSLA", "260.00", MARKET_OPEN_AT)
    partial = place(side="sell", qty="4")
    assert partial.status == Order.Status.FILLED
    assert held("TSLA").qty == 6
    assert held("TSLA").realized_pl == Decimal("40")  # (260 - 250) x 4

    place(side="sell", qty="6")

    position = held("TSLA")
    assert (position.qty, position.cost_basis, position.realized_pl) == (0, 0, Decimal("100"))
    assert cash() == Decimal("100100")


def test_fractional_quantity(priced, place):
    order = place(qty="0.5")
    assert order.filled_qty == Decimal("0.5")
    assert cash() == Decimal("99875")


def test_not_enough_cash_is_rejected_and_changes_nothing(priced, place):
    order = place(qty="401")  # 401 x 250 = 100,250 > 100,000
    assert order.status == Order.Status.REJECTED
    assert order.reject_code == "insufficient_cash"
    assert "needs 100250.00" in order.reject_reason and "100000.00" in order.reject_reason
    assert cash() == Decimal("100000")
    assert not Fill.objects.exists()
    assert not Position.objects.filter(qty__gt=0).exists()


def test_open_buy_orders_hold_back_cash(priced, place):
    resting = place(qty="300", type="limit", limit_price="200")  # holds 60,000
    assert resting.status == Order.Status.ACCEPTED
    second = place(qty="200")  # 50,000 > 40,000 left
    assert second.status == Order.Status.REJECTED
    assert second.reject_code == "insufficient_cash"


def test_selling_more_than_held_is_rejected(priced, place):
    place(qty="5")
    order = place(side="sell", qty="6")
    assert (order.status, order.reject_code) == (Order.Status.REJECTED, "insufficient_position")
    assert held("TSLA").qty == 5


def test_selling_shares_already_being_sold_is_rejected(priced, place):
    place(qty="5")
    place(side="sell", qty="5", type="limit", limit_price="400")
    order = place(side="sell", qty="1")
    assert order.reject_code == "insufficient_position"


def test_no_shorting(priced, place):
    order = place(side="sell", qty="1")
    assert order.reject_code == "insufficient_position"


def test_no_price_rejects_market_order(market_open, place):
    order = place(ticker="SPY")
    assert (order.status, order.reject_code) == (Order.Status.REJECTED, "no_price")


def test_stale_price_rejects_market_order(add_price, market_open, place, settings):
    settings.MAX_PRICE_AGE_SECONDS = 300
    add_price("TSLA", "250", MARKET_OPEN_AT - dt.timedelta(minutes=6))
    order = place()
    assert order.reject_code == "stale_price"
    assert "360 s old" in order.reject_reason
    assert cash() == Decimal("100000")


def test_order_value_limit(priced, place, settings):
    settings.MAX_ORDER_NOTIONAL = Decimal("1000")
    order = place(qty="5")
    assert order.reject_code == "risk_limit"


def test_halted_refuses_orders_and_stores_nothing(priced, place):
    trading_halt(reason="maintenance", halted_by="ops")
    with pytest.raises(TradingHalted) as error:
        place()
    assert "maintenance" in error.value.message and "resume" in error.value.message
    assert not Order.objects.exists()


def test_market_order_while_closed_fills_at_first_price_of_next_session(add_price, symbols, place, time_machine):
    time_machine.move_to(MARKET_CLOSED_AT, tick=False)  # Saturday
    add_price("TSLA", "250", MARKET_CLOSED_AT - dt.timedelta(days=1))  # Friday's last price
    order = place(qty="2")
    assert order.status == Order.Status.ACCEPTED
    monday_open = dt.datetime(2025, 12, 22, 14, 30, tzinfo=dt.UTC)
    assert order.expires_at == dt.datetime(2025, 12, 22, 21, 0, tzinfo=dt.UTC)

    add_price("TSLA", "255", monday_open + dt.timedelta(seconds=5))
    add_price("TSLA", "258", monday_open + dt.timedelta(minutes=5))
    time_machine.move_to(monday_open + dt.timedelta(minutes=6), tick=False)
    assert orders_execute_resting() == 1

    order.refresh_from_db()
    assert (order.status, order.filled_avg_price) == (Order.Status.FILLED, Decimal("255"))
    assert order.fills.get().executed_at == monday_open + dt.timedelta(seconds=5)
    assert cash() == Decimal("100000") - Decimal("510")


def test_nothing_fills_while_market_closed(add_price, place, time_machine):
    time_machine.move_to(MARKET_CLOSED_AT, tick=False)
    add_price("TSLA", "250", MARKET_CLOSED_AT - dt.timedelta(hours=1))
    place()
    assert orders_execute_resting() == 0


def test_day_order_expires_at_close(priced, place, time_machine):
    order = place(type="limit", limit_price="100")
    close = dt.datetime(2025, 12, 16, 21, 0, tzinfo=dt.UTC)
    assert order.expires_at == close
    time_machine.move_to(close + dt.timedelta(seconds=1), tick=False)
    assert orders_expire() == 1
    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED
    assert order.expired_at is not None


def test_gtc_order_does_not_expire(priced, place, time_machine):
    order = place(type="limit", limit_price="100", time_in_force="gtc")
    time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(days=3), tick=False)
    orders_expire()
    order.refresh_from_db()
    assert order.status == Order.Status.ACCEPTED


def test_limit_buy_rests_until_a_newer_price_crosses(priced, place, add_price, time_machine, settings):
    settings.PAPER_SLIPPAGE_BPS = Decimal("10")
    order = place(type="limit", limit_price="245")
    assert order.status == Order.Status.ACCEPTED
    add_price("TSLA", "246", MARKET_OPEN_AT + dt.timedelta(seconds=10))
    time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(seconds=11), tick=False)
    assert orders_execute_resting() == 0

    add_price("TSLA", "244.90", MARKET_OPEN_AT + dt.timedelta(seconds=20))
    time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(seconds=21), tick=False)
    assert orders_execute_resting() == 1
    order.refresh_from_db()
    # 244.90 + 10 bps = 245.1349, capped at the limit.
    assert (order.status, order.filled_avg_price) == (Order.Status.FILLED, Decimal("245"))
    assert orders_execute_resting() == 0  # no double fill


def test_marketable_limit_fills_at_once_at_the_better_price(priced, place):
    order = place(type="limit", limit_price="260")
    assert (order.status, order.filled_avg_price) == (Order.Status.FILLED, Decimal("250"))


def test_limit_sell_fills_when_price_rises(priced, place, add_price, time_machine):
    place(qty="3")
    order = place(side="sell", qty="3", type="limit", limit_price="255")
    assert order.status == Order.Status.ACCEPTED
    add_price("TSLA", "256", MARKET_OPEN_AT + dt.timedelta(seconds=30))
    time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(seconds=31), tick=False)
    orders_execute_resting()
    order.refresh_from_db()
    assert (order.status, order.filled_avg_price) == (Order.Status.FILLED, Decimal("256"))
    assert held("TSLA").realized_pl == Decimal("18")


def test_resting_buy_rejected_when_cash_is_gone_at_fill_time(add_price, place, time_machine):
    time_machine.move_to(MARKET_CLOSED_AT, tick=False)
    add_price("TSLA", "250", MARKET_CLOSED_AT - dt.timedelta(days=1))
    order = place(qty="399")  # 99,750 at Friday's price
    monday_open = dt.datetime(2025, 12, 22, 14, 30, tzinfo=dt.UTC)
    add_price("TSLA", "300", monday_open)  # gapped up: 119,700 needed
    time_machine.move_to(monday_open + dt.timedelta(seconds=1), tick=False)
    assert orders_execute_resting() == 0
    order.refresh_from_db()
    assert (order.status, order.reject_code) == (Order.Status.REJECTED, "insufficient_cash")
    assert cash() == Decimal("100000")


def test_halt_cancels_open_orders_and_liquidates(priced, place):
    place(qty="4")
    resting = place(type="limit", limit_price="100")
    state, canceled, liquidations = trading_halt(reason="panic", halted_by="ops", liquidate=True)
    assert state.halted and canceled == 1
    resting.refresh_from_db()
    assert resting.status == Order.Status.CANCELED
    assert [(o.symbol.ticker, o.side, o.qty, o.status) for o in liquidations] == [
        ("TSLA", "sell", Decimal("4"), Order.Status.FILLED)
    ]
    assert held("TSLA").qty == 0
    assert cash() == Decimal("100000")
