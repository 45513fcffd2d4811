"""The whole robot as real processes (daphne, a Celery worker, Celery beat on RedBeat), its own PostgreSQL database,
its own redis-server (a subprocess on a private port, so it can be killed and restarted) and the development feed
as WordPress, in a thread of this process so the test sees every push-back POST that reached it.

One stack per module; every scenario starts by bringing it back to ready and ends by checking the invariants over
everything that ever happened, so the scenarios hold in any order.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from integration.devfeed import Handler, server_build
from tests import scratch
from tests.conftest import REQUIRE_SERVICES
from tests.integration.conftest import devfeed, wp_settings  # noqa: F401 - fixtures for test_recovery_units
from tests.ops.test_processes import Robot, wait_for
from tests.scratch import ScratchDatabase

PORTS = range(8600, 8700)  # this suite's own port range (redis-server, daphne, the feed)
FAULTS_METRICS_TOKEN = "faults-metrics-token-0123456789"
READY_DETAILS = {"Authorization": f"Bearer {FAULTS_METRICS_TOKEN}"}
SUMMARY: list[dict] = []  # one row per scenario, printed at the end of the run


def free_port(taken: set[int] = frozenset()) -> int:
    return scratch.free_port(PORTS, taken)


def need(condition: bool, why: str) -> None:
    if not condition:
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {why}")
        pytest.skip(why)


# --- Redis ------------------------------------------------------------------------------------------------


class RedisServer:
    """A redis-server of our own, without persistence: a restart loses every key, as a crashed cache does."""

    def __init__(self, port: int, log: Path):
        self.port, self.log, self.process = port, log, None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
        )
        assert wait_for(self.answers, timeout=10), self.log.read_text()[-2000:]

    def answers(self) -> bool:
        import redis

        try:
            client = redis.Redis(port=self.port, socket_timeout=1)
            return bool(client.ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


# --- WordPress ------------------------------------------------------------------------------------------


class RecordingHandler(Handler):
    """The development feed's handler; every push-back POST is logged, and POSTs can be made to hang (the request
    reaches the site, is stored, and the answer never comes: the worst case for a delivery killed in flight)."""

    site: "WordPress"

    def do_GET(self):
        with self.site.lock:
            self.site.gets.append(self.path)
        super().do_GET()

    def _pushback(self, route: str) -> None:
        site = self.site
        if site.redirect_status:  # a front (a moved site, an http->https rule) answering for WordPress
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            with site.lock:
                site.redirected += 1
            self.send_response(site.redirect_status)
            self.send_header("Location", f"{site.url}{self.path}")  # its GET answers 200: the list of trades
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if site.post_hang.is_set() and route.endswith("/trades"):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            document = json.loads(raw)
            with site.lock:
                site.posts.append(document)
                site.in_flight += 1
            site.feed.receiver.trade_add(document)
            site.post_release.wait(60)
            with site.lock:
                site.in_flight -= 1
            self._json(201, document)  # to a deliverer that may be gone (a broken pipe, ignored)
            return
        if route.endswith("/trades"):
            # Log the body, then let the base handler read it again.
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            with site.lock:
                site.posts.append(json.loads(raw))
            self.rfile, rest = _Replay(raw, self.rfile), self.rfile
            try:
                super()._pushback(route)
            finally:
                self.rfile = rest
            return
        super()._pushback(route)


class _Replay:
    def __init__(self, raw: bytes, rest):
        self.raw, self.rest = raw, rest

    def read(self, size: int = -1) -> bytes:
        data, self.raw = self.raw, b""
        return data

    def __getattr__(self, name):
        return getattr(self.rest, name)


class WordPress:
    """The development feed on a fixed port; `down()` stops the server (connections refused), `up()` starts it again
    on the same port with the same prices and the same received trades."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.posts: list[dict] = []
        self.gets: list[str] = []  # paths, in arrival order
        self.lock = threading.Lock()
        self.in_flight = 0
        self.post_hang = threading.Event()
        self.post_release = threading.Event()
        self.redirect_status = 0  # 301/302: every push-back POST is answered with a redirect to the same path
        self.redirected = 0
        self.feed = None
        self.server = None

    def up(self) -> None:
        server = server_build(host="127.0.0.1", port=self.port, zone="America/New_York")
        if self.feed is None:
            self.feed = server.feed
        handler = type("FaultsHandler", (RecordingHandler,), {"feed": self.feed, "site": self})
        server.RequestHandlerClass = handler
        server.feed = self.feed
        server.handle_error = lambda request, address: None  # answers to a killed worker: broken pipes, expected
        self.server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def fault(self, mode: str) -> None:
        with self.feed.state.lock:
            self.feed.state.fault, self.feed.state.fault_count = mode, -1

    @property
    def trades(self) -> dict[str, dict]:
        with self.feed.receiver.lock:
            return dict(self.feed.receiver.trades)

    def latest_row(self, ticker: str) -> dict:
        return self.feed.stock_data()["stock_data"][self.feed.state.symbols.index(ticker)]


