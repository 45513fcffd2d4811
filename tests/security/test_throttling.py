"""Rate limits: per client address (before authentication), per credential, stricter on trade routes; 429 with
Retry-After; counted in the shared cache, so a forged X-Forwarded-For does not get a fresh allowance."""

import datetime as dt
import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings as django_settings

from tests.conftest import REQUIRE_SERVICES
from trading.models import Order
from tradingrobot.security.throttling import rate_hit, rate_parse

from .conftest import assert_error


def assert_throttled(response) -> int:
    assert_error(response, 429, "throttled")
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 60
    return wait


def test_rate_parse():
    assert rate_parse("60/min") == (60, 60)
    assert rate_parse("5/s") == (5, 1)
    assert rate_parse("1000/hour") == (1000, 3600)


def test_per_credential_limit(settings, make_key, client_from):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "credential": "3/min"}
    _, plain = make_key("read")
    api = client_from(plain)
    assert [api.get("/api/status").status_code for _ in range(3)] == [200, 200, 200]
    assert_throttled(api.get("/api/status"))
    _, other = make_key("read")
    assert client_from(other).get("/api/status").status_code == 200  # another key has its own allowance


def test_trade_routes_are_stricter_and_a_throttled_trade_changes_nothing(settings, make_key, client_from):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "credential": "100/min", "trade": "2/min"}
    _, plain = make_key("read,trade")
    api = client_from(plain)
    statuses = [api.post("/api/trade/TSLA/buy?quantity=1").status_code for _ in range(2)]
    assert 429 not in statuses
    orders = Order.objects.count()
    assert_throttled(api.post("/api/trade/TSLA/buy?quantity=1"))
    assert Order.objects.count() == orders
    assert api.get("/api/status").status_code == 200  # reads still go through


def test_trade_limit_is_also_per_address_across_keys(settings, make_key, client_from):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "credential": "100/min", "trade": "2/min"}
    for _ in range(2):
        _, plain = make_key("trade")
        assert client_from(plain).post("/api/trade/TSLA/buy?quantity=1").status_code != 429
    _, fresh = make_key("trade")
    assert_throttled(client_from(fresh).post("/api/trade/TSLA/buy?quantity=1"))


def test_per_address_limit_counts_unauthenticated_requests_too(settings, client_from, make_key):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "ip": "3/min"}
    anon = client_from()
    assert [anon.get("/api/status").status_code for _ in range(3)] == [401, 401, 401]
    assert_throttled(anon.get("/api/status"))
    _, plain = make_key("read")
    assert_throttled(client_from(plain).get("/api/status"))  # same address, now with a key: still limited
    assert client_from(plain, remote_addr="192.0.2.200").get("/api/status").status_code == 200


def test_a_forged_forwarded_for_does_not_dodge_the_address_limit(settings, client_from, address):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "ip": "3/min"}
    settings.TRUSTED_PROXY_COUNT = 1  # one proxy in front: it appends the real client, which we count
    proxy = client_from(remote_addr="10.255.0.1")
    real_client = address
    for n in range(3):
        forged = f"203.0.113.{n}, {real_client}"
        assert proxy.get("/api/status", HTTP_X_FORWARDED_FOR=forged).status_code == 401
    assert_throttled(proxy.get("/api/status", HTTP_X_FORWARDED_FOR=f"198.51.100.99, {real_client}"))


