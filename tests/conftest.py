import datetime as dt
import os
from decimal import Decimal

import pytest
import time_machine
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test.client import AsyncClient, Client
from websockets.asyncio.connection import Connection as AsyncWsConnection
from websockets.exceptions import ConnectionClosed
from websockets.sync.connection import Connection as SyncWsConnection

from market.models import PriceSample, Symbol
from market.services import SampleIn, sample_upsert_many
from portfolio.ledger import account_get_or_create
from trading.order_request import order_request_parse
from trading.services import order_place

from . import loopback_guard
from .error_catalogue import check_response, check_ws_closed, check_ws_message, check_ws_received

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

# A Tuesday, mid-session on the NYSE: 2025-12-16 15:30 UTC = 10:30 New York.
MARKET_OPEN_AT = dt.datetime(2025, 12, 16, 15, 30, tzinfo=dt.UTC)
# The following Saturday.
MARKET_CLOSED_AT = dt.datetime(2025, 12, 20, 15, 30, tzinfo=dt.UTC)


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres: needs PostgreSQL")
    loopback_guard.install()


def pytest_sessionfinish(session, exitstatus):
    if loopback_guard.refused:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nnon-loopback connections attempted: {sorted(set(loopback_guard.refused))}")


@pytest.fixture(autouse=True)
def error_codes_catalogued(monkeypatch):
    """Every test checks what it receives: a response (Django's test client, DRF's APIClient) or a WebSocket
    message (channels' communicator, or the `websockets` client against daphne) carrying an error code or a close
    code missing from tradingrobot/error_codes.py fails."""
    sync_request, async_request, ws_receive = Client.request, AsyncClient.request, WebsocketCommunicator.receive_output
    sync_recv, async_recv = SyncWsConnection.recv, AsyncWsConnection.recv

    def request(self, **environ):
        response = sync_request(self, **environ)
        check_response(response, environ.get("PATH_INFO", ""))
        return response

    async def arequest(self, **scope):
        response = await async_request(self, **scope)
        check_response(response, scope.get("path", ""))
        return response

    async def receive_output(self, timeout=1):
        message = await ws_receive(self, timeout)
        check_ws_message(message)
        return message

    def recv(self, *args, **kwargs):
        try:
            data = sync_recv(self, *args, **kwargs)
        except ConnectionClosed as closed:
            check_ws_closed(closed)
            raise
        check_ws_received(data)
        return data

    async def arecv(self, *args, **kwargs):
        try:
            data = await async_recv(self, *args, **kwargs)
        except ConnectionClosed as closed:
            check_ws_closed(closed)
            raise
        check_ws_received(data)
        return data

    monkeypatch.setattr(Client, "request", request)
    monkeypatch.setattr(AsyncClient, "request", arequest)
    monkeypatch.setattr(WebsocketCommunicator, "receive_output", receive_output)
    monkeypatch.setattr(SyncWsConnection, "recv", recv)
    monkeypatch.setattr(AsyncWsConnection, "recv", arecv)


@pytest.fixture
def require_postgres(db):
    """For tests whose point is PostgreSQL behaviour (row locks): fail in CI, skip on a laptop on SQLite."""
    if connection.vendor != "postgresql":
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL")
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def market_open():
    with time_machine.travel(MARKET_OPEN_AT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def market_closed():
    with time_machine.travel(MARKET_CLOSED_AT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def symbols(db) -> dict[str, Symbol]:
    return {s.ticker: s for s in Symbol.objects.all()}


@pytest.fixture
def add_price(symbols):
    """Store a sample through the real ingestion service."""

    def add(ticker: str, price, at: dt.datetime, volume: int | None = None) -> PriceSample:
        sample = SampleIn(symbols[ticker].pk, at, Decimal(str(price)), volume)
        sample_upsert_many(samples=[sample], source=PriceSample.Source.MANUAL)
        return PriceSample.objects.get(symbol=symbols[ticker], timestamp=at)

    return add


@pytest.fixture
def heard():
    """Every committed event, in order (listening to the whole catalogue for the test's duration)."""
    from tradingrobot import events

    seen: list[dict] = []
    events.listen(seen.append, types=events.event_types())
    yield seen
    events.unlisten(seen.append)


@pytest.fixture
def api_key(db):
    """(ApiKey, plain key) with every scope, made by the security service."""
    from tradingrobot.security.services import api_key_create

    return api_key_create(name="tests", scopes="read,trade,admin", created_by="tests")


@pytest.fixture
def api(api_key):
    """An API client sending a key with every scope."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key[1])
    return client


@pytest.fixture
def anon_api(db):
    """An API client without credentials."""
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def account(db):
    return account_get_or_create()


@pytest.fixture
def priced(add_price, market_open):
    """TSLA at 250 and NVDA at 100, one minute old, with the market open."""
    add_price("TSLA", "250.00", MARKET_OPEN_AT - dt.timedelta(minutes=1), volume=1_000_000)
    add_price("NVDA", "100.00", MARKET_OPEN_AT - dt.timedelta(minutes=1), volume=2_000_000)


@pytest.fixture
def place(db):
    """Place an order through the service, as the API would."""

    def place(ticker="TSLA", side="buy", qty="10", **kwargs):
        request = order_request_parse(ticker=ticker, side=side, qty=qty, **kwargs)
        order, _ = order_place(request=request, placed_by="test")
        return order

    return place


@pytest.fixture
def scratch_db(tmp_path):
    """A migrated database for subprocesses (tests/scratch.py), dropped afterwards."""
    from tests.scratch import ScratchDatabase

    database = ScratchDatabase(tmp_path)
    yield database
    database.drop()