# --- the robot ----------------------------------------------------------------------------------------------


class Stack(Robot):
    """daphne, one Celery worker (solo pool) and one Celery beat (RedBeat) as separate processes."""

    def __init__(self, env: dict, tmp_path: Path, port: int, database: ScratchDatabase):
        super().__init__(env, tmp_path)
        self.port, self.url, self.database = port, f"http://127.0.0.1:{port}", database
        self.api_key = ""
        self.watch: ReadinessWatch | None = None  # the running scenario's readiness watch (test_nothing_lost.scenario)

    def worker(self) -> Path:
        queue = self.env["CELERY_QUEUE"]
        return self.start("worker", "celery", "-A", "tradingrobot", "worker", "--pool", "solo", "-Q", queue)

    def beat(self) -> Path:
        return self.start("beat", "celery", "-A", "tradingrobot", "beat")

    def ensure(self) -> None:
        """Every process running (a scenario may have left one stopped)."""
        for name, start in (("web", self.web), ("worker", self.worker), ("beat", self.beat)):
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                self.processes.pop(name, None)
                start()

    def crashed(self) -> dict[str, int]:
        return {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}

    def logs(self, tail: int = 2500) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-tail:]}" for p in sorted(self.tmp_path.glob("*.log")))

    def ready(self) -> tuple[int, dict]:
        try:
            response = requests.get(f"{self.url}/api/health/ready", headers=READY_DETAILS, timeout=5)
        except requests.RequestException:
            return 0, {}
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {"body": response.text[:300]}

    def get(self, path: str) -> dict:
        response = requests.get(f"{self.url}{path}", headers={"X-API-Key": self.api_key}, timeout=10)
        response.raise_for_status()
        return response.json(parse_float=Decimal)

    def sql(self, query: str, *params) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.database.url.replace("postgres://", "postgresql://")) as conn:
            return conn.execute(query, params).fetchall()


