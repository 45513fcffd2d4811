"""Issue 13 item 3 on PostgreSQL: an idempotency key in flight blocks its own principal (409), never another."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connections, transaction

from market.models import Symbol
from market.services import SampleIn, sample_upsert_many
from trading.lock_objects import idempotency_key_lock
from trading.order_request import order_request_parse
from trading.services import order_place
from tradingrobot.errors import Conflict

from ..conftest import MARKET_OPEN_AT
from .test_race import postgres_only  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_key_in_flight_blocks_only_its_own_principal(postgres_only, market_open):  # noqa: F811
    tsla = Symbol.objects.get(ticker="TSLA")
    sample_upsert_many(
        samples=[SampleIn(tsla.pk, MARKET_OPEN_AT - dt.timedelta(seconds=1), Decimal("250"), None)], source="manual"
    )
    held, release = threading.Event(), threading.Event()

    def alice_in_flight():
        try:
            with transaction.atomic():
                idempotency_key_lock("key:alice\nk-1")
                held.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=alice_in_flight)
    thread.start()
    try:
        assert held.wait(10)
        request = order_request_parse(ticker="TSLA", side="buy", qty="1", client_order_id="k-1")
        order, created = order_place(request=request, placed_by="bob", principal="key:bob")
        assert created and order.principal == "key:bob"
        with pytest.raises(Conflict) as refused:
            order_place(request=request, placed_by="alice", principal="key:alice")
        assert refused.value.code == "idempotency_key_in_progress"
    finally:
        release.set()
        thread.join()
    order, created = order_place(request=request, placed_by="alice", principal="key:alice")
    assert created and order.principal == "key:alice"
