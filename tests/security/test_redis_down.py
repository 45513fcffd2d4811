"""Issue 13 item 2, in one process: with the cache and the realtime broker pointed at a Redis nobody answers, the
keyed requests a user needs most work from the database (memos skipped, limits not counted), a WebSocket
handshake with a key gets its snapshot, and what truly needs the cache (a WebSocket ticket) is a clear 503, never a
500. The same with real processes, Redis stopped mid-run and dead at start: tests/faults/test_redis_down.py."""

import json
import socket

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from trading.models import Order
from trading.realtime.hub import hub_stop

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def dead_redis_url() -> str:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{probe.getsockname()[1]}/0"


@pytest.fixture
def redis_dead(settings):
    url = dead_redis_url()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    settings.API_KEY_MEMO = "on"  # the memo a shared cache enables: it must be skipped, not fail
    settings.REALTIME_BROKER, settings.REALTIME_REDIS_URL = "redis", url
    settings.TRADING_CALENDAR = "24/7"
    return url


def test_keyed_status_trade_and_stop_work_without_redis(api, priced, redis_dead):
    status = api.get("/api/status")
    assert status.status_code == 200, status.content
    assert status.json()["cash_balance"] == 100000.0

    trade = api.post("/api/trade/TSLA/buy", {"quantity": 2}, format="json", HTTP_IDEMPOTENCY_KEY="redis-down-1")
    assert trade.status_code == 201, trade.content
    assert trade.json()["order"]["status"] == "filled"
    again = api.post("/api/trade/TSLA/buy", {"quantity": 2}, format="json", HTTP_IDEMPOTENCY_KEY="redis-down-1")
    assert again.status_code == 200 and again.json()["order"]["id"] == trade.json()["order"]["id"]
    assert Order.objects.count() == 1

    after = api.get("/api/status").json()  # the ledger memo skipped: the fill shows at once
    assert [(p["symbol"], p["qty"]) for p in after["positions"]] == [("TSLA", 2.0)]

    stop = api.post("/api/stop_trading")
    assert stop.status_code == 200, stop.content
    assert stop.json()["status"] == "success" and stop.json()["trading_halted"] is True
    refused = api.post("/api/trade/TSLA/buy", {"quantity": 1}, format="json")
    assert refused.status_code == 423 and refused.json()["code"] == "trading_halted"


def test_a_revoked_key_is_refused_at_once_without_redis(api, api_key, priced, redis_dead):
    """No memo while the cache is down: a key revoked in the database is refused at the next request."""
    from tradingrobot.security.services import api_key_revoke

    assert api.get("/api/status").status_code == 200
    api_key_revoke(api_key=api_key[0], revoked_by="tests")
    refused = api.get("/api/status")
    assert refused.status_code == 401 and refused.json()["code"] == "revoked_api_key"


def test_a_ws_ticket_without_redis_is_a_clear_503(api, redis_dead):
    response = api.post("/api/ws-ticket")
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "tickets_unavailable"
    assert "X-API-Key" in response.json()["message"]


@pytest.mark.asyncio
async def test_websocket_handshake_with_a_key_streams_without_redis(api_key, priced, redis_dead):
    from tradingrobot.asgi import application

    headers = [(b"x-api-key", api_key[1].encode())]
    ws = WebsocketCommunicator(application, "/ws/updates", headers=headers)
    try:
        connected, _ = await ws.connect(timeout=10)
        assert connected
        frame = json.loads(await ws.receive_from(timeout=3))  # well before the 10 s a subscription is awaited
        assert frame["type"] == "status" and frame["snapshot"] is True
        assert frame["cash_balance"] == 100000.0
    finally:
        await ws.disconnect()
        await hub_stop()
        await database_sync_to_async(connections.close_all)()
