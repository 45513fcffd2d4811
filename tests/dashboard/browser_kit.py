"""The browser tests' kit: daphne on loopback, Debian's Chromium through Playwright, the page opened and logged in,
every request recorded (test_browser.py and test_browser_panels.py; the fixtures reach them through conftest.py).
"""

import datetime as dt
import json
import math
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection, connections

from market.models import PriceSample, Symbol
from market.services import SampleIn, sample_upsert_many
from trading.prices import prices_arrived
from tradingrobot.security.services import api_key_create

from .. import scratch
from ..conftest import REQUIRE_SERVICES
from .conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts" / "dashboard"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PORTS = range(8700, 8800)  # this suite's own port range
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _require(condition: bool, why: str) -> None:
    if not condition:
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {why}")
        pytest.skip(why)


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Server:
    """daphne on a free loopback port; `restart` drops every WebSocket and comes back on the same port."""

    def __init__(self, env: dict, log_dir: Path):
        self.env, self.log_dir = env, log_dir
        self.port = scratch.free_port(PORTS)
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.log_dir / f"daphne-{self.starts}.log"
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
        command.append("tradingrobot.asgi:application")
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=ROOT, env=self.env, stdout=log.open("w"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                text = log.read_text()
                if self.starts == 1 and "Address already in use" in text:
                    # another suite took the port between the probe and daphne's bind: a fresh port, once more
                    self.port = scratch.free_port(PORTS, taken={self.port})
                    self.base = f"http://127.0.0.1:{self.port}"
                    self.starts = 0
                    return self.start()
                raise AssertionError(f"daphne exited:\n{text[-3000:]}")
            try:
                urllib.request.urlopen(f"{self.base}/api/health", timeout=2).close()  # noqa: S310 - loopback URL
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"daphne did not start:\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@pytest.fixture(scope="session")
def collected_static() -> None:
    """What production serves: the files collectstatic gathers (whitenoise serves STATIC_ROOT), as `make run` does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    command = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=120)  # noqa: S603 - our own interpreter


@pytest.fixture
def server(settings, tmp_path, collected_static):
    _require(connection.vendor == "postgresql", "the browser tests need PostgreSQL (set DATABASE_URL)")
    _require(bool(os.environ.get("REDIS_URL")), "the browser tests need Redis (set REDIS_URL)")
    settings.REALTIME_CHANNEL_PREFIX = f"test-{uuid.uuid4().hex[:12]}"  # this process publishes to the daphne
    settings.TRADING_CALENDAR = "24/7"  # this process trades too (while the server is down)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tradingrobot.settings",
            "SECRET_KEY": "browser-test-only-not-a-secret",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": os.environ["REDIS_URL"],
            "REALTIME_CHANNEL_PREFIX": settings.REALTIME_CHANNEL_PREFIX,
            "TRADING_CALENDAR": "24/7",
            "THROTTLE_RATE_TRADE": "1000/min",
            "LOG_FORMAT": "plain",
            "CELERY_QUEUE": f"{settings.REALTIME_CHANNEL_PREFIX}-tasks",  # a run started from the page waits here
        }
    )
    daphne = Server(env, tmp_path)
    daphne.start()
    yield daphne
    daphne.stop()


@pytest.fixture
def browser(monkeypatch):
    _require(shutil.which(CHROMIUM) is not None, f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
        connections.close_all()  # the ones opened while Playwright's loop ran are kept apart (asgiref's Local)


@dataclass
class Watch:
    """Everything the page asked for, and every console error it printed."""

    host: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        return [url for url in self.requests if urlsplit(url).netloc != self.host and not url.startswith("data:")]


def open_page(browser, server: Server, username: str | None, viewport=DESKTOP):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    watch = Watch(host=f"127.0.0.1:{server.port}")
    page.on("request", lambda request: watch.requests.append(request.url))
    page.on("websocket", lambda ws: watch.requests.append(ws.url))
    page.on("console", lambda message: message.type == "error" and watch.console_errors.append(message.text))
    page.on("pageerror", lambda error: watch.console_errors.append(str(error)))
    if username is not None:
        page.goto(f"{server.base}/dashboard/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.base}/dashboard/")
    return page, watch


def wait_live(page, timeout_ms: int = 10_000) -> None:
    page.wait_for_selector('#connection[data-state="live"]', timeout=timeout_ms)
    page.wait_for_function("window.dashboard.status !== null && window.dashboard.lastBar !== undefined")


def store_price(ticker: str, price: str, at: dt.datetime | None = None, volume: int = 1000) -> None:
    """A new sample, then the follow-up every price writer calls (fills, then `prices_stored`)."""
    symbol = Symbol.objects.get(ticker=ticker)
    at = at or dt.datetime.now(dt.UTC)
    sample_upsert_many(samples=[SampleIn(symbol.pk, at, Decimal(price), volume)], source=PriceSample.Source.MANUAL)
    prices_arrived(symbol_ids=[symbol.pk])


def api_call(server: Server, key: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - a loopback http:// URL we built
        f"{server.base}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-API-Key": key},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def key(db) -> str:
    return api_key_create(name=f"browser-{uuid.uuid4().hex[:6]}", scopes="read,trade,admin", created_by="tests")[1]


@pytest.fixture
def priced():
    """90 minutes of TSLA history, one sample a minute, the last one (250.00) now: the chart has candles."""
    now = dt.datetime.now(dt.UTC)
    symbol = Symbol.objects.get(ticker="TSLA")
    samples = [
        SampleIn(symbol.pk, now - dt.timedelta(seconds=seconds), Decimal(f"{250 + 3 * math.sin(seconds / 420):.2f}"), 0)
        for seconds in range(90 * 60, 0, -20)  # three samples a minute: candles with bodies and wicks
    ]
    sample_upsert_many(samples=samples, source=PriceSample.Source.MANUAL)
    store_price("TSLA", "250.00", now)
