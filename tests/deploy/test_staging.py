"""The staging arrangement, through nginx over TLS (issue 17 "Proof"): every route a client uses; one web instance
(Granian) and one daphne killed under a trading load; the active beat killed; a rolling restart under reads; a backup
restored and served. One staging for the module (conftest.py); the scenarios share one trading client."""

import dataclasses
import datetime as dt
import itertools
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis
import requests
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from deploy.staging import FAIL_TIMEOUT, PYTHON, ROOT, free_ports
from tests.faults.ledger import check_ledger
from tests.ops.test_processes import wait_for
from tradingrobot.beat import lock_ttl

from .conftest import BEAT_LOOP, LOCK_TIMEOUT, POLL_SECONDS, Site, database_create, database_drop, database_url

pytestmark = [pytest.mark.slow, pytest.mark.deploy]


def ws_connect(staging, timeout: float = 5.0):
    return connect(
        f"wss://localhost:{staging.ports['https']}/ws/updates",
        ssl=staging.ssl_context(),
        additional_headers={"Authorization": f"Api-Key {staging.api_key}"},
        open_timeout=timeout,
        close_timeout=1,
    )


def test_every_route_through_nginx_over_tls(staging, site, trader):
    assert staging.request("GET", "/api/health", key=False)[0] == 200
    # nginx answers with its own Server header, versionless (server_tokens off): Granian's `server: granian` stays
    # behind it.
    assert requests.get(f"{staging.url}/api/health", timeout=10).headers["Server"] == "nginx"
    status, ready = staging.ready()
    assert (status, ready["ready"]) == (200, True), ready
    assert staging.request("GET", "/api/status", key=False)[0] == 401
    status, document = staging.request("GET", "/api/status")
    assert status == 200 and {"cash_balance", "positions", "market_open"} <= set(document), document

    with ws_connect(staging) as ws:
        first = json.loads(ws.recv(timeout=10))
        assert (first["type"], first["snapshot"]) == ("status", True), first
        order = trader.place("TSLA", "buy", 2)
        assert order["status"] == "filled", order
        seen: set[str] = set()
        give_up = time.monotonic() + 15
        while "order_filled" not in seen and time.monotonic() < give_up:
            frame = json.loads(ws.recv(timeout=15))
            if frame.get("order_id") == order["id"]:
                seen.add(frame["type"])
        assert "order_filled" in seen, seen  # a market order that fills at once is announced as filled

    token = staging.env["METRICS_TOKEN"]
    metrics = requests.get(f"{staging.url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert metrics.status_code == 200 and "tradingrobot_orders" in metrics.text
    assert requests.get(f"{staging.url}/metrics", timeout=10).status_code in (401, 403)
    docs = requests.get(f"{staging.url}/api/docs/", timeout=10)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert requests.get(f"{staging.url}/api/schema/", timeout=10).status_code == 200
    assert requests.get(f"{staging.url}/static/admin/css/base.css", timeout=10).status_code == 200
    too_big = requests.post(f"{staging.url}/api/trade/TSLA/buy", data=b"x" * (2 * 1024 * 1024), timeout=10)
    assert too_big.status_code == 413  # client_max_body_size, refused by nginx
    # TLS only: the plain-HTTP scheme on the TLS port is refused by nginx, never served.
    assert requests.get(f"http://127.0.0.1:{staging.ports['https']}/api/health", timeout=5).status_code == 400


class Watcher:
    """A WebSocket client that reconnects through nginx whenever its connection drops; records, per drop, how long
    until a fresh snapshot arrived."""

    def __init__(self, staging):
        self.staging, self.drops, self.recovered, self.errors = staging, [], [], []
        self._stop = threading.Event()
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        dropped_at = None
        while not self._stop.is_set():
            try:
                with ws_connect(self.staging, timeout=2) as ws:
                    frame = json.loads(ws.recv(timeout=5))
                    if not (frame["type"] == "status" and frame["snapshot"]):
                        self.errors.append(f"first frame not a snapshot: {frame}")
                    if dropped_at is not None:
                        self.recovered.append(time.monotonic() - dropped_at)
                        dropped_at = None
                    self.connected.set()
                    while not self._stop.is_set():
                        try:
                            ws.recv(timeout=0.5)
                        except TimeoutError:
                            continue
            except (OSError, WebSocketException, TimeoutError) as error:
                if self._stop.is_set():
                    return
                if dropped_at is None:
                    dropped_at = time.monotonic()
                    self.drops.append(f"{type(error).__name__}: {error}")
                time.sleep(0.1)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def test_sigkill_of_one_web_instance_and_one_daphne_under_trading_load(staging, site, trader):
    watchers = [Watcher(staging) for _ in range(4)]
    assert all(w.connected.wait(15) for w in watchers), [(w.errors, w.drops) for w in watchers]
    retries_before = trader.retries
    streams = [trader.stream(period=0.02) for _ in range(2)]
    started, orders_before = time.monotonic(), len(trader.acknowledged)
    time.sleep(2)
    nginx_errors = staging.log("nginx-error").read_text()
    web_a = _instance(staging, "web-a")
    assert len(web_a) >= 2, web_a  # Granian's main process and its worker
    killed = {name: staging.kill(name) for name in ("web-a", _busiest_daphne(staging))}
    time.sleep(4)
    for name, pid in killed.items():  # supervisord starts the killed instances again
        assert wait_for(lambda name=name, pid=pid: staging.pid(name) not in (0, pid), timeout=30), name
    assert wait_for(lambda: not any(map(_running, web_a)), timeout=10), "a worker outlived its killed instance"
    time.sleep(2)
    for stream in streams:
        stream.stop()
    rate = (len(trader.acknowledged) - orders_before) / (time.monotonic() - started)
    assert wait_for(lambda: all(not w.drops or w.recovered for w in watchers), timeout=10)
    for watcher in watchers:
        watcher.stop()

    # The load met the kill: nginx found web-a gone (a request in flight: a 502 the client retried; later ones:
    # refused connections nginx passed to web-b).
    met = staging.log("nginx-error").read_text()[len(nginx_errors) :]
    assert f"127.0.0.1:{staging.ports['web-a']}" in met, met[-2000:]
    ledger = check_ledger(site, trader)
    assert ledger["orders"] == len(trader.acknowledged) > 20
    dropped = [w for w in watchers if w.drops]
    assert dropped, "no WebSocket client was on the killed daphne"
    assert all(len(w.recovered) == len(w.drops) and max(w.recovered) < 5.0 for w in dropped), [
        (w.drops, w.recovered) for w in dropped
    ]
    assert not any(w.errors for w in watchers), [w.errors for w in watchers]
    recovered = [round(t, 2) for w in dropped for t in w.recovered]
    print(f"kill under load: {rate:.1f} orders/s from 2 clients, {trader.retries - retries_before} retries;"
          f" WebSocket clients dropped {len(dropped)}/4, fresh snapshot after {recovered} s")  # fmt: skip


def _instance(staging, name: str) -> list[int]:
    import psutil

    main = psutil.Process(staging.pid(name))
    return [main.pid, *(child.pid for child in main.children(recursive=True))]


def _running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _busiest_daphne(staging) -> str:
    """The daphne instance holding the most WebSocket connections (nginx spreads them by count)."""
    import psutil

    def held(name: str) -> int:
        port = staging.ports[name]
        connections = psutil.Process(staging.pid(name)).net_connections(kind="tcp")
        return sum(1 for c in connections if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)

    return max(("daphne-a", "daphne-b"), key=held)


def _log_times(path: Path, needle: str) -> list[dt.datetime]:
    times = []
    for line in path.read_text(errors="replace").splitlines():
        if needle in line and line.startswith("{"):
            times.append(dt.datetime.strptime(json.loads(line)["time"], "%Y-%m-%d %H:%M:%S,%f"))
    return times


LOCKED = ("beat: Acquired lock", "beat: acquired the lock")  # RedBeat's own receiver; tradingrobot/beat.py


def _acquired(staging, name: str) -> list[dt.datetime]:
    return sorted(at for needle in LOCKED for at in _log_times(staging.log(name), needle))


def test_beat_failover_within_the_lock_timeout(staging):
    acquired = {name: _acquired(staging, name) for name in ("beat-a", "beat-b")}
    active = [name for name, times in acquired.items() if times]
    assert len(active) == 1, f"exactly one beat holds the lock: {acquired}"
    (active,) = active
    standby = "beat-b" if active == "beat-a" else "beat-a"
    assert not _log_times(staging.log(standby), "Sending due task wordpress-poll"), "the standby sent a task"
    time.sleep(3 * POLL_SECONDS)
    client = redis.Redis.from_url(staging.redis_url)
    lock_key = f"{staging.env['CELERY_REDBEAT_KEY_PREFIX']}:lock"
    ttl = lock_ttl(LOCK_TIMEOUT, BEAT_LOOP)
    remaining = []
    for _ in range(5):
        remaining.append(client.pttl(lock_key) / 1000)
        time.sleep(0.2)
    client.close()
    # The active beat renews to ttl, not to the whole lock timeout: its lock is free by then after a kill.
    assert all(0 < left <= ttl for left in remaining), (remaining, ttl)
    pid = staging.pid(active)
    killed_at = dt.datetime.now()
    os.killpg(pid, signal.SIGKILL)

    # The standby, or the killed beat started again by supervisord: whichever finds the lock free first.
    def takers() -> list[tuple[dt.datetime, str]]:
        return sorted((at, name) for name in (active, standby) for at in _acquired(staging, name) if at > killed_at)

    assert wait_for(takers, timeout=LOCK_TIMEOUT + 15), staging.logs()
    taken_at, taker = takers()[0]
    time.sleep(4 * POLL_SECONDS)

    sends = sorted(
        (at, name)
        for name in (active, standby)
        for at in _log_times(staging.log(name), "Sending due task wordpress-poll")
        if at > killed_at - dt.timedelta(seconds=3 * POLL_SECONDS)
    )
    takeover = (taken_at - killed_at).total_seconds()
    after = [at for at, _ in sends if at > taken_at]
    assert after, f"nothing sent after {taker} took the lock"
    first_run = (after[0] - killed_at).total_seconds()
    # Killed at most BEAT_LOOP after a renewal to ttl: the lock is free at most ttl after the kill, and the standby
    # asks every STANDBY_POLL_SECONDS; the poll, overdue by then, is sent on the taker's first tick.
    assert takeover <= LOCK_TIMEOUT, f"{taker} took the lock {takeover:.2f} s after the kill"
    assert first_run <= LOCK_TIMEOUT, f"{taker} sent its first poll {first_run:.2f} s after the kill"
    gaps = [((b - a).total_seconds(), b) for (a, _), (b, _) in itertools.pairwise(sends)]
    assert gaps and all(gap >= POLL_SECONDS - 0.5 for gap, _ in gaps), f"a slot polled twice: {gaps}"
    assert {who for at, who in sends if at > taken_at} == {taker}, "two beats sending after the takeover"
    steady = [gap for gap, end in gaps if end <= killed_at or end > after[0]]
    assert all(gap <= POLL_SECONDS + BEAT_LOOP + 0.5 for gap in steady), f"a poll skipped: {gaps}"
    # The killed beat runs again under supervisord (the standby now, unless it was the one to take the lock).
    assert wait_for(lambda: staging.pid(active) != 0, timeout=20)
    shown = [round(gap, 2) for gap, _ in gaps]
    print(
        f"beat failover: {taker} took the lock {takeover:.2f} s and sent its first poll {first_run:.2f} s after"
        f" {active} was killed (lock timeout {LOCK_TIMEOUT} s, renewed to {ttl} s); poll gaps {shown} s"
    )


class Reader:
    def __init__(self, staging):
        self.staging, self.ok, self.failed = staging, 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        session = requests.Session()
        headers = {"X-API-Key": self.staging.api_key}
        while not self._stop.is_set():
            try:
                status = session.get(f"{self.staging.url}/api/status", headers=headers, timeout=10).status_code
            except requests.RequestException as error:
                status = type(error).__name__
            if status == 200:
                self.ok += 1
            else:
                self.failed.append(status)
            self._stop.wait(0.01)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)


