"""The fake Alpaca on loopback, the Alpaca broker installed against it, and its trade_updates stream consumed in a
thread whose updates the test's own thread applies (so they share the test's database transaction)."""

import queue
import threading
import time
import uuid

import pytest

from integration.alpaca_broker import AlpacaBroker
from integration.alpaca_stream import orders_reconcile, trade_update_apply, trading_stream_build
from tests import scratch
from trading.brokers import broker_install

from .fake_alpaca import KEY_ID, SECRET, FakeAlpaca

PORTS = range(9100, 9200)  # this suite's own port range


@pytest.fixture
def fake():
    http_port = scratch.free_port(PORTS)
    server = FakeAlpaca(http_port, scratch.free_port(PORTS, {http_port}))
    yield server
    server.close()
    assert not server.spec_problems, server.spec_problems


@pytest.fixture
def alpaca_settings(db, settings, fake):
    settings.ALPACA_API_KEY_ID, settings.ALPACA_API_SECRET_KEY = KEY_ID, SECRET
    settings.ALPACA_TRADING_URL, settings.ALPACA_STREAM_URL = fake.url, fake.stream_url
    settings.ALPACA_RETRY_WAIT_SECONDS = 0.05
    # Every test's client shares the fake account's budget through Redis: lifted here (tests/alpaca/test_budget.py
    # proves the budget with its own sessions).
    settings.ALPACA_REQUESTS_PER_MINUTE = 100_000
    settings.TRADING_BROKER = "alpaca"
    settings.WP_CACHE_PREFIX = f"wp-alpaca-{uuid.uuid4().hex[:8]}"  # own cache keys (the mismatch record)
    return settings


@pytest.fixture
def alpaca(alpaca_settings):
    broker = AlpacaBroker()
    previous = broker_install(broker)
    yield broker
    broker_install(previous)


class StreamHandle:
    """The SDK's TradingStream in a thread; `settle()` applies what it received until it has been quiet."""

    def __init__(self, broker: AlpacaBroker, capture):
        self.received: queue.Queue = queue.Queue()
        self.broker, self.capture = broker, capture
        self.stream = trading_stream_build(
            on_update=self.received.put, on_connect=lambda: self.received.put("connected")
        )
        self.thread = threading.Thread(target=self.stream.run, daemon=True)
        self.thread.start()
        self.updates = self.reconciliations = 0
        self.wait_connected()

    def wait_connected(self, connections: int = 1, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while self.stream.connections < connections:
            assert time.monotonic() < deadline, "the stream did not connect"
            time.sleep(0.02)
        self.settle()

    def settle(self, quiet: float = 0.3, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                item = self.received.get(timeout=quiet)
            except queue.Empty:
                return
            with self.capture(execute=True):
                if item == "connected":
                    self.reconciliations += 1
                    orders_reconcile(client=self.broker.client)
                else:
                    self.updates += 1
                    trade_update_apply(item)
        raise AssertionError("the stream never went quiet")

    def stop(self) -> None:
        self.stream.stop()
        self.thread.join(timeout=10)


@pytest.fixture
def stream(alpaca, django_capture_on_commit_callbacks):
    handle = StreamHandle(alpaca, django_capture_on_commit_callbacks)
    yield handle
    handle.stop()
