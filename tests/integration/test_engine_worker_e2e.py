"""End to end across processes, as in production: a price writer process stores the sample that closes a
5-minute bar; `bar_closed` becomes a Celery task on the Redis broker; a real worker process (solo pool) runs
the engine, and the enabled sma_crossover strategy's order is filled in the ledger (PostgreSQL in CI); the
same bar's task redelivered places nothing more; the push-back brings the fill to WordPress (the development
feed's receiver) under the strategy's id. Every process uses the scratch database, none the test's own."""

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings

from tests.conftest import REQUIRE_SERVICES
from tests.integration.conftest import redis_keys_delete
from tests.integration.test_celery_worker import BASE_DIR, Processes, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
USER, PASSWORD = "robot", "abcd efgh ijkl mnop"
SUCCEEDED = re.compile(r"strategies_bar_closed\[[^]]+\] succeeded in [0-9.e-]+s: (\d+)")


@pytest.fixture
def engine_env(devfeed, tmp_path):
    from tests.scratch import ScratchDatabase

    if not settings.REDIS_URL:
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but REDIS_URL is not set")
        pytest.skip("the worker's broker is Redis here (REDIS_URL)")
    database = ScratchDatabase(tmp_path, suffix="engine_worker")
    tag = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tradingrobot.settings",
        "SECRET_KEY": "engine-e2e-only",
        "DATABASE_URL": database.url,
        "TRADING_CALENDAR": "24/7",  # the market is open whenever the test runs
        "STRATEGY_ENGINE_INLINE": "false",
        "CELERY_QUEUE": f"engine-e2e-{tag}",
        "WP_BASE_URL": devfeed.url,
        "WP_CACHE_PREFIX": f"wp-engine-e2e-{tag}",
        "WP_TIMEZONE": "America/New_York",
        "WP_APP_USER": USER,
        "WP_APP_PASSWORD": PASSWORD,
        "LOG_LEVEL": "INFO",
    }
    env.pop("CELERY_BROKER_URL", None)  # the broker follows REDIS_URL
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True, timeout=300
    )
    yield env
    database.drop()
    for pattern in (f"*{tag}*",):
        redis_keys_delete(pattern)


def feed(env: dict, step: str, end: dt.datetime) -> str:
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "tests.integration.engine_worker_feed", step, end.isoformat()],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def report(env: dict, end: dt.datetime) -> dict:
    return json.loads(feed(env, "report", end).strip().splitlines()[-1])


def test_a_stored_closing_sample_reaches_the_ledger_through_a_real_worker_and_the_pushback(
    engine_env, devfeed, tmp_path
):
    receiver = devfeed.server.feed.receiver
    receiver.user, receiver.password = USER, PASSWORD
    now = dt.datetime.now(dt.UTC)
    end = now.replace(second=0, microsecond=0) - dt.timedelta(minutes=now.minute % 5)
    feed(engine_env, "setup", end)
    assert report(engine_env, end) == {"orders": [], "fills": 0, "decisions": []}  # history never trades

    processes = Processes(engine_env, tmp_path)
    try:
        log = processes.start("worker", "worker", "--pool", "solo", "-l", "INFO", "-Q", engine_env["CELERY_QUEUE"])
        assert wait_for(lambda: " ready." in log.read_text(), timeout=90) is not None, log.read_text()[-3000:]
        began = time.monotonic()
        feed(engine_env, "close", end)
        state: dict = {}

        def filled() -> bool:
            state.update(report(engine_env, end))
            return state["fills"] >= 1

        assert wait_for(filled, timeout=60) is not None, (state, log.read_text()[-3000:])
        took = time.monotonic() - began
        [order] = state["orders"]
        stamp = int(end.timestamp())
        assert order["client_order_id"] == f"strat:STRATEGY-TSLA:TSLA:5Min:{stamp}"
        assert (order["source"], order["strategy_id"], order["status"], order["side"]) == (
            "strategy",
            "STRATEGY-TSLA",
            "filled",
            "buy",
        )
        assert state["decisions"][-1] == ["buy", "entry"]
        assert "trading.tasks.strategies_bar_closed" in log.read_text()

        feed(engine_env, "again", end)  # a redelivery of the same bar: the worker decides nothing again

        def results() -> list[str]:
            return SUCCEEDED.findall(log.read_text())

        assert wait_for(lambda: len(results()) >= 2, timeout=60) is not None, log.read_text()[-3000:]
        assert results() == ["1", "0"]  # decisions recorded: one on the first delivery, none on the second
        again = report(engine_env, end)
        assert (len(again["orders"]), again["fills"], len(again["decisions"])) == (1, 1, 1)
    finally:
        processes.stop()

    assert json.loads(feed(engine_env, "deliver", end).strip().splitlines()[-1])["delivered"] >= 1
    [trade] = [t for t in receiver.trades.values() if t["side"] == "BUY"]
    assert (trade["strategy_id"], trade["symbol"], trade["quantity"]) == ("STRATEGY-TSLA", "TSLA", "3.0000")
    assert took < 30