def _answers_directly(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_rolling_restart_under_steady_reads_fails_no_request(staging):
    readers = [Reader(staging) for _ in range(2)]
    time.sleep(1)
    for name in ("web-a", "web-b", "daphne-a", "daphne-b"):
        before = staging.pid(name)
        staging.restart(name)
        assert staging.pid(name) not in (0, before), name
        assert wait_for(lambda name=name: _answers_directly(staging.ports[name]), timeout=30), name
        time.sleep(FAIL_TIMEOUT + 0.5)  # until nginx takes the instance back (deploy/README.md, rolling out)
    time.sleep(1)
    for reader in readers:
        reader.stop()
    served = sum(r.ok for r in readers)
    failed = [status for r in readers for status in r.failed]
    print(f"rolling restart: {served} reads served, {len(failed)} failed")
    assert failed == [] and served > 50, (served, failed[:10])


def test_backup_restored_into_a_fresh_database_is_served(staging, site, trader, tmp_path):
    staging.stop("worker-a", "worker-b")  # push-back waits: the dump holds pending outbox rows
    try:
        for ticker, side, qty in (("NVDA", "buy", 3), ("SPY", "buy", 1), ("NVDA", "sell", 1)):
            trader.place(ticker, side, qty)
        snapshot = _ledger_rows(site)
        assert snapshot["outbox pending"], "no pending push-back rows to back up"
        dump = tmp_path / "staging.dump"
        source = site.staging.database_url.replace("postgres://", "postgresql://")
        subprocess.run(["pg_dump", "-Fc", "-f", str(dump), source], check=True, timeout=120)
        restore_url = database_url("deploy_restore")
        database_drop(restore_url)
        database_create(restore_url)
        target = restore_url.replace("postgres://", "postgresql://")
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "-d", target, str(dump)], check=True, timeout=300
        )

        restored = Site(dataclasses.replace(staging, database_url=restore_url))
        assert _ledger_rows(restored) == snapshot

        (port,) = free_ports(1)
        env = {**staging.env, "DATABASE_URL": restore_url, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
        robot = subprocess.Popen(
            [PYTHON, "-m", "tradingrobot.ops.web", "--workers", "1", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdout=(tmp_path / "restored.log").open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            assert wait_for(lambda: _answers_directly(port), timeout=60), (tmp_path / "restored.log").read_text()
            direct = {"X-API-Key": staging.api_key, "X-Forwarded-Proto": "https"}  # as nginx would say
            served = requests.get(f"http://127.0.0.1:{port}/api/portfolio", headers=direct, timeout=10).json()
            original = requests.get(f"{staging.url}/api/portfolio", headers={"X-API-Key": staging.api_key}, timeout=10)
            assert served == original.json()
            orders = requests.get(f"http://127.0.0.1:{port}/api/orders?limit=500", headers=direct, timeout=10).json()
            assert orders["total"] == len(snapshot["orders"])
            assert {o["id"] for o in orders["orders"]} <= {row[0] for row in snapshot["orders"]}
            metrics = requests.get(
                f"http://127.0.0.1:{port}/metrics",
                headers={**direct, "Authorization": f"Bearer {staging.env['METRICS_TOKEN']}"},
                timeout=10,
            ).text
            pending = [line for line in metrics.splitlines() if line.startswith("tradingrobot_outbox_pending ")]
            assert pending == [f"tradingrobot_outbox_pending {float(len(snapshot['outbox pending']))}"], pending
        finally:
            robot.send_signal(signal.SIGTERM)
            robot.wait(30)
    finally:
        staging.start("worker-a", "worker-b")
    check_ledger(site, trader)


def _ledger_rows(site) -> dict:
    return {
        "account": site.sql("SELECT starting_cash, cash FROM portfolio_account ORDER BY id"),
        "positions": site.sql("SELECT symbol_id, qty, cost_basis, realized_pl FROM portfolio_position ORDER BY id"),
        "orders": site.sql("SELECT id, client_order_id, status, qty, filled_qty FROM trading_order ORDER BY id"),
        "fills": site.sql("SELECT id, order_id, qty, price FROM trading_fill ORDER BY id"),
        "outbox pending": site.sql(
            "SELECT key, kind, status, payload::text FROM trading_outboxmessage WHERE status <> 'delivered' ORDER BY id"
        ),
    }


def test_staging_down_stops_exactly_what_it_started(staging):
    import psutil

    ours = staging.processes()
    assert len(ours) >= 1 + 10, ours  # supervisord, 10 programs, and their children (web and nginx workers)
    bystander = subprocess.Popen(["sleep", "60"])  # started outside the staging: must survive
    try:
        stopped = staging.down()
        assert set(stopped) == set(ours)
        assert [pid for pid in ours if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"] == []
        assert bystander.poll() is None and not staging.running()
    finally:
        bystander.kill()
        bystander.wait()
