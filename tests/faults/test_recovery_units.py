"""The product fixes the fault tests led to, each on its own: a poll lock left by a killed worker is taken over, the
rate limiter lets requests through while the cache is unreachable, and beat outlives a Redis restart."""

import datetime as dt
import socket

import pytest

from integration.tasks import poll_lock_name, wordpress_poll
from market.clock import now
from market.models import PriceSample
from tradingrobot.locks import CacheLock
from tradingrobot.ops.heartbeats import heartbeat_record
from tradingrobot.ops.models import Heartbeat

from .conftest import RedisServer, free_port, need

pytestmark = [pytest.mark.django_db, pytest.mark.faults]

WORKER = "worker:celery@robot-1"


def lock_held(taken_at: dt.datetime) -> CacheLock:
    """The poll lock as a worker named WORKER took it at `taken_at` (and never released it)."""
    lock = CacheLock(poll_lock_name(), ttl=600, owner=f"{WORKER}|{taken_at.isoformat()}")
    assert lock.acquire()
    return lock


def test_a_poll_lock_left_by_a_killed_worker_is_taken_over(devfeed, market_open):
    left = lock_held(now() - dt.timedelta(seconds=30))
    heartbeat_record(name=WORKER, kind=Heartbeat.Kind.WORKER, started=True)  # the same name, started since
    assert wordpress_poll()["stored"] == 4
    assert PriceSample.objects.count() == 4
    assert not left.owned()


def test_a_poll_lock_of_a_worker_gone_silent_is_taken_over(devfeed, market_open, settings):
    heartbeat_record(name=WORKER, kind=Heartbeat.Kind.WORKER, started=True)
    lock_held(now())
    market_open.shift(settings.OPS_WORKER_MAX_AGE_SECONDS + 1)
    assert wordpress_poll()["stored"] == 4


def test_a_poll_lock_of_a_live_worker_is_respected(devfeed, market_open):
    heartbeat_record(name=WORKER, kind=Heartbeat.Kind.WORKER, started=True)
    held = lock_held(now())
    assert wordpress_poll() == {"skipped": "another poll is running"}
    assert PriceSample.objects.count() == 0 and devfeed.requests == 0
    assert held.owned()
    held.release()


def test_rate_limits_let_requests_through_while_the_cache_is_unreachable(settings):
    from tradingrobot.security.throttling import rate_hit

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"redis://127.0.0.1:{port}/0"}
    }
    assert rate_hit(bucket="ip:198.51.100.7", rate="1/min") is None
    assert rate_hit(bucket="ip:198.51.100.7", rate="1/min") is None  # not counted, not refused


def test_beat_waits_out_redis_and_reinstalls_its_lock_and_schedule(tmp_path):
    """RedBeat ended the beat process at the first tick without Redis, and a Redis restarted empty had lost its
    lock and schedule; the scheduler in tradingrobot/beat.py rides it out."""
    import shutil

    need(shutil.which("redis-server") is not None, "redis-server is not installed")
    import redis
    from celery import Celery

    from tradingrobot.beat import ResilientRedBeatScheduler

    server = RedisServer(free_port(), tmp_path / "redis.log")
    server.start()
    try:
        app = Celery("beat-test", set_as_current=False)
        app.conf.update(
            broker_url=server.url,
            redbeat_redis_url=server.url,
            redbeat_key_prefix="beat-test",
            redbeat_lock_timeout=5,
            beat_max_loop_interval=1,
            beat_schedule={"noop": {"task": "noop", "schedule": 3600.0}},
        )
        scheduler = ResilientRedBeatScheduler(app=app, lazy=False)
        assert scheduler.tick() <= 1  # no lock yet (the beat_init signal did not run): taken here
        assert scheduler.lock is not None and scheduler.lock.owned()

        server.kill()
        assert scheduler.tick() == scheduler.max_interval  # Redis away: wait, do not raise
        server.start()  # empty: lock and schedule gone
        scheduler.tick()
        scheduler.tick()
        client = redis.Redis.from_url(server.url)
        conf = app.redbeat_conf
        assert client.get(conf.lock_key) == scheduler.lock.local.token  # ours again
        entries = [key.decode() for key in client.zrange(conf.schedule_key, 0, -1)]
        assert any(key.endswith("noop") for key in entries), entries  # the schedule installed again
        client.close()
    finally:
        server.stop()
