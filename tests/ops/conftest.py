import datetime as dt
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integration.models import FeedStatus
from market.clock import now
from tests import scratch
from tests.conftest import MARKET_OPEN_AT
from tests.integration.conftest import devfeed, redis_keys_delete, wp_settings  # noqa: F401 - fixtures
from tradingrobot.ops.heartbeats import heartbeat_record
from tradingrobot.ops.models import Heartbeat

PORTS = range(8500, 8600)  # this suite's own port range
METRICS_TOKEN = "metrics-test-token-0123456789"


def free_port() -> int:
    return scratch.free_port(PORTS)


@pytest.fixture
def ops_settings(settings):
    """An own cache namespace (breaker keys), a metrics token, no webhook, thresholds as shipped."""
    settings.WP_CACHE_PREFIX = f"wp-ops-{uuid.uuid4().hex[:8]}"
    settings.METRICS_TOKEN = METRICS_TOKEN
    settings.METRICS_IP_ALLOWLIST = []
    settings.ALERT_WEBHOOK_URL = ""
    settings.OPS_READY_SKIP = []
    yield settings
    redis_keys_delete(f"*{settings.WP_CACHE_PREFIX}*")


def feed_ok(at: dt.datetime | None = None) -> None:
    at = at or now()
    FeedStatus.objects.update_or_create(
        kind=FeedStatus.Kind.POLL, defaults={"last_attempt_at": at, "last_success_at": at, "consecutive_failures": 0}
    )


def heartbeats_ok() -> None:
    heartbeat_record(name="worker:celery@test", kind=Heartbeat.Kind.WORKER, started=True)
    heartbeat_record(name="beat", kind=Heartbeat.Kind.BEAT)


@pytest.fixture
def healthy(ops_settings, add_price, symbols, market_open):
    """Everything readiness asks for: prices a minute old for every symbol, a good poll, worker and beat alive."""
    for ticker in symbols:
        add_price(ticker, "100.00", MARKET_OPEN_AT - dt.timedelta(minutes=1), volume=1000)
    feed_ok()
    heartbeats_ok()
    return market_open


class Webhook:
    """A real loopback HTTP server standing in for a chat webhook; records every JSON body it accepts."""

    def __init__(self):
        self.received: list[dict] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                import json

                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if hook.status < 300:
                    hook.received.append(body)
                self.send_response(hook.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook(ops_settings):
    hook = Webhook()
    ops_settings.ALERT_WEBHOOK_URL = hook.url
    yield hook
    hook.close()
