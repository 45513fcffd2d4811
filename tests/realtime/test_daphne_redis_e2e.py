"""End to end: two real daphne processes sharing one PostgreSQL database and one Redis, real WebSocket clients.

A trade placed through one process reaches the clients of both; a halt made in a third process (this test
process, standing in for a Celery worker or a command) reaches both; ticks keep the default 5-second rhythm
and no client sees a tick twice; a connection that stops answering pings is dropped by the server.
Fails (never skips) when REQUIRE_SERVICES=1 and PostgreSQL or Redis is missing."""

import asyncio
import base64
import itertools
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from trading.services import trading_halt, trading_resume

from .. import scratch
from ..conftest import REQUIRE_SERVICES
from .conftest import requires_redis, store_price

pytestmark = [
    pytest.mark.slow,
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ROOT = Path(__file__).resolve().parents[2]
PORT_RANGE = range(8600, 8700)  # this suite's own range; two free ports are taken from it per run
DEFAULT_TICK = 5.0


def _database_url() -> str:
    if connection.vendor != "postgresql":
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL")
        pytest.skip("needs PostgreSQL (set DATABASE_URL): two processes share its database")
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_for_http(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"daphne on {port} exited:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers (perhaps 401 without a key): it is up
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"daphne on {port} did not start:\n{log.read_text()[-3000:]}")


@pytest.fixture
def daphnes(realtime, hub_cleanup, tmp_path):
    """Two daphne processes on the test database and Redis, with the default 5 s tick; yields their two ports."""
    requires_redis()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tradingrobot.settings",
            "SECRET_KEY": "e2e-only-not-a-secret",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": os.environ["REDIS_URL"],
            "REALTIME_CHANNEL_PREFIX": realtime.REALTIME_CHANNEL_PREFIX,
            "TRADING_CALENDAR": "24/7",
            "STATUS_TICK_SECONDS": str(DEFAULT_TICK),
            "THROTTLE_RATE_TRADE": "1000/min",
        }
    )
    procs = []
    first = scratch.free_port(PORT_RANGE)
    ports = (first, scratch.free_port(PORT_RANGE, {first}))
    try:
        for port in ports:
            log = tmp_path / f"daphne-{port}.log"
            command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
            command += ["--ping-interval", "1", "--ping-timeout", "2", "tradingrobot.asgi:application"]
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
            )
            procs.append((proc, log))
            _wait_for_http(port, proc, log)
        yield ports
    finally:
        for proc, _ in procs:
            proc.terminate()
        for proc, _ in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@database_sync_to_async
def _api_key() -> str:
    """A key with read and trade scopes, when the API requires keys (tradingrobot.security)."""
    try:
        from tradingrobot.security.services import api_key_create
    except ImportError:
        return ""
    _, plain = api_key_create(name=f"e2e-{uuid.uuid4().hex[:6]}", scopes="read,trade", created_by="e2e")
    return plain


def _headers(key: str) -> dict:
    return {"Authorization": f"Api-Key {key}"} if key else {}


async def _ws(port: int, key: str):
    from websockets.asyncio.client import connect

    return await connect(
        f"ws://127.0.0.1:{port}/ws/updates", origin=f"http://127.0.0.1:{port}", additional_headers=_headers(key)
    )


async def _next(ws, frame_type: str, timeout: float = 8.0) -> tuple[dict, float]:
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=max(0.01, deadline - time.monotonic())))
        if frame["type"] == frame_type:
            return frame, time.time()


def _post_trade(port: int, key: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/trade/TSLA/buy",
        data=json.dumps({"quantity": 1}).encode(),
        headers={"Content-Type": "application/json", **_headers(key)},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - a http:// URL we built
        return json.loads(response.read())


async def test_two_daphne_processes_deliver_events_and_ticks(daphnes):
    await store_price("TSLA", "250.00")
    key = await _api_key()
    clients = [await _ws(daphnes[0], key), await _ws(daphnes[1], key)]
    try:
        for ws in clients:
            snapshot, _ = await _next(ws, "status")
            assert snapshot["snapshot"] is True

        # A trade through process 1 reaches the clients of both processes.
        answer = await asyncio.to_thread(_post_trade, daphnes[0], key)
        assert answer["status"] == "success", answer
        order_id = answer["order"]["id"]
        for ws in clients:
            filled, _ = await _next(ws, "order_filled")
            assert (filled["order_id"], filled["symbol"], filled["side"]) == (order_id, "TSLA", "buy")

        # A halt made in another process (this one, like a Celery worker) reaches both too.
        await database_sync_to_async(trading_halt)(reason="e2e", halted_by="e2e")
        for ws in clients:
            halted, _ = await _next(ws, "trading_halted")
            assert halted["reason"] == "e2e"
        await database_sync_to_async(trading_resume)(resumed_by="e2e")

        # Ticks: every process, every 5 s (+-0.5 s), each tick once per client, the same tick numbers.
        seen = await asyncio.gather(*(_ticks(ws, 4) for ws in clients))
        for ticks in seen:
            numbers = [frame["tick"] for frame, _ in ticks]
            assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), numbers
            arrivals = [at for _, at in ticks]
            for earlier, later in itertools.pairwise(arrivals):
                assert abs((later - earlier) - DEFAULT_TICK) <= 0.5, arrivals
            for frame, at in ticks:
                assert abs(at - frame["tick"] * DEFAULT_TICK) <= 0.5  # on the wall-clock grid
            assert ticks[-1][0]["total_positions"] == 1
        # A tick can fall between the halt's frames above: the client whose process sent it before the halt skipped
        # it while reading up to the halt, the other kept it. From the later first tick on they see the same ticks.
        first = max(ticks[0][0]["tick"] for ticks in seen)
        same = [[f["tick"] for f, _ in ticks if f["tick"] >= first] for ticks in seen]
        assert same[0] == same[1] and len(same[0]) >= 3, seen
    finally:
        for ws in clients:
            await ws.close()


async def _ticks(ws, count: int) -> list[tuple[dict, float]]:
    ticks = []
    while len(ticks) < count:
        frame, at = await _next(ws, "status", timeout=DEFAULT_TICK * 2)
        if not frame["snapshot"]:
            ticks.append((frame, at))
    return ticks


async def test_a_client_that_stops_answering_pings_is_dropped(daphnes):
    key = await _api_key()
    sock = await asyncio.to_thread(_raw_handshake, daphnes[1], key)
    try:
        # The server pings after 1 s idle and gives up 2 s later; it checks every 2 s.
        closed_after = await asyncio.to_thread(_seconds_until_closed, sock, 15.0)
        assert closed_after is not None, "the server kept a connection that never answered a ping"
    finally:
        sock.close()


def _raw_handshake(port: int, key: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    nonce = base64.b64encode(os.urandom(16)).decode()
    auth = f"Authorization: Api-Key {key}\r\n" if key else ""
    sock.sendall(
        (
            f"GET /ws/updates HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {nonce}\r\nSec-WebSocket-Version: 13\r\n{auth}\r\n"
        ).encode()
    )
    head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head[:200]
    return sock


def _seconds_until_closed(sock: socket.socket, limit: float) -> float | None:
    """Read (never answering) until the server closes the TCP connection."""
    start = time.monotonic()
    sock.settimeout(1.0)
    while time.monotonic() - start < limit:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - start
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - start
    return None
