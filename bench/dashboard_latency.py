"""The live page's figures, in a real browser: how long after an event the page shows it, beside the ceiling.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/dashboard_latency.py [--trades 20]

One daphne on loopback (the given PostgreSQL database and Redis, migrated here), Debian's chromium through
Playwright, logged in as a staff user with the halt permission. Figures, each beside its target and its ceiling:
the same event's frame arriving on a plain WebSocket client (`websockets`) connected to the same server, which
is the soonest any page could know.
- trade placed through the API -> its row in the orders table and its chart marker (target 2 s);
- new price stored -> the last candle's close (target 2 s);
- "Stop trading" confirmed -> the red banner (target 1 s): from Playwright's click, and in the page's own clock
  from the click event (what the operator waits for; Playwright's delivery of the click is not in it), with the
  stop's frame and the POST's answer beside it, and the server's part without HTTP (the service, then its frame
  on a WebSocket client). `--busy` keeps trades and prices coming during the halts;
- server restarted -> the page live again, after the server answers (target 5 s).
"""

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


PORT = _free_port()
BASE = f"http://127.0.0.1:{PORT}"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CHROMIUM_ARGS += ["--disable-component-update", "--disable-sync"]
PASSWORD = "bench-operator-password"  # noqa: S105 - a local bench user