@dataclass
class ReadinessWatch:
    """Polls /api/health/ready in a thread: (seconds since start, status, failing checks)."""

    stack: Stack
    period: float = 0.3
    seen: list[tuple[float, int, tuple]] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            status, body = self.stack.ready()
            self.seen.append((time.monotonic() - self._started, status, tuple(body.get("failing", ()))))
            self._stop.wait(self.period)

    def stop(self) -> list[tuple[float, int, tuple]]:
        self._stop.set()
        self._thread.join(10)
        return self.seen

    def saw(self, failing: str) -> bool:
        """Whether a sample has recorded `failing` among the failing checks (a fault held until then cannot end
        between two samples unseen)."""
        return any(failing in names for _, _, names in list(self.seen))

    def went_down_and_up(self, *, down: set[int]) -> tuple[bool, str]:
        """Readiness answered one of `down` during the fault and 200 at the end; a short text of what was seen."""
        statuses = [s for _, s, _ in self.seen]
        failing = sorted({name for _, s, names in self.seen if s in down for name in names})
        first_down = next((i for i, s in enumerate(statuses) if s in down), None)
        ok = first_down is not None and statuses[-1] == 200 and statuses[0] == 200
        runs = [s for i, s in enumerate(statuses) if i == 0 or s != statuses[i - 1]]
        text = " -> ".join("no answer" if s == 0 else str(s) for s in runs)
        return ok, f"{text} (failing: {', '.join(failing) or '-'})"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    need(connection.vendor == "postgresql", "the fault tests need PostgreSQL (DATABASE_URL=postgres://...)")
    need(shutil.which("redis-server") is not None, "the fault tests start their own redis-server: not installed")
    tmp_path = tmp_path_factory.mktemp("faults")
    database = ScratchDatabase(tmp_path, suffix="faults")
    taken: set[int] = set()
    redis_port = free_port(taken)
    taken.add(redis_port)
    redis_server = RedisServer(redis_port, tmp_path / "redis.log")
    redis_server.start()
    wp_port = free_port(taken | {redis_port})
    taken.add(wp_port)
    wordpress = WordPress(wp_port)
    wordpress.up()
    web_port = free_port(taken)
    tag = uuid.uuid4().hex[:8]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "PROMETHEUS_"))},
        "DJANGO_SETTINGS_MODULE": "tradingrobot.settings",
        "SECRET_KEY": "faults-test-only",
        "METRICS_TOKEN": FAULTS_METRICS_TOKEN,  # readiness details (failing checks) need the metrics credential
        "DATABASE_URL": database.url,
        "REDIS_URL": redis_server.url,
        "CONN_MAX_AGE": "0",
        "LOG_FORMAT": "plain",
        "WP_BASE_URL": wordpress.url,
        "WP_TIMEZONE": "",
        "WP_POLL_SECONDS": "2",
        "WP_CONNECT_TIMEOUT": "1",
        "WP_READ_TIMEOUT": "20",
        "WP_RETRIES": "1",
        "WP_BACKOFF_SECONDS": "0.2",
        "WP_BACKOFF_JITTER_SECONDS": "0.1",
        "WP_BACKOFF_MAX_SECONDS": "0.5",
        "WP_BREAKER_FAILURES": "3",
        "WP_BREAKER_RESET_SECONDS": "2",
        "WP_CACHE_PREFIX": f"wp-faults-{tag}",
        "PUSHBACK_SECONDS": "1",
        "PUSHBACK_BACKOFF_SECONDS": "0.5",
        "PUSHBACK_BACKOFF_MAX_SECONDS": "2",
        "PUSHBACK_LEASE_SECONDS": "4",
        "TRADING_CALENDAR": "24/7",
        "THROTTLE_RATE_TRADE": "100000/min",
        "THROTTLE_RATE_KEY": "100000/min",
        "THROTTLE_RATE_IP": "100000/min",
        "CELERY_QUEUE": f"faults-{tag}",
        "CELERY_REDBEAT_KEY_PREFIX": f"redbeat-faults-{tag}",
        "CELERY_REDBEAT_LOCK_TIMEOUT": "6",
        "CELERY_BEAT_MAX_LOOP_INTERVAL": "1",
        "OPS_HEARTBEAT_SECONDS": "0.5",
        "OPS_WORKER_MAX_AGE_SECONDS": "3",
        "OPS_BEAT_HEARTBEAT_SECONDS": "1",
        "OPS_BEAT_MAX_AGE_SECONDS": "8",
        "OPS_POLL_MAX_AGE_SECONDS": "10",
        "OPS_OUTBOX_MAX_AGE_SECONDS": "6",  # records that wait this long turn readiness 503 "outbox"
        "OPS_REDIS_TIMEOUT_SECONDS": "0.5",
        "EQUITY_SNAPSHOT_SECONDS": "3600",
        "PERFORMANCE_PUSH_SECONDS": "3600",
        "ORDERS_HOUSEKEEPING_SECONDS": "3600",
        "OPS_ALERT_SECONDS": "3600",
    }
    manage = [sys.executable, "manage.py"]
    base = Path(settings.BASE_DIR)
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=base, env=env, check=True, timeout=300)  # noqa: S603
    created = subprocess.run(  # noqa: S603
        [*manage, "create_api_key", "--name", "faults", "--scopes", "read,trade,admin"],
        cwd=base,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    robot = Stack(env, tmp_path, web_port, database)
    robot.api_key = created.stdout.strip().splitlines()[-1].strip()
    robot.redis, robot.wordpress = redis_server, wordpress
    robot.ensure()
    yield robot
    robot.stop()
    wordpress.post_release.set()
    wordpress.down()
    redis_server.stop()
    database.drop()


def pytest_terminal_summary(terminalreporter):
    if not SUMMARY:
        return
    write = terminalreporter.write_line
    terminalreporter.section("Faults: nothing lost")
    widths = (44, 30, 19, 7, 11, 40)
    header = ("fault injected", "load during the fault", "orders (new+retry)", "fills", "WordPress", "readiness seen")
    write("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in SUMMARY:
        cells = (row["fault"], row["load"], row["orders"], row["fills"], row["wordpress"], row["readiness"])
        write("  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)))
    for line in (
        "fills: all so far. WordPress: 1x = every fill stored there once by trade_id, content equal to the ledger;",
        "+n = further POSTs of a record (refused while the site was down, or sent again), all with equal content.",
        "Checked after each fault: cash and positions == the fills (Decimal; DB and GET /api/portfolio); one order per",
        "Idempotency-Key; every acknowledged order in the ledger; outbox delivered; no robot process exited;",
        "readiness 503 with the failing check during the fault (no answer: web server down), 200 after.",
    ):
        write(line)
    write(_verdicts())


def _verdicts() -> str:
    passed = sum(1 for row in SUMMARY if row.get("passed"))
    return f"Scenarios passed: {passed}/{len(SUMMARY)}."
