"""A real Celery worker and beat (subprocesses) poll the development feed on schedule and store rows.

With REDIS_URL (CI): Redis broker and RedBeat, as in production; also two beats started at once schedule as one.
Without it: the embedded default, kombu's filesystem broker and a worker with beat inside (as `make run`).
The subprocesses get their own database, so the test's own transaction stays out of their way.
"""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import REQUIRE_SERVICES
from tests.integration.conftest import redis_keys_delete

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
BASE_DIR = Path(settings.BASE_DIR)
PERIOD = 3.0  # seconds between polls in this test


@pytest.fixture
def celery_env(devfeed, scratch_db, tmp_path):
    tag = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tradingrobot.settings",
        "SECRET_KEY": "celery-test-only",
        "DATABASE_URL": scratch_db.url,
        "WP_BASE_URL": devfeed.url,
        "WP_POLL_SECONDS": str(PERIOD),
        "WP_CACHE_PREFIX": f"wp-celery-{tag}",
        "WP_TIMEZONE": "",
        "CELERY_QUEUE": f"ingest-test-{tag}",
        "CELERY_REDBEAT_KEY_PREFIX": f"redbeat-test-{tag}",
        "CELERY_REDBEAT_LOCK_TIMEOUT": "10",
        "CELERY_BROKER_DIR": str(tmp_path / "broker"),
    }
    if not settings.REDIS_URL:
        env.pop("REDIS_URL", None)
        env.pop("CELERY_BROKER_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True, timeout=300
    )
    yield env
    for pattern in (f"*{tag}*", f"*{env['CELERY_QUEUE']}*"):
        redis_keys_delete(pattern)


class Processes:
    def __init__(self, env: dict, tmp_path: Path):
        self.env, self.tmp_path, self.started = env, tmp_path, []

    def start(self, name: str, *args: str) -> Path:
        log = self.tmp_path / f"{name}.log"
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and celery
            [sys.executable, "-m", "celery", "-A", "tradingrobot", *args],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(process)
        return log

    def stop(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


@pytest.fixture
def processes(celery_env, tmp_path):
    running = Processes(celery_env, tmp_path)
    yield running
    running.stop()


def wait_for(predicate, timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.25)
    return None


def test_worker_with_beat_stores_rows_within_one_period(processes, scratch_db, devfeed):
    if REQUIRE_SERVICES and not settings.REDIS_URL:
        pytest.fail("REQUIRE_SERVICES=1 but REDIS_URL is not set")
    log = processes.start(
        "worker", "worker", "-B", "--pool", "solo", "--loglevel", "INFO", "-Q", processes.env["CELERY_QUEUE"]
    )
    ready = wait_for(lambda: " ready." in log.read_text(), timeout=90)
    assert ready is not None, log.read_text()[-3000:]

    # One period until beat sends the first poll, plus the poll itself (its first run builds the exchange
    # calendar: a few seconds on a busy CI machine).
    waited = wait_for(lambda: scratch_db.count("market_pricesample") >= 4, timeout=PERIOD + 15)
    assert waited is not None, log.read_text()[-3000:]
    assert waited <= PERIOD + 15
    assert "integration.tasks.wordpress_poll" in log.read_text()


def test_two_beats_schedule_as_one(processes, scratch_db, devfeed):
    """RedBeat's lock: a second beat waits while the first holds it, so polls are not doubled."""
    if not settings.REDIS_URL:
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but REDIS_URL is not set")
        pytest.skip("the single-beat lock is RedBeat's (Redis); embedded runs one worker with beat inside")
    queue = processes.env["CELERY_QUEUE"]
    worker = processes.start("worker", "worker", "--pool", "solo", "--loglevel", "INFO", "-Q", queue)
    assert wait_for(lambda: " ready." in worker.read_text(), timeout=90) is not None, worker.read_text()[-3000:]
    beats = [processes.start(name, "beat", "--loglevel", "INFO") for name in ("beat1", "beat2")]

    def received() -> int:
        return len(re.findall(r"Task integration\.tasks\.wordpress_poll\[[^]]+\] received", worker.read_text()))

    assert wait_for(lambda: received() >= 1, timeout=60) is not None, worker.read_text()[-3000:]
    first, started = received(), time.monotonic()
    time.sleep(5 * PERIOD)
    polls = received() - first
    periods = (time.monotonic() - started) / PERIOD
    assert 1 <= polls <= periods + 1, f"{polls} polls in {periods:.1f} periods"  # two beats would give ~2x
    senders = [log.name for log in beats if "Sending due task wordpress-poll" in log.read_text()]
    assert len(senders) == 1, senders  # the other one is still waiting for the lock
