"""Faults: Redis down (issue 13 item 2). The keyed requests that matter most — GET /api/status, POST /api/trade,
POST /api/stop_trading (and resume) and the WebSocket handshake with a key — answered by real daphne processes
before Redis stops, after it stopped in the middle of the run, and by a web process started while Redis was already
dead: never a 5xx, the database standing in for the cache; readiness says 503 with "redis" failing.
"""

import asyncio
import json
import socket
import uuid
from decimal import Decimal

import pytest
import requests
import websockets

from tests.ops.test_processes import wait_for

from .conftest import SUMMARY, Stack, free_port
from .test_nothing_lost import scenario

pytestmark = [pytest.mark.faults, pytest.mark.slow]


def ws_first_frame(url: str, key: str, timeout: float = 8.0) -> dict:
    """The first frame a WebSocket client with a key gets (the status snapshot)."""

    async def first() -> dict:
        ws_url = url.replace("http://", "ws://") + "/ws/updates"
        async with websockets.connect(ws_url, additional_headers={"X-API-Key": key}, open_timeout=timeout) as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), timeout))

    return asyncio.run(first())


def keyed_round(url: str, key: str, trader) -> dict[str, int | str]:
    """One of each request a user needs while Redis is away; the status code (or frame type) of each."""
    headers = {"X-API-Key": key}
    seen: dict[str, int | str] = {}
    status = requests.get(f"{url}/api/status", headers=headers, timeout=10)
    seen["GET /api/status"] = status.status_code
    idempotency = f"faults-redis-{uuid.uuid4().hex}"
    trade = requests.post(
        f"{url}/api/trade/SPY/buy",
        json={"quantity": 1},
        headers={**headers, "Idempotency-Key": idempotency},
        timeout=10,
    )
    seen["POST /api/trade"] = trade.status_code
    if trade.status_code in (200, 201):
        trader.acknowledged[idempotency] = trade.json()["order"]["id"]
        seen["order"] = trade.json()["order"]["status"]
    stop = requests.post(f"{url}/api/stop_trading", headers=headers, timeout=10)
    seen["POST /api/stop_trading"] = stop.status_code
    seen["halted"] = str(stop.status_code == 200 and stop.json().get("trading_halted"))
    resume = requests.post(f"{url}/api/resume_trading", headers=headers, timeout=10)
    seen["POST /api/resume_trading"] = resume.status_code
    try:
        frame = ws_first_frame(url, key)
        seen["ws /ws/updates"] = f"{frame.get('type')}{' snapshot' if frame.get('snapshot') else ''}"
    except (OSError, TimeoutError, websockets.WebSocketException) as error:
        seen["ws /ws/updates"] = f"{type(error).__name__}: {error}"
    return seen


EXPECTED = {
    "GET /api/status": 200,
    "POST /api/trade": 201,
    "order": "filled",
    "POST /api/stop_trading": 200,
    "halted": "True",
    "POST /api/resume_trading": 200,
    "ws /ws/updates": "status snapshot",
}


def test_redis_stopped_mid_run(stack):
    with scenario(
        stack, "Redis stopped mid-run (keyed API + WebSocket)", "keyed round before/after", expect_failing="redis"
    ) as trader:
        before = keyed_round(stack.url, stack.api_key, trader)
        assert before == EXPECTED, before
        stack.redis.stop()  # SIGTERM: Redis goes away between two requests of the same processes
        assert wait_for(lambda: "redis" in stack.ready()[1].get("failing", ()), timeout=15), stack.ready()
        assert stack.ready()[0] == 503
        after = keyed_round(stack.url, stack.api_key, trader)
        again = keyed_round(stack.url, stack.api_key, trader)  # pooled connections dead, memos dropped: still so
        public = requests.get(f"{stack.url}/api/health/ready", timeout=10)
        stack.redis.start()
    assert after == EXPECTED, f"{after}\n{stack.logs()}"
    assert again == EXPECTED, again
    assert public.status_code == 503, public.text
    SUMMARY[-1]["orders"] += " (3 keyed rounds)"


def dead_port() -> int:
    port = free_port()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} answers"
    return port


def test_redis_dead_at_start(stack, tmp_path):
    """A second daphne on the same database, its REDIS_URL pointing at a port nobody listens on from the start."""
    dead = f"redis://127.0.0.1:{dead_port()}/0"
    env = {**stack.env, "REDIS_URL": dead, "CELERY_BROKER_URL": dead}
    web = Stack(env, tmp_path, free_port({stack.port, stack.redis.port, stack.wordpress.port}), stack.database)
    web.web()
    try:
        assert wait_for(lambda: web.ready()[0] != 0, timeout=60), web.logs()
        status, body = web.ready()
        assert status == 503 and "redis" in body.get("failing", ()), (status, body)

        class Acknowledged:
            acknowledged: dict[str, int] = {}

        seen = keyed_round(web.url, stack.api_key, Acknowledged)
        assert seen == EXPECTED, f"{seen}\n{web.logs()}"
        ticket = requests.post(f"{web.url}/api/ws-ticket", headers={"X-API-Key": stack.api_key}, timeout=10)
        assert ticket.status_code == 503 and ticket.json()["code"] == "tickets_unavailable", ticket.text
        assert web.crashed() == {}
    finally:
        web.stop()
    # The order placed through the Redis-less process is in the ledger the live stack serves.
    (order_id,) = Acknowledged.acknowledged.values()
    (status_row,) = stack.sql("SELECT status, filled_qty FROM trading_order WHERE id = %s", order_id)
    assert status_row == ("filled", Decimal("1"))
    SUMMARY.append(
        {
            "fault": "Redis dead at start (2nd daphne)",
            "load": "keyed round + ws-ticket",
            "orders": "1",
            "fills": "-",
            "wordpress": "-",
            "readiness": "503 (failing: redis)",
            "passed": True,
        }
    )
