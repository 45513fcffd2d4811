"""A backtest and a sweep run by real Celery workers (subprocesses, their own database): with REDIS_URL the
sweep's combinations are a group spread over two workers; embedded (filesystem broker), one worker runs them in
a process pool. Either way the same services, and the runs end `done` with their report or ranking."""

import json
import os
import sqlite3
import subprocess
import sys
import uuid

import pytest
from django.conf import settings

from tests.integration.conftest import redis_keys_delete
from tests.integration.test_celery_worker import BASE_DIR, Processes, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
RUN = {
    "kind": "sma_crossover",
    "symbols": ["TSLA", "NVDA"],
    "params": {"fast": 10, "slow": 30},
    "start": "2026-03-02",
    "end": "2026-03-13",
    "data": "synthetic",
}
QUEUE = (
    "from trading.backtest import services, tasks; import json, os; "
    "run = services.backtest_create(raw=json.loads(os.environ['BACKTEST_TEST_RAW'])); "
    "tasks.backtest_run.delay(run.pk); print(run.pk)"
)


@pytest.fixture
def celery_env(scratch_db, tmp_path):
    tag = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tradingrobot.settings",
        "SECRET_KEY": "backtest-worker-test-only",
        "DATABASE_URL": scratch_db.url,
        "CELERY_QUEUE": f"backtest-test-{tag}",
        "CELERY_BROKER_DIR": str(tmp_path / "broker"),
        "BACKTEST_REPORT_DIR": str(tmp_path / "reports"),
    }
    if not settings.REDIS_URL:
        env.pop("REDIS_URL", None)
        env.pop("CELERY_BROKER_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True, timeout=300
    )
    yield env
    redis_keys_delete(f"*{env['CELERY_QUEUE']}*")


def _row(scratch_db, run_id: int) -> tuple:
    sql = "SELECT status, reason, metrics, ranking, report_paths FROM backtest_backtestrun WHERE id = %s"
    if scratch_db.vendor == "postgresql":
        with scratch_db._connect(scratch_db.name) as conn:
            status, reason, metrics, ranking, paths = conn.execute(sql, (run_id,)).fetchone()
            return status, reason, metrics, ranking, paths
    with sqlite3.connect(scratch_db.path, timeout=10) as conn:
        row = conn.execute(sql.replace("%s", "?"), (run_id,)).fetchone()
        return row[0], row[1], *(json.loads(v) if v else None for v in row[2:])


def _queue(env: dict, raw: dict) -> int:
    out = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "shell", "-c", QUEUE],
        cwd=BASE_DIR,
        env={**env, "BACKTEST_TEST_RAW": json.dumps(raw)},
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


def test_workers_run_a_backtest_and_a_sweep(celery_env, scratch_db, tmp_path):
    env = celery_env
    workers = Processes(env, tmp_path)
    queue = env["CELERY_QUEUE"]
    count, pool = (2, "prefork") if settings.REDIS_URL else (1, "solo")  # embedded: as the Procfile runs it
    try:
        for i in range(count):
            name = f"bt{i}-{queue}@%h"
            workers.start(f"worker{i}", "worker", "-Q", queue, "--pool", pool, "-c", "1", "-n", name, "-l", "WARNING")
        single = _queue(env, RUN)
        sweep = _queue(env, {**RUN, "grid": {"fast": [5, 10], "slow": [30, 50]}})
        assert wait_for(lambda: all(_row(scratch_db, r)[0] in ("done", "failed") for r in (single, sweep)), 180)
    finally:
        workers.stop()
    status, reason, metrics, _, paths = _row(scratch_db, single)
    assert (status, reason) == ("done", "") and metrics["total_trades"] > 0
    assert all(os.path.getsize(p) > 0 for p in paths.values())
    status, reason, _, ranking, _ = _row(scratch_db, sweep)
    assert (status, reason) == ("done", "") and len(ranking) == 4
    pnl = [row["metrics"]["total_pnl"] for row in ranking]
    assert pnl == sorted(pnl, reverse=True)
