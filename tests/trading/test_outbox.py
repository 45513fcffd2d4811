from decimal import Decimal

from trading.models import OutboxMessage


def test_every_fill_writes_a_trade_record_in_the_wordpress_shape(priced, place, add_price):
    buy = place(qty="10")
    sell = place(side="sell", qty="4", strategy_id="MEAN-REVERSION")
    records = list(OutboxMessage.objects.order_by("id"))
    assert [r.payload for r in records] == [
        {
            "trade_id": f"TRP-{buy.fills.get().pk}",
            "strategy_id": "STRATEGY-TSLA",
            "symbol": "TSLA",
            "side": "BUY",
            "quantity": "10.0000",
            "price": "250.0000",
            "pnl": "0.0000",
            "execution_time_utc": "2025-12-16T15:30:00+00:00",
        },
        {
            "trade_id": f"TRP-{sell.fills.get().pk}",
            "strategy_id": "MEAN-REVERSION",
            "symbol": "TSLA",
            "side": "SELL",
            "quantity": "4.0000",
            "price": "250.0000",
            "pnl": "0.0000",
            "execution_time_utc": "2025-12-16T15:30:00+00:00",
        },
    ]
    assert all(r.status == OutboxMessage.Status.PENDING and r.kind == "trade" for r in records)
    assert records[0].key == records[0].payload["trade_id"]
    assert Decimal(records[1].payload["pnl"]) == 0


def test_rejected_and_resting_orders_write_nothing(priced, place):
    place(qty="100000")  # rejected: not enough cash
    place(type="limit", limit_price="1")  # resting
    assert not OutboxMessage.objects.exists()
