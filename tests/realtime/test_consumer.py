"""The consumer through the real ASGI stack (origin check, routing) with Channels' WebsocketCommunicator.

Runs through Redis pub/sub when REDIS_URL is set (CI) and in memory otherwise: the same assertions hold."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from trading.documents import status_document
from trading.services import trading_halt, trading_resume
from tradingrobot import events

from .conftest import TICK, place, receive, receive_until, store_price

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


async def test_snapshot_at_once_on_connect_is_the_status_document(connect):
    ws = await connect()
    frame = await receive(ws, timeout=2)
    expected = await database_sync_to_async(status_document)()
    assert frame["type"] == "status"
    assert frame["snapshot"] is True
    assert frame["tick"] is None
    assert frame["seq"] == 1
    assert "server_time" in frame
    contract_keys = {"timestamp", "market_open", "portfolio_value", "cash_balance", "positions", "total_positions"}
    assert contract_keys <= set(frame)
    assert set(expected) <= set(frame)
    assert frame["cash_balance"] == 100000.0
    assert frame["positions"] == []
    assert frame["total_positions"] == 0


async def test_status_ticks_on_the_configured_rhythm_with_rising_seq(connect):
    ws = await connect()
    await receive(ws)  # the snapshot
    loop = asyncio.get_running_loop()
    first = await receive(ws, timeout=TICK * 3)
    first_at = loop.time()
    second = await receive(ws, timeout=TICK * 3)
    gap = loop.time() - first_at
    assert (first["type"], second["type"]) == ("status", "status")
    assert (first["snapshot"], second["snapshot"]) == (False, False)
    assert (first["seq"], second["seq"]) == (2, 3)
    assert second["tick"] == first["tick"] + 1
    assert abs(gap - TICK) < 0.25


async def test_a_trade_reaches_every_client_as_events_and_the_next_tick(connect):
    await store_price("TSLA", "250.00")
    first, second = await connect(), await connect()
    await receive(first)
    await receive(second)

    order = await place("TSLA", "buy", "2")

    for ws in (first, second):
        filled, _ = await receive_until(ws, "order_filled")
        assert filled["order_id"] == order.pk
        assert filled["symbol"] == "TSLA"
        assert filled["side"] == "buy"
        assert filled["qty"] == "2"
        assert float(filled["price"]) == 250.0
        tick, _ = await receive_until(ws, "status")
        assert tick["total_positions"] == 1
        assert tick["positions"][0]["symbol"] == "TSLA"
        assert tick["cash_balance"] == 99500.0


async def test_rejected_order_event(connect):
    ws = await connect()
    await receive(ws)
    order = await place("NVDA", "buy", "1")  # no NVDA price stored: rejected
    rejected, _ = await receive_until(ws, "order_rejected")
    assert rejected["order_id"] == order.pk
    assert "No price" in rejected["reason"]


async def test_halt_and_resume_are_pushed(connect):
    ws = await connect()
    await receive(ws)
    await database_sync_to_async(trading_halt)(reason="maintenance", halted_by="ops")
    halted, _ = await receive_until(ws, "trading_halted")
    assert halted["reason"] == "maintenance"
    assert halted["by"] == "ops"
    tick, _ = await receive_until(ws, "status")
    assert tick["trading_halted"] is True
    assert tick["halt_reason"] == "maintenance"
    await database_sync_to_async(trading_resume)(resumed_by="ops")
    resumed, _ = await receive_until(ws, "trading_resumed")
    assert resumed["by"] == "ops"


async def test_prices_stored_is_one_frame_per_symbol_with_its_price(connect):
    await store_price("TSLA", "251.5")
    await store_price("QQQ", "400")
    ws = await connect()
    await receive(ws)
    await database_sync_to_async(_announce_in_transaction)("prices_stored", symbols=["TSLA", "QQQ"])
    first, _ = await receive_until(ws, "prices_stored")
    second, _ = await receive_until(ws, "prices_stored")
    assert {first["symbol"]: first["price"], second["symbol"]: second["price"]} == {"TSLA": 251.5, "QQQ": 400.0}
    assert first["stale"] is False
    assert first["source"] == second["source"] == "manual"  # additive: which source fed the newest sample


def _announce_in_transaction(event_type, **payload):
    from django.db import transaction

    with transaction.atomic():
        events.announce({"type": event_type, **payload})


async def test_data_gone_stale_is_announced(connect, settings):
    settings.MAX_PRICE_AGE_SECONDS = 1
    await store_price("SPY", "600")
    ws = await connect()
    stale, _ = await receive_until(ws, "data_stale", timeout=6)
    assert stale["symbol"] == "SPY"
    assert stale["stale"] is True
    assert stale["price"] == 600.0
    await store_price("SPY", "601")
    fresh, _ = await receive_until(ws, "data_fresh", timeout=3)
    assert fresh["symbol"] == "SPY"
    assert fresh["price"] == 601.0


async def test_subscribe_narrows_topics_and_symbols_and_is_acknowledged(connect):
    await store_price("TSLA", "250")
    await store_price("QQQ", "400")
    ws = await connect()
    await receive(ws)
    await ws.send_to(text_data=json.dumps({"action": "subscribe", "topics": ["orders"], "symbols": ["qqq"], "id": 7}))
    ack, _ = await receive_until(ws, "subscribed")
    assert (ack["topics"], ack["symbols"], ack["id"]) == (["orders"], ["QQQ"], 7)

    await place("TSLA")
    qqq_order = await place("QQQ")
    frame, skipped = await receive_until(ws, "order_filled", timeout=3)
    assert frame["order_id"] == qqq_order.pk
    # Neither the TSLA fill nor status ticks came through; ticks would have arrived every 0.5 s.
    await asyncio.sleep(TICK * 2.5)
    assert await ws.receive_nothing(timeout=0.1)
    assert [f["type"] for f in skipped if f["type"] != "status"] == []
    assert all(f["type"] != "status" for f in skipped)

    await ws.send_to(text_data=json.dumps({"action": "subscribe", "topics": ["status"]}))
    ack, _ = await receive_until(ws, "subscribed")
    assert (ack["topics"], ack["symbols"]) == (["orders", "status"], ["QQQ"])
    tick, _ = await receive_until(ws, "status")
    assert tick["snapshot"] is False


async def test_unsubscribe_stops_a_topic(connect):
    await store_price("TSLA", "250")
    ws = await connect()
    await receive(ws)
    await ws.send_to(text_data=json.dumps({"action": "unsubscribe", "topics": ["orders", "status"]}))
    ack, _ = await receive_until(ws, "unsubscribed")
    assert (ack["topics"], ack["symbols"]) == (["prices", "strategies"], None)
    await place("TSLA")
    await asyncio.sleep(TICK * 2.5)
    assert await ws.receive_nothing(timeout=0.1)
    await ws.send_to(text_data=json.dumps({"action": "ping", "id": "x"}))
    pong = await receive(ws)
    assert (pong["type"], pong["id"]) == ("pong", "x")


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_message"),
        ('{"action": "dance"}', "unknown_action"),
        ('{"topics": ["status"]}', "unknown_action"),
        ('{"action": "subscribe"}', "nothing_to_change"),
        ('{"action": "subscribe", "topics": ["weather"]}', "unknown_topic"),
        ('{"action": "subscribe", "topics": "status"}', "invalid_topics"),
        ('{"action": "subscribe", "symbols": ["not a ticker!"]}', "invalid_symbols"),
        ('{"action": "unsubscribe", "symbols": ["TSLA"]}', "not_subscribed_to_symbols"),
        ('{"action": "ping", "id": [1]}', "invalid_id"),
        ("x" * 5000, "message_too_large"),
    ],
)
async def test_malformed_messages_get_an_error_and_the_connection_stays_open(connect, message, code):
    ws = await connect()
    await receive(ws)
    await ws.send_to(text_data=message)
    error, _ = await receive_until(ws, "error")
    assert error["code"] == code
    assert error["message"]
    await ws.send_to(text_data='{"action": "ping"}')
    pong, _ = await receive_until(ws, "pong")
    assert pong["seq"] > error["seq"]


async def test_binary_frames_get_an_error(connect):
    ws = await connect()
    await receive(ws)
    await ws.send_to(bytes_data=b"\x00\x01")
    error, _ = await receive_until(ws, "error")
    assert error["code"] == "binary_not_supported"


async def test_reconnect_gets_a_fresh_snapshot(connect):
    await store_price("TSLA", "250")
    ws = await connect()
    assert (await receive(ws))["total_positions"] == 0
    await ws.disconnect()
    await place("TSLA")
    again = await connect()
    snapshot = await receive(again, timeout=2)
    assert snapshot["snapshot"] is True
    assert snapshot["seq"] == 1
    assert snapshot["total_positions"] == 1


async def test_a_foreign_origin_is_refused(hub_cleanup):
    from tradingrobot.asgi import application

    # (No Origin at all is a non-browser client: refused with 4401 without a key, see tests/security.)
    for headers in ([(b"origin", b"http://evil.example")], [(b"origin", b"https://evil.example:443")]):
        ws = WebsocketCommunicator(application, "/ws/updates", headers=headers)
        connected, _ = await ws.connect(timeout=5)
        assert connected is False


async def test_total_symbols_per_connection_are_capped(connect):
    """Issue 13, item 15: 100 per message was the only limit; many messages added up without bound."""
    from trading.realtime.frames import MAX_SYMBOLS

    ws = await connect()
    await receive_until(ws, "status")
    for batch in range(MAX_SYMBOLS // 50):
        symbols = [f"S{batch}{chr(65 + n // 26)}{chr(65 + n % 26)}" for n in range(50)]
        await ws.send_to(text_data=json.dumps({"action": "subscribe", "symbols": symbols}))
        ack, _ = await receive_until(ws, "subscribed")
    assert len(ack["symbols"]) == MAX_SYMBOLS
    await ws.send_to(text_data=json.dumps({"action": "subscribe", "symbols": ["ONEMORE"]}))
    error, _ = await receive_until(ws, "error")
    assert error["code"] == "too_many_symbols"
    await ws.send_to(text_data=json.dumps({"action": "subscribe", "symbols": ["S0AA"]}))
    ack, _ = await receive_until(ws, "subscribed")  # one already followed: no growth, accepted
    assert len(ack["symbols"]) == MAX_SYMBOLS


STRATEGY_DECISION = {
    "strategy_id": "STRATEGY-TSLA",
    "symbol": "TSLA",
    "timeframe": "5Min",
    "bar_end": "2025-12-16T15:30:00Z",
    "outcome": "buy",
    "reason": "crossed_up",
    "message": "",
    "order_id": 17,
    "indicators": {"sma_fast": 251.5, "sma_slow": 250.25},
}


async def test_strategy_decisions_are_frames_on_the_strategies_topic(connect):
    strategies, orders = await connect(), await connect()
    for ws, topic in ((strategies, "strategies"), (orders, "orders")):
        await receive(ws)
        await ws.send_to(text_data=json.dumps({"action": "subscribe", "topics": [topic]}))
        await receive_until(ws, "subscribed")
    await database_sync_to_async(_announce_in_transaction)("strategy_decision", **STRATEGY_DECISION)
    frame, _ = await receive_until(strategies, "strategy_decision")
    assert {key: frame[key] for key in STRATEGY_DECISION} == STRATEGY_DECISION
    assert frame["seq"] > 1 and "server_time" in frame
    await orders.send_to(text_data=json.dumps({"action": "ping", "id": "after"}))
    pong = await receive(orders)
    assert (pong["type"], pong["id"]) == ("pong", "after")  # nothing on `orders` came before it
