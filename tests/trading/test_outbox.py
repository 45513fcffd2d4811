import os
import re
import subprocess
import sys
from decimal import Decimal

from trading import outbox
from trading.models import OutboxMessage, TradingState
from trading.outbox import robot_instance_id


def test_every_fill_writes_a_trade_record_in_the_wordpress_shape(priced, place, add_price):
    buy = place(qty="10")
    sell = place(side="sell", qty="4", strategy_id="MEAN-REVERSION")
    records = list(OutboxMessage.objects.order_by("id"))
    assert [r.payload for r in records] == [
        {
            "trade_id": f"TRP-{robot_instance_id()}-{buy.fills.get().pk}",
            "strategy_id": "STRATEGY-TSLA",
            "symbol": "TSLA",
            "side": "BUY",
            "quantity": "10.0000",
            "price": "250.0000",
            "pnl": "0.0000",
            "execution_time_utc": "2025-12-16T15:30:00+00:00",
        },
        {
            "trade_id": f"TRP-{robot_instance_id()}-{sell.fills.get().pk}",
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


def test_trade_ids_carry_this_databases_instance_id(priced, place):
    """Two robot databases pushing to one site never send the same trade_id: the migration gave this database a
    random id of its own, and every trade id carries it."""
    stored = TradingState.objects.get(pk=TradingState.SINGLETON_ID).instance_id
    assert re.fullmatch(r"[0-9a-f]{8}", stored)
    fill = place(qty="1").fills.get()
    trade_id = OutboxMessage.objects.get().payload["trade_id"]
    assert trade_id == f"TRP-{stored}-{fill.pk}"
    assert re.fullmatch(r"[A-Za-z0-9_.:\-]{1,64}", trade_id)  # the receiver's rule (CONTRACTS.md)


def test_robot_instance_id_setting_wins(priced, place, settings):
    settings.ROBOT_INSTANCE_ID = "east2"
    fill = place(qty="1").fills.get()
    assert OutboxMessage.objects.get().payload["trade_id"] == f"TRP-east2-{fill.pk}"


def test_a_state_row_made_without_an_id_gets_one(db, monkeypatch):
    """A row created after the migration (a flushed database) is named at first use, once."""
    TradingState.objects.filter(pk=TradingState.SINGLETON_ID).update(instance_id="")
    monkeypatch.setattr(outbox, "_instance_id", None)
    first = outbox.robot_instance_id()
    assert re.fullmatch(r"[0-9a-f]{8}", first)
    assert TradingState.objects.get(pk=TradingState.SINGLETON_ID).instance_id == first
    monkeypatch.setattr(outbox, "_instance_id", None)
    assert outbox.robot_instance_id() == first


def test_a_bad_robot_instance_id_refuses_to_start():
    done = subprocess.run(
        [sys.executable, "-c", "import tradingrobot.settings"],
        env={**os.environ, "ROBOT_INSTANCE_ID": "a b/c"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "ROBOT_INSTANCE_ID" in done.stderr
