"""Issue 16: cancels go to Alpaca; a cancel Alpaca refuses is a 409; an unreachable Alpaca is a 503 for a cancel
and never stops the emergency stop."""

import pytest

from trading.models import Order, TradingState
from trading.services import order_cancel, trading_halt
from tradingrobot.errors import Conflict, DomainError

from .test_faults import submit  # noqa: F401 - the fixture


@pytest.fixture
def resting(fake, stream, submit):  # noqa: F811
    fake.auto_fill = False
    order = submit(ticker="TSLA", side="buy", qty="2", type="limit", limit_price="240", time_in_force="gtc")
    stream.settle()
    return order


def test_cancel_reaches_alpaca(fake, stream, resting):
    order_cancel(order_id=resting.pk, canceled_by="test")
    stream.settle()  # Alpaca's "canceled" update finds the order closed already
    assert fake.orders[resting.broker_order_id]["status"] == "canceled"
    resting.refresh_from_db()
    assert resting.status == Order.Status.CANCELED


def test_cancel_of_an_order_filled_at_alpaca_is_a_conflict_and_the_fill_books(fake, stream, resting):
    fake.execute(resting.broker_order_id, "2", "239")  # filled there; its update not applied here yet
    with pytest.raises(Conflict):
        order_cancel(order_id=resting.pk, canceled_by="test")
    stream.settle()
    resting.refresh_from_db()
    assert (resting.status, resting.filled_qty) == (Order.Status.FILLED, 2)


def test_unreachable_alpaca_fails_the_cancel_but_not_the_halt(fake, stream, resting):
    fake.http.shutdown()
    fake.http.server_close()
    with pytest.raises(DomainError) as unavailable:
        order_cancel(order_id=resting.pk, canceled_by="test")
    assert (unavailable.value.code, unavailable.value.status_code) == ("broker_unavailable", 503)
    state, _, _ = trading_halt(reason="drill", halted_by="test")
    assert state.halted and TradingState.objects.get().halted
    resting.refresh_from_db()
    assert resting.is_open  # still live at Alpaca as far as we know: the next reconciliation tells
