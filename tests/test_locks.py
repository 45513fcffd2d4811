"""The cache lock helper on both of its backends: redis-py's Lock on Redis, the mutex-guarded fallback on the
in-process cache. Real time (no frozen clock): leases end on the cache's own clock."""

import threading
import time
import uuid

import pytest

from tests.conftest import REQUIRE_SERVICES
from tradingrobot.locks import CacheLock, cache_lock


@pytest.fixture(params=["locmem", "redis"])
def backend(request, settings):
    if request.param == "redis":
        if not settings.REDIS_URL:
            if REQUIRE_SERVICES:
                pytest.fail("REQUIRE_SERVICES=1 but REDIS_URL is not set")
            pytest.skip("needs Redis (set REDIS_URL)")
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": settings.REDIS_URL}
        }
    else:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return request.param


@pytest.fixture
def name(backend) -> str:
    return f"test:{uuid.uuid4().hex[:8]}"


def test_one_holder_at_a_time_and_free_after_release(name):
    with cache_lock(name, ttl=10, owner="first") as first:
        assert first.acquired and first.owned()
        with cache_lock(name, ttl=10, owner="second") as second:
            assert not second.acquired and second.holder == "first"
    with cache_lock(name, ttl=10, owner="third") as third:
        assert third.acquired


def test_released_on_the_way_out_of_an_error(name):
    with pytest.raises(RuntimeError), cache_lock(name, ttl=10):
        raise RuntimeError("boom")
    with cache_lock(name, ttl=10) as again:
        assert again.acquired


def test_a_lease_that_ran_out_is_neither_renewed_nor_released_over_the_next_holder(name):
    first = CacheLock(name, ttl=0.3, owner="slow")
    assert first.acquire()
    time.sleep(0.5)
    second = CacheLock(name, ttl=10, owner="next")
    assert second.acquire()
    assert not first.renew() and not first.acquired
    first.release()
    assert second.owned()
    assert not CacheLock(name, ttl=10).acquire()  # still held by `second`
    second.release()
    assert not second.owned()


def test_renewal_keeps_the_lock_past_its_first_lease(name):
    holder = CacheLock(name, ttl=0.4, owner="renews")
    assert holder.acquire()
    for _ in range(4):  # 0.8 s in all, twice the lease
        time.sleep(0.2)
        assert holder.renew()
        assert not CacheLock(name, ttl=10, owner="rival").acquire()
    holder.release()
    assert CacheLock(name, ttl=10).acquire()


def test_renewal_from_another_thread(name):
    """The backfill renews from its pipeline threads."""
    holder = CacheLock(name, ttl=10)
    assert holder.acquire()
    answers = []
    thread = threading.Thread(target=lambda: answers.append(holder.renew()))
    thread.start()
    thread.join()
    assert answers == [True] and holder.owned()
    holder.release()


def test_a_holder_known_dead_is_taken_over_and_only_that_holder(name):
    seen = []

    def dead(owner: str) -> bool:
        seen.append(owner)
        return owner == "worker:a|2025-12-16T15:30:00+00:00"

    gone = CacheLock(name, ttl=60, owner="worker:a|2025-12-16T15:30:00+00:00")
    assert gone.acquire()
    taker = CacheLock(name, ttl=60, owner="worker:b")
    assert taker.acquire(stale=dead)
    assert seen == ["worker:a|2025-12-16T15:30:00+00:00"]
    gone.release()  # the dead holder's late release leaves the new lock alone
    assert taker.owned()
    assert not CacheLock(name, ttl=60, owner="worker:c").acquire(stale=dead)  # worker:b is alive
    taker.release()


def test_two_owners_with_the_same_label_still_have_their_own_tokens(name):
    first = CacheLock(name, ttl=0.3, owner="worker:a")
    assert first.acquire()
    time.sleep(0.5)
    second = CacheLock(name, ttl=10, owner="worker:a")
    assert second.acquire()
    first.release()
    assert second.owned()
    second.release()
