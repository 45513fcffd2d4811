"""Issue 16 fault injection against the fake Alpaca: a 504 after the order was accepted while the SDK retries, a
stream cut before a fill, a partial fill then a fill, a fill delivered twice, a rejection by Alpaca."""

from decimal import Decimal

import pytest

from portfolio.models import Account, Position
from trading.models import Fill, Order
from trading.order_request import order_request_parse
from trading.services import order_place


@pytest.fixture
def submit(django_capture_on_commit_callbacks, priced):
    def submit(**fields) -> Order:
        with django_capture_on_commit_callbacks(execute=True):
            order, _ = order_place(request=order_request_parse(**fields), placed_by="faults")
        order.refresh_from_db()
        return order

    return submit


def cash() -> Decimal:
    return Account.objects.get().cash


def held(ticker: str) -> Decimal:
    return Position.objects.get(symbol__ticker=ticker).qty


def test_504_after_accept_while_the_sdk_retries_leaves_one_order(fake, stream, submit):
    fake.set_price("TSLA", "250")
    fake.answer_504 = 4  # the first POST is stored and answered 504; the SDK's 3 retries get 504 too
    order = submit(ticker="TSLA", side="buy", qty="10")
    posts = [r for r in fake.requests if r == ("POST", "/v2/orders")]
    assert len(posts) == 4  # alpaca-py retried the POST three times
    assert len(fake.orders) == 1 and len(fake.by_client_id(order.broker_client_order_id)) == 1
    [at_alpaca] = fake.orders.values()
    assert order.broker_order_id == at_alpaca["id"]
    stream.settle()
    order.refresh_from_db()
    assert (order.status, order.filled_qty, held("TSLA"), cash()) == ("filled", 10, 10, Decimal("97500"))


def test_duplicate_answer_on_our_retry_is_reconciled_by_client_order_id(fake, stream, submit):
    fake.set_price("TSLA", "250")
    fake.answer_504 = 1  # stored, answered 504; the SDK's retry is answered "client_order_id must be unique"
    order = submit(ticker="TSLA", side="buy", qty="2")
    assert len(fake.orders) == 1 and order.broker_order_id == next(iter(fake.orders))
    posts = [status for method, path, status in fake.answered if (method, path) == ("POST", "/v2/orders")]
    assert posts == [504, 422]
    assert ("GET", "/v2/orders:by_client_order_id", 200) in fake.answered
    stream.settle()
    assert Fill.objects.filter(order=order).count() == 1


def test_stream_cut_before_a_fill_books_it_once_after_reconnect(fake, stream, submit):
    fake.set_price("TSLA", "250")
    fake.drop_before_fill = True  # the fill happens at Alpaca, its trade update is never sent
    order = submit(ticker="TSLA", side="buy", qty="10")
    stream.wait_connected(connections=2)  # reconnected; the reconciliation found the fill
    order.refresh_from_db()
    assert (order.status, order.filled_qty, order.filled_avg_price) == ("filled", 10, Decimal("250"))
    assert stream.reconciliations == 2
    fake.drop_stream()  # another reconnect, another reconciliation: nothing booked twice
    stream.wait_connected(connections=3)
    assert Fill.objects.filter(order=order).count() == 1
    assert (held("TSLA"), cash()) == (10, Decimal("97500"))


def test_partial_fill_then_fill_gives_the_quantity_and_average_price(fake, stream, submit):
    fake.auto_fill = False
    order = submit(ticker="TSLA", side="buy", qty="10", type="limit", limit_price="251", time_in_force="gtc")
    stream.settle()
    order.refresh_from_db()
    assert order.status == Order.Status.ACCEPTED
    fake.execute(order.broker_order_id, "4", "250.00")
    stream.settle()
    order.refresh_from_db()
    assert (order.status, order.filled_qty, order.filled_avg_price) == ("partially_filled", 4, Decimal("250"))
    fake.execute(order.broker_order_id, "6", "250.50")
    stream.settle()
    order.refresh_from_db()
    assert (order.status, order.filled_qty, order.filled_avg_price) == ("filled", 10, Decimal("250.3"))
    assert [(f.qty, f.price) for f in order.fills.order_by("id")] == [(4, 250), (6, Decimal("250.5"))]
    assert (held("TSLA"), cash()) == (10, Decimal("100000") - 1000 - Decimal("1503"))
    assert order.reserve_price is None


def test_a_trade_update_delivered_twice_books_once(fake, stream, submit):
    fake.auto_fill = False
    order = submit(ticker="TSLA", side="buy", qty="3", type="limit", limit_price="251", time_in_force="gtc")
    fake.execute(order.broker_order_id, "3", "250")
    stream.settle()
    [fill] = [m for m in fake.sent if '"event": "fill"' in m]
    fake.resend(fill)  # the same execution again
    stream.settle()
    assert stream.updates == 3  # new, fill, and the fill again
    assert Fill.objects.filter(order=order).count() == 1 and held("TSLA") == 3


def test_rejection_by_alpaca_rejects_the_order_and_books_nothing(fake, stream, submit):
    fake.set_price("TSLA", "250")
    fake.cash = Decimal("1000")  # Alpaca's buying power is lower than the ledger's cash
    order = submit(ticker="TSLA", side="buy", qty="10")
    assert (order.status, order.reject_code) == ("rejected", "broker_rejected")
    assert "insufficient buying power" in order.reject_reason
    assert (cash(), Fill.objects.count(), order.reserve_price) == (Decimal("100000"), 0, None)
    assert fake.orders == {}