def test_without_trusted_proxies_forwarded_for_is_ignored(settings, client_from):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "ip": "2/min"}
    settings.TRUSTED_PROXY_COUNT = 0
    api = client_from()
    for n in range(2):
        assert api.get("/api/status", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code == 401
    assert_throttled(api.get("/api/status", HTTP_X_FORWARDED_FOR="203.0.113.77"))


def test_counts_are_shared_with_other_processes():
    """Another process (a second web worker) sees and adds to the same count through the shared cache."""
    if "Redis" not in django_settings.CACHES["default"]["BACKEND"]:
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but the cache is not Redis")
        pytest.skip("needs Redis (set REDIS_URL)")
    # A day-long window: the calls of this test cannot straddle its edge (a minute window sometimes did).
    bucket = f"test-shared-{uuid.uuid4().hex}"
    assert rate_hit(bucket=bucket, rate="2/day") is None
    code = (
        "import django; django.setup(); from tradingrobot.security.throttling import rate_hit; "
        f"print(rate_hit(bucket='{bucket}', rate='2/day'), rate_hit(bucket='{bucket}', rate='2/day'))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tradingrobot.test_settings"}
    run = [sys.executable, "-c", code]
    out = subprocess.run(run, env=env, capture_output=True, text=True, check=True, timeout=60)  # noqa: S603
    second, third = out.stdout.split()
    assert second == "None"
    assert 1 <= int(third) <= 86400
    assert rate_hit(bucket=bucket, rate="2/day") is not None


def test_a_window_count_is_one_redis_round_trip_and_expires(settings):
    """On Redis the count and its expiry go in one pipeline (INCR + EXPIRE NX): the first request of a window
    sets the expiry, later ones keep it."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but the cache is not Redis")
        pytest.skip("needs Redis")
    bucket = f"probe-{uuid.uuid4().hex[:8]}"
    assert [rate_hit(bucket=bucket, rate="2/min") for _ in range(2)] == [None, None]
    assert 1 <= rate_hit(bucket=bucket, rate="2/min") <= 60
    (key,) = backend._cache.get_client().keys(backend.make_and_validate_key(f"rate:{bucket}:*"))
    client = backend._cache.get_client()
    assert client.get(key) == b"3"
    assert 0 < client.ttl(key) <= 61


def test_a_kept_window_is_left_when_the_clock_leaves_it_either_way(time_machine):
    """The window a bucket was last counted in is kept (throttling._window) only while `now` is inside it: the
    next window, or a clock set back, counts afresh."""
    time_machine.move_to(dt.datetime(2026, 1, 5, 12, 0, 30, tzinfo=dt.UTC), tick=False)
    bucket = f"probe-window-{uuid.uuid4().hex[:8]}"
    assert [rate_hit(bucket=bucket, rate="1/min") is None for _ in range(2)] == [True, False]
    time_machine.move_to(dt.datetime(2026, 1, 5, 12, 1, 0, tzinfo=dt.UTC), tick=False)  # the next window
    assert rate_hit(bucket=bucket, rate="1/min") is None
    time_machine.move_to(dt.datetime(2026, 1, 5, 11, 59, 59, tzinfo=dt.UTC), tick=False)  # set back
    assert rate_hit(bucket=bucket, rate="1/min") is None
    time_machine.move_to(dt.datetime(2026, 1, 5, 12, 0, 59, tzinfo=dt.UTC), tick=False)  # the first one again
    assert rate_hit(bucket=bucket, rate="1/min") == 1


def test_rates_hit_counts_afresh_in_each_window_and_reads_the_keys(time_machine):
    """rates_hit's command is kept per buckets and keys (throttling._plan) only while `now` is inside all of its
    windows."""
    from django.core.cache import cache

    from tradingrobot.security.throttling import rates_hit

    time_machine.move_to(dt.datetime(2026, 1, 5, 12, 0, 30, tzinfo=dt.UTC), tick=False)
    probe = uuid.uuid4().hex[:8]
    buckets = [(f"probe-a-{probe}", "1/min"), (f"probe-b-{probe}", "5/hour")]
    read = [f"probe-version-{probe}"]
    cache.set(read[0], 41)
    first, second = rates_hit(buckets, read=read), rates_hit(buckets, read=read)
    assert (first.wait, first.values) == (None, {read[0]: 41})
    assert second.wait == 30  # the minute's second request: the rest of that minute
    cache.set(read[0], 42)
    time_machine.move_to(dt.datetime(2026, 1, 5, 12, 1, 0, tzinfo=dt.UTC), tick=False)  # a new minute, same hour
    third = rates_hit(buckets, read=read)
    assert (third.wait, third.values) == (None, {read[0]: 42})
    time_machine.move_to(dt.datetime(2026, 1, 5, 11, 59, 59, tzinfo=dt.UTC), tick=False)  # set back: other windows
    assert rates_hit(buckets, read=read).wait is None
    time_machine.move_to(dt.datetime(2026, 1, 5, 12, 1, 30, tzinfo=dt.UTC), tick=False)
    assert [rates_hit(buckets, read=read).wait for _ in range(2)] == [30, 30]  # the hour's 4th and 5th: within
    assert rates_hit([(f"probe-b-{probe}", "5/hour")], read=[]).wait is not None  # the hour's 6th
