"""Concurrent placements on PostgreSQL with real transactions and real row locks."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.db.models import Sum

from market.models import Symbol
from market.services import SampleIn, sample_upsert_many
from portfolio.ledger import account_get_or_create
from portfolio.models import Account, Position
from trading.models import Fill, Order
from trading.order_request import order_request_parse
from trading.services import order_place
from tradingrobot.errors import Conflict

from ..conftest import MARKET_OPEN_AT, REQUIRE_SERVICES

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL")
        pytest.skip("row locks need PostgreSQL (set DATABASE_URL)")


def run_threads(count: int, work) -> list:
    results: list = [None] * count
    barrier = threading.Barrier(count)

    def worker(i: int):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_fifty_concurrent_buyers_and_sellers_reconcile_exactly(postgres_only, market_open):
    tsla = Symbol.objects.get(ticker="TSLA")
    sample_upsert_many(samples=[SampleIn(tsla.pk, MARKET_OPEN_AT, Decimal("250"), None)], source="manual")
    account = account_get_or_create()
    starting = account.cash
    starting_qty = Position.objects.filter(symbol=tsla).values_list("qty", flat=True).first() or 0

    def trade(i: int) -> Order:
        side, qty = ("buy", "20") if i % 2 == 0 else ("sell", "7")  # 25 x 5,000 = 125,000 > cash
        order, _ = order_place(request=order_request_parse(ticker="TSLA", side=side, qty=qty), placed_by=f"t{i}")
        return order

    results = run_threads(50, trade)

    assert [r for r in results if isinstance(r, BaseException)] == []
    statuses = {r.status for r in results}
    assert statuses <= {Order.Status.FILLED, Order.Status.REJECTED}
    rejected_codes = {r.reject_code for r in results if r.status == Order.Status.REJECTED}
    assert rejected_codes <= {"insufficient_cash", "insufficient_position"}

    fills = Fill.objects.filter(order__in=[r.pk for r in results])
    bought = fills.filter(side="buy").aggregate(q=Sum("qty"))["q"] or 0
    sold = fills.filter(side="sell").aggregate(q=Sum("qty"))["q"] or 0
    account = Account.objects.get(pk=account.pk)
    position = Position.objects.get(symbol=tsla)
    assert position.qty == starting_qty + bought - sold
    assert account.cash == starting - bought * 250 + sold * 250
    assert account.cash >= 0
    for order in Order.objects.filter(pk__in=[r.pk for r in results]):
        expected = [order.qty] if order.status == Order.Status.FILLED else []
        assert [fill.qty for fill in order.fills.all()] == expected


def test_concurrent_requests_with_one_idempotency_key_make_one_order(postgres_only, market_open):
    tsla = Symbol.objects.get(ticker="TSLA")
    sample_upsert_many(
        samples=[SampleIn(tsla.pk, MARKET_OPEN_AT - dt.timedelta(seconds=1), Decimal("250"), None)], source="manual"
    )

    def trade(i: int):
        request = order_request_parse(ticker="TSLA", side="buy", qty="1", client_order_id="same-key")
        return order_place(request=request, placed_by=f"t{i}")

    results = run_threads(10, trade)

    unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, Conflict)]
    assert unexpected == []
    answered = [r for r in results if isinstance(r, tuple)]
    assert len({order.pk for order, _ in answered}) == 1
    assert sum(1 for _, created in answered if created) == 1
    assert Order.objects.filter(client_order_id="same-key").count() == 1
    assert Fill.objects.filter(order__client_order_id="same-key").count() == 1
    assert all(r.code == "idempotency_key_in_progress" for r in results if isinstance(r, Conflict))
