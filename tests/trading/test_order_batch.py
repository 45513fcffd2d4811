"""A bar's strategy orders placed together (trading/order_batch.py) come out exactly as the same requests placed
one by one through order_place: the same rules in the same order, on running totals of cash and shares."""

from decimal import Decimal

import pytest
from django.db import transaction

from market.models import Symbol
from portfolio.models import Account, BookPosition, Position
from trading.models import Fill, Order, OutboxMessage
from trading.order_batch import orders_place_batch
from trading.order_request import OrderRequest
from trading.services import order_place, trading_halt

pytestmark = pytest.mark.django_db


def request(n: int, strategy: str, side: str, qty: str, **extra) -> OrderRequest:
    return OrderRequest(
        ticker="TSLA", side=side, qty=Decimal(qty), client_order_id=f"k{n}", strategy_id=strategy, **extra
    )


# TSLA at 250, 100,000 cash: A and B buy, A sells part of what it just bought, C sells shares it never had,
# D asks more than the cash left, E rests a limit buy that holds cash back, F then finds too little free cash,
# G breaks the per-order cap, B sells more than its book.
REQUESTS = [
    request(1, "A", "buy", "100"),
    request(2, "B", "buy", "150"),
    request(3, "A", "sell", "40"),
    request(4, "C", "sell", "10"),
    request(5, "D", "buy", "400"),
    request(6, "E", "buy", "100", type="limit", limit_price=Decimal("200")),
    request(7, "F", "buy", "120"),
    request(8, "G", "buy", "5000"),
    request(9, "B", "sell", "151"),
    request(10, "B", "sell", "150"),
]


def outcome() -> dict:
    account = Account.objects.get()
    return {
        "orders": [
            (
                o.client_order_id,
                o.status,
                o.reject_code,
                o.filled_qty,
                o.filled_avg_price,
                o.reserve_price,
                o.expires_at,
            )
            for o in Order.objects.order_by("client_order_id")
        ],
        "cash": account.cash,
        "position": Position.objects.filter(symbol__ticker="TSLA")
        .values_list("qty", "cost_basis", "realized_pl")
        .get(),
        "books": sorted(BookPosition.objects.values_list("book", "qty", "cost_basis", "realized_pl")),
        "fills": sorted(
            Fill.objects.values_list("order__client_order_id", "qty", "price", "commission", "realized_pl")
        ),
        "outbox": sorted(
            (m.payload["strategy_id"], m.payload["side"], m.payload["quantity"], m.payload["pnl"])
            for m in OutboxMessage.objects.filter(kind="trade")
        ),
    }


def test_the_batch_gives_what_order_place_gives_one_by_one(priced, account):
    with transaction.atomic():
        for one in REQUESTS:
            order_place(request=one, placed_by="strategy engine", source=Order.Source.STRATEGY)
        one_by_one = outcome()
        transaction.set_rollback(True)
    assert Order.objects.count() == 0
    placed = orders_place_batch(ticker="TSLA", requests=REQUESTS, placed_by="strategy engine")
    assert outcome() == one_by_one
    statuses = {o[0]: (o[1], o[2]) for o in one_by_one["orders"]}
    assert statuses == {  # the scenario is what it says (so both paths are really exercised)
        "k1": ("filled", ""),
        "k2": ("filled", ""),
        "k3": ("filled", ""),
        "k4": ("rejected", "insufficient_position"),
        "k5": ("rejected", "insufficient_cash"),
        "k6": ("accepted", ""),
        "k7": ("rejected", "insufficient_cash"),
        "k8": ("rejected", "risk_limit"),
        "k9": ("rejected", "insufficient_position"),
        "k10": ("filled", ""),
    }
    assert all(p.created and p.refusal is None for p in placed)
    assert [p.realized is not None for p in placed] == [statuses[r.client_order_id][0] == "filled" for r in REQUESTS]


def test_a_repeated_key_returns_the_first_order_and_a_reused_key_is_refused(priced, account):
    (first,) = orders_place_batch(ticker="TSLA", requests=[REQUESTS[0]], placed_by="e")
    again, reused = orders_place_batch(
        ticker="TSLA", requests=[REQUESTS[0], request(1, "A", "buy", "7")], placed_by="e"
    )
    assert (again.order, again.created) == (first.order, False)
    assert reused.order is None and reused.refusal.code == "idempotency_key_reused"
    assert Order.objects.count() == 1 and Fill.objects.count() == 1


def test_halted_or_inactive_refuses_every_order_and_stores_nothing(priced, account):
    trading_halt(reason="test", halted_by="t")
    refused = orders_place_batch(ticker="TSLA", requests=REQUESTS[:2], placed_by="e")
    assert {p.refusal.code for p in refused} == {"trading_halted"} and Order.objects.count() == 0
    from trading.services import trading_resume

    trading_resume(resumed_by="t")
    Symbol.objects.filter(ticker="TSLA").update(is_active=False)
    refused = orders_place_batch(ticker="TSLA", requests=REQUESTS[:2], placed_by="e")
    assert {p.refusal.code for p in refused} == {"symbol_inactive"} and Order.objects.count() == 0
