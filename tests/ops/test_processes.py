"""Real processes: a Celery worker with beat and daphne, sharing PROMETHEUS_MULTIPROC_DIR, against the development
feed. Readiness turns 200 once the worker and beat beat; the worker's counters show in daphne's /metrics; a
request's JSON log lines carry its id; SIGKILL on the worker turns readiness 503, a new worker brings it back.
Embedded (filesystem broker, SQLite) without REDIS_URL; Redis broker and RedBeat with it, as in production.
"""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.conftest import REQUIRE_SERVICES
from tests.integration.conftest import redis_keys_delete

from .conftest import METRICS_TOKEN, free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
BASE_DIR = Path(settings.BASE_DIR)


@pytest.fixture
def robot_env(devfeed, scratch_db, tmp_path):
    if REQUIRE_SERVICES and not settings.REDIS_URL:
        pytest.fail("REQUIRE_SERVICES=1 but REDIS_URL is not set")
    tag = uuid.uuid4().hex[:8]
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tradingrobot.settings",
        "SECRET_KEY": "ops-test-only",
        "DATABASE_URL": scratch_db.url,
        "WP_BASE_URL": devfeed.url,
        "WP_TIMEZONE": "",
        "WP_POLL_SECONDS": "2",
        "WP_CACHE_PREFIX": f"wp-ops-{tag}",
        "TRADING_CALENDAR": "24/7",  # the feed's newest row is minutes old at any hour
        "CELERY_QUEUE": f"ops-test-{tag}",
        "CELERY_REDBEAT_KEY_PREFIX": f"redbeat-ops-{tag}",
        "CELERY_REDBEAT_LOCK_TIMEOUT": "10",
        "CELERY_BROKER_DIR": str(tmp_path / "broker"),
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "METRICS_TOKEN": METRICS_TOKEN,
        "LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",  # daphne's access lines (stdout) must not split the log lines (stderr) in one file
        "OPS_HEARTBEAT_SECONDS": "0.5",
        "OPS_WORKER_MAX_AGE_SECONDS": "3",
        "OPS_BEAT_HEARTBEAT_SECONDS": "600",  # only the heartbeat queued when beat starts can make it in time
        "OPS_BEAT_MAX_AGE_SECONDS": "900",
        "PUSHBACK_SECONDS": "3600",
        "ORDERS_HOUSEKEEPING_SECONDS": "3600",
    }
    if not settings.REDIS_URL:
        env.pop("REDIS_URL", None)
        env.pop("CELERY_BROKER_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True, timeout=300
    )
    yield env
    for pattern in (f"*{tag}*",):
        redis_keys_delete(pattern)


class Robot:
    def __init__(self, env: dict, tmp_path: Path):
        self.env, self.tmp_path, self.processes = env, tmp_path, {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, name: str, *command: str) -> Path:
        log = self.tmp_path / f"{name}.log"
        self.processes[name] = subprocess.Popen(  # noqa: S603 - our own interpreter
            [sys.executable, "-m", *command],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return log

    def worker(self) -> Path:
        queue = self.env["CELERY_QUEUE"]
        return self.start("worker", "celery", "-A", "tradingrobot", "worker", "-B", "--pool", "solo", "-Q", queue)

    def web(self) -> Path:
        return self.start("web", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "tradingrobot.asgi:application")

    def kill(self, name: str, sig=signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, sig)
        process.wait(timeout=15)

    def stop(self) -> None:
        for name in list(self.processes):
            try:
                self.kill(name, signal.SIGTERM)
            except subprocess.TimeoutExpired:
                self.kill(name)

    def ready(self) -> tuple[int, dict]:
        try:
            response = requests.get(
                f"{self.url}/api/health/ready", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5
            )
        except requests.ConnectionError:
            return 0, {}
        return response.status_code, response.json()


@pytest.fixture
def robot(robot_env, tmp_path):
    running = Robot(robot_env, tmp_path)
    yield running
    running.stop()


def wait_for(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.25)
    return None


def metric(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_worker_and_beat_heartbeats_metrics_across_processes_and_a_killed_worker(robot):
    worker_log, web_log = robot.worker(), robot.web()
    readiness = wait_for(lambda: (answer := robot.ready())[0] == 200 and answer, timeout=90)
    assert readiness, f"{robot.ready()}\n{worker_log.read_text()[-3000:]}\n{web_log.read_text()[-2000:]}"
    checks = readiness[1]["checks"]
    assert checks["celery_worker"]["ok"] and checks["celery_beat"]["ok"] and checks["wordpress"]["ok"]
    assert ("redis" in checks) == bool(settings.REDIS_URL)

    # The worker's counters (poll rows, WordPress latency) in the web process's /metrics.
    def scrape() -> str:
        response = requests.get(f"{robot.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5)
        assert response.status_code == 200
        return response.text

    text = scrape()
    assert metric(text, 'tradingrobot_ingest_rows_total{kind="poll",outcome="stored"}') >= 4
    assert metric(text, 'tradingrobot_wordpress_request_seconds_count{method="get",outcome="ok"}') >= 1
    assert (
        metric(text, 'django_http_requests_latency_seconds_by_view_method_count{method="GET",view="health-ready"}') >= 1
    )
    assert requests.get(f"{robot.url}/metrics", timeout=5).status_code == 401

    # A request's log lines are JSON and carry its id (Django's "Not Found" line included).
    answer = requests.get(f"{robot.url}/api/no-such-route", headers={"X-Request-ID": "e2e-req-7"}, timeout=5)
    assert answer.status_code == 404 and answer.headers["X-Request-ID"] == "e2e-req-7"

    def request_lines() -> list[dict]:
        found = []
        for line in web_log.read_text().splitlines():
            with contextlib.suppress(ValueError):  # a line still being written, a plain daphne line
                record = json.loads(line[line.index('{"time"') :])
                if record.get("request_id") == "e2e-req-7":
                    found.append(record)
        return found

    lines = wait_for(request_lines, timeout=15)
    assert lines, web_log.read_text()[-3000:]
    assert any(line["message"].startswith("Not Found: /api/no-such-route") for line in lines), lines

    # SIGKILL the worker: its heartbeat goes stale and readiness says so; a new worker brings it back.
    robot.kill("worker")
    down = wait_for(lambda: (answer := robot.ready())[0] == 503 and answer, timeout=30)
    assert down, f"{robot.ready()}\n{worker_log.read_text()[-2000:]}"
    assert "celery_worker" in down[1]["failing"]
    assert down[1]["checks"]["celery_worker"]["message"].startswith("Celery worker last seen")
    robot.worker()
    assert wait_for(lambda: robot.ready()[0] == 200, timeout=90), f"{robot.ready()}\n{worker_log.read_text()[-3000:]}"
