import asyncio
import datetime as dt
import json
import os
import uuid
from decimal import Decimal

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from market.models import PriceSample, Symbol
from market.services import SampleIn, sample_upsert_many
from trading.order_request import order_request_parse
from trading.realtime.hub import hub_stop
from trading.services import order_place

from ..conftest import REQUIRE_SERVICES

TICK = 0.5
ORIGIN = (b"origin", b"http://testserver")
HOST = (b"host", b"testserver")  # a page of the API itself: the origin matches the handshake's own host


@pytest.fixture
def realtime(settings):
    """Short ticks, an always-open market and a pub/sub prefix of our own (Redis channels ignore the db)."""
    settings.STATUS_TICK_SECONDS = TICK
    settings.TRADING_CALENDAR = "24/7"
    settings.REALTIME_CHANNEL_PREFIX = f"test-{uuid.uuid4().hex[:12]}"
    if REQUIRE_SERVICES:
        assert settings.REALTIME_BROKER == "redis", "REQUIRE_SERVICES=1: the realtime tests must run through Redis"
    return settings


@pytest_asyncio.fixture
async def hub_cleanup(realtime):
    yield
    await hub_stop()
    # The thread that ran this test's database_sync_to_async calls keeps a connection (CONN_MAX_AGE).
    await database_sync_to_async(connections.close_all)()


@pytest_asyncio.fixture
async def connect(hub_cleanup):
    """Open a WebSocket on the real ASGI application (origin check, routing, consumer)."""
    from tradingrobot.asgi import application
    from tradingrobot.security.services import api_key_create

    opened = []
    _, key = await database_sync_to_async(api_key_create)(name="ws-tests", scopes="read", created_by="tests")

    async def connect(path="/ws/updates", headers=(ORIGIN, HOST)) -> WebsocketCommunicator:
        headers = [*headers, (b"x-api-key", key.encode())]  # the updates stream needs a read key
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        opened.append(communicator)
        return communicator

    yield connect
    for communicator in opened:
        await communicator.disconnect()


async def receive(communicator, timeout=5.0) -> dict:
    return json.loads(await communicator.receive_from(timeout=timeout))


async def receive_until(communicator, frame_type: str, timeout=5.0) -> tuple[dict, list[dict]]:
    """The first frame of `frame_type`, and the frames that came before it."""
    skipped = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise AssertionError(f"no {frame_type!r} frame within {timeout} s; got {[f['type'] for f in skipped]}")
        try:
            frame = await receive(communicator, timeout=remaining)
        except TimeoutError:
            raise AssertionError(f"no {frame_type!r} frame within {timeout} s; got {skipped}") from None
        if frame["type"] == frame_type:
            return frame, skipped
        skipped.append(frame)


@database_sync_to_async
def store_price(ticker: str, price: str, at: dt.datetime | None = None) -> None:
    symbol = Symbol.objects.get(ticker=ticker)
    at = at or dt.datetime.now(dt.UTC)
    sample_upsert_many(samples=[SampleIn(symbol.pk, at, Decimal(price), 1000)], source=PriceSample.Source.MANUAL)


@database_sync_to_async
def place(ticker: str, side: str = "buy", qty: str = "1"):
    order, _ = order_place(request=order_request_parse(ticker=ticker, side=side, qty=qty), placed_by="ws-test")
    return order


def requires_redis():
    if not os.environ.get("REDIS_URL"):
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but REDIS_URL is not set")
        pytest.skip("needs Redis (set REDIS_URL)")