def setup_django(args) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tradingrobot.settings"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ["TRADING_CALENDAR"] = "24/7"
    os.environ["REALTIME_CHANNEL_PREFIX"] = args.prefix
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API keeps a loop in this thread
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def start_server(log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env["LOG_LEVEL"] = "WARNING"
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(PORT), "tradingrobot.asgi:application"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{BASE}/api/health", timeout=2).close()  # noqa: S310 - loopback http
            return proc
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"daphne did not start: {log.read_text()[-2000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # daphne waits for open WebSockets; the bench does not
        proc.kill()
        proc.wait()


def api(key: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(  # noqa: S310 - loopback http
        f"{BASE}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-API-Key": key},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


class FrameClock:
    """A plain WebSocket client on the same server, in a thread: when each frame type arrived."""

    def __init__(self, key: str):
        import threading

        self.key, self.seen, self.lock = key, [], threading.Lock()
        self.ready = threading.Event()
        threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True).start()
        self.ready.wait(10)

    async def _run(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        async with connect(f"ws://127.0.0.1:{PORT}/ws/updates", additional_headers={"X-API-Key": self.key}) as ws:
            self.ready.set()
            with contextlib.suppress(ConnectionClosed):  # the restart phase drops it; that phase measures its own
                async for text in ws:
                    frame = json.loads(text)
                    with self.lock:
                        self.seen.append((time.monotonic(), frame))

    def first_after(self, since: float, predicate, timeout: float = 5.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for at, frame in self.seen:
                    if at >= since and predicate(frame):
                        return at
            time.sleep(0.002)
        return float("nan")


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def summary(name: str, page: list[float], ceiling: list[float], target: float) -> str:
    p50, worst = statistics.median(page), max(page)
    c50, cworst = statistics.median(ceiling), max(ceiling)
    verdict = "MET" if worst <= target else "NOT MET"
    return (
        f"{name:<36} {len(page):>3}  page p50 {p50 * 1000:6.0f} ms p95 {p95(page) * 1000:6.0f} ms "
        f"max {worst * 1000:6.0f} ms  ceiling (WebSocket frame) p50 {c50 * 1000:5.0f} ms max {cworst * 1000:5.0f} ms  "
        f"target <= {target:g} s: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trades", type=int, default=20)
    parser.add_argument("--prices", type=int, default=20)
    parser.add_argument("--halts", type=int, default=5)
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--busy", action="store_true", help="trades and prices keep coming during the halts")
    args = parser.parse_args()
    args.prefix = f"bench-{uuid.uuid4().hex[:8]}"
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        raise SystemExit("set DATABASE_URL (PostgreSQL) and REDIS_URL: this process and daphne share them")
    from bench.databases import database_ensure

    database_ensure(os.environ["DATABASE_URL"])
    setup_django(args)

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from playwright.sync_api import sync_playwright

    from market.models import PriceSample, Symbol
    from market.services import SampleIn, sample_upsert_many
    from trading.prices import prices_arrived
    from trading.services import trading_resume
    from tradingrobot.security.services import api_key_create

    user, _ = get_user_model().objects.get_or_create(username="bench-operator", defaults={"is_staff": True})
    user.is_staff = True
    user.set_password(PASSWORD)
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="halt_trading", content_type__app_label="trading"))
    key = api_key_create(name=f"bench-{args.prefix}", scopes="read,trade,admin", created_by="bench")[1]
    trading_resume(resumed_by="bench")
    tsla = Symbol.objects.get(ticker="TSLA")

    def store(price: str) -> None:
        at = dt.datetime.now(dt.UTC)
        sample_upsert_many(samples=[SampleIn(tsla.pk, at, Decimal(price), 0)], source=PriceSample.Source.MANUAL)
        prices_arrived(symbol_ids=[tsla.pk])

    store("250.00")
    log = Path("var") / "bench-dashboard-daphne.log"
    log.parent.mkdir(exist_ok=True)
    proc = start_server(log)
    results = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{BASE}/dashboard/")
            page.fill("#id_username", "bench-operator")
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector('#connection[data-state="live"]')
            page.select_option("#chart-symbol", "TSLA")
            page.wait_for_function("window.dashboard.lastBar && window.dashboard.lastBar.close === 250")
            frames = FrameClock(key)

            if args.trades:
                results.append(trade_phase(page, frames, key, args.trades))
            if args.prices:
                results.append(price_phase(page, frames, store, args.prices))
            if args.halts:
                results.extend(halt_phase(page, frames, args.halts, busy=args.busy, key=key, store=store))
            if args.restarts:
                line, proc = restart_phase(page, proc, log, key, args.restarts)
                results.append(line)
            browser.close()
    finally:
        stop_server(proc)
    print(f"bench/dashboard_latency.py, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.2f}")
    print("\n".join(results))


def trade_phase(page, frames: FrameClock, key: str, count: int) -> str:
    page_times, ws_times = [], []
    for _ in range(count):
        sent = time.monotonic()
        order_id = api(key, "POST", "/api/trade/TSLA/buy", {"quantity": 1})["order"]["id"]
        page.wait_for_function(
            f'document.querySelector(\'#orders tr[data-order-id="{order_id}"][data-status="filled"]\')'
            f" && window.dashboard.markers.some(m => m.id === '{order_id}')",
            polling=5,
        )
        page_times.append(time.monotonic() - sent)
        frame = frames.first_after(sent, lambda f, i=order_id: f["type"] == "order_filled" and f["order_id"] == i)
        ws_times.append(frame - sent)
    return summary("trade -> orders row + chart marker", page_times, ws_times, 2.0)


def price_phase(page, frames: FrameClock, store, count: int) -> str:
    page_times, ws_times = [], []
    for i in range(count):
        price = f"{251 + i * 0.25:.2f}"
        sent = time.monotonic()
        store(price)
        page.wait_for_function(f"window.dashboard.lastBar.close === {float(price)}", polling=5)
        page_times.append(time.monotonic() - sent)
        frame = frames.first_after(sent, lambda f: f["type"] == "prices_stored")
        ws_times.append(frame - sent)
    return summary("new price -> last candle", page_times, ws_times, 2.0)


class Busy:
    """--busy: while the halts are measured, another client trades and prices move (the page gets frames and
    re-reads, the server serves them), as when the operator stops a robot that is working."""

    def __init__(self, key: str, store):
        import threading

        self.key, self.store, self.stop = key, store, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from django.db import connection

        i = 0
        while not self.stop.is_set():
            i += 1
            with contextlib.suppress(urllib.error.HTTPError):  # 423 while halted
                api(self.key, "POST", "/api/trade/TSLA/buy", {"quantity": 1})
            self.store(f"{260 + (i % 40) * 0.25:.2f}")
            self.stop.wait(0.05)
        connection.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()


def halt_phase(page, frames: FrameClock, count: int, *, busy: bool, key: str, store) -> list[str]:
    """Playwright's click to the banner, and in the page's own clock from the confirm click as the browser got it
    (the event's timeStamp): to the banner, to the stop's WebSocket frame, to the POST's answer."""
    page_times, ws_times, shown, answered, framed = [], [], [], [], []
    load = Busy(key, store) if busy else None
    try:
        for _ in range(count):
            page.click("#stop-open")
            page.fill("#stop-reason", "bench")
            sent = time.monotonic()
            page.click("#stop-confirm")
            page.wait_for_selector("#halt-banner:not([hidden])")
            page_times.append(time.monotonic() - sent)
            ws_times.append(frames.first_after(sent, lambda f: f["type"] == "trading_halted") - sent)
            page.wait_for_function("window.dashboard.kill.answered && window.dashboard.kill.frame", timeout=10_000)
            kill = page.evaluate("window.dashboard.kill")
            shown.append((kill["shown"] - kill["clicked"]) / 1000)
            answered.append((kill["answered"] - kill["clicked"]) / 1000)
            framed.append((kill["frame"] - kill["clicked"]) / 1000)
            page.click("#resume-open")
            page.click("#resume-confirm")
            page.wait_for_selector("#halt-banner[hidden]", state="attached")
    finally:
        if load is not None:
            load.close()
    service, delivery = halt_path(frames, count, busy=busy, key=key, store=store)
    name = "stop clicked (Playwright) -> banner" + (" (busy)" if busy else "")
    inside = (
        f"  in the page, from the confirm click: banner {stats(shown)} "
        f"(target <= 1 s: {'MET' if max(shown) <= 1.0 else 'NOT MET'}); "
        f"the stop's WS frame {stats(framed)}; the POST's answer {stats(answered)}\n"
        f"  the server's part, trading_halt called in this process: the service (lock, cancel, commit) "
        f"{stats(service)}; called -> its frame on a WebSocket client {stats(delivery)}"
    )
    return [summary(name, page_times, ws_times, 1.0), inside]


def stats(values: list[float]) -> str:
    return (
        f"p50 {statistics.median(values) * 1000:.0f} ms p95 {p95(values) * 1000:.0f} ms max {max(values) * 1000:.0f} ms"
    )


def halt_path(frames: FrameClock, count: int, *, busy: bool, key: str, store) -> tuple[list[float], list[float]]:
    """The halt without HTTP: how long the service takes (its event is published on commit, inside it), and from
    the call to its frame on a WebSocket client (Redis publish, the web process's hub, the socket)."""
    from trading.services import trading_halt, trading_resume

    service, delivery = [], []
    load = Busy(key, store) if busy else None
    try:
        for _ in range(count):
            started = time.monotonic()
            trading_halt(reason="bench in-process", halted_by="bench")
            committed = time.monotonic()
            arrived = frames.first_after(started, lambda f: f["type"] == "trading_halted")
            service.append(committed - started)
            delivery.append(arrived - started)
            trading_resume(resumed_by="bench")
            frames.first_after(time.monotonic() - 0.5, lambda f: f["type"] == "trading_resumed")
    finally:
        if load is not None:
            load.close()
    return service, delivery


def restart_phase(page, proc: subprocess.Popen, log: Path, key: str, count: int) -> tuple[str, subprocess.Popen]:
    page_times, ws_times = [], []
    for _ in range(count):
        stop_server(proc)
        page.wait_for_selector('#connection[data-state="lost"]')
        proc = start_server(log)
        back = time.monotonic()
        with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs in this thread
            ws_times.append(pool.submit(asyncio.run, _first_frame(key)).result() - back)
        page.wait_for_selector('#connection[data-state="live"]', timeout=15000)
        page_times.append(time.monotonic() - back)
    return summary("server back -> page live again", page_times, ws_times, 5.0), proc


async def _first_frame(key: str) -> float:
    """A fresh client's snapshot: the soonest a reconnecting page can be live."""
    from websockets.asyncio.client import connect

    async with connect(f"ws://127.0.0.1:{PORT}/ws/updates", additional_headers={"X-API-Key": key}) as ws:
        await ws.recv()
        return time.monotonic()


if __name__ == "__main__":
    main()
