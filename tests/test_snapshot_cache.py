"""The memos' versions pinned for a request (tradingrobot/snapshot_cache.versions_pinned): read once, in one
round trip, at the start; a write of the request itself still invalidates at once."""

import itertools
import socket
import time
import uuid

import pytest
import redis
from django.core.cache import cache

from tradingrobot.snapshot_cache import VersionedMemo, cache_round_trip, round_trip_publish, versions_pinned

_names = itertools.count()


def memo() -> VersionedMemo:
    return VersionedMemo(f"test-memo-{next(_names)}:version", max_age=lambda: 60.0)


def test_inside_a_pinned_block_the_version_is_the_one_read_at_its_start(settings):
    first, second = memo(), memo()
    first.bump()
    builds = []
    with versions_pinned():
        assert first.get("k", lambda: builds.append(1) or "v1") == "v1"
        cache.incr(first.version_key)  # another process writes meanwhile
        assert first.get("k", lambda: builds.append(2) or "v2") == "v1"  # as if read at the block's start
        assert second.get("k", lambda: "s1") == "s1"
    assert first.get("k", lambda: builds.append(3) or "v3") == "v3"  # the write is seen after the block
    assert builds == [1, 3]


def test_a_bump_inside_the_block_is_seen_at_once():
    one = memo()
    one.bump()
    with versions_pinned():
        assert one.get("k", lambda: "old") == "old"
        one.bump()  # this request's own write
        assert one.get("k", lambda: "new") == "new"


def test_pinned_blocks_nest_and_reads_outside_are_live():
    one = memo()
    one.bump()
    with versions_pinned(), versions_pinned():
        assert one.get("k", lambda: "a") == "a"
    cache.incr(one.version_key)
    assert one.get("k", lambda: "b") == "b"


def _redis_cache():
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        pytest.skip("a round trip needs Redis as the cache (REDIS_URL)")
    return backend


def test_a_round_trip_sends_its_bumps_and_messages_together_at_its_end():
    backend = _redis_cache()
    one, two = memo(), memo()
    one.bump(), two.bump()
    before = cache.get_many([one.version_key, two.version_key])
    channel = f"test-round-trip-{uuid.uuid4()}"
    url = backend._cache._servers[0]
    listener = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel)
    listener.get_message(timeout=1.0)  # the subscription's confirmation

    def heard() -> list[bytes]:
        messages = []
        while (message := listener.get_message(timeout=0.2)) is not None:
            messages.append(message["data"])
        return messages

    fresh = VersionedMemo(f"test-memo-{uuid.uuid4()}:version", max_age=lambda: 60.0)  # no version yet: from the clock
    started = int(time.time() * 1000)
    with cache_round_trip():
        one.bump(), one.bump(), two.bump(), fresh.bump()
        assert round_trip_publish(url, channel, "first", print)
        assert round_trip_publish(url, channel, "second", print)
        assert not round_trip_publish("redis://elsewhere:6379/0", channel, "not mine", print)
        assert cache.get_many([one.version_key, two.version_key]) == before  # nothing sent yet
        assert heard() == []
    after = cache.get_many([one.version_key, two.version_key])
    assert after[one.version_key] == before[one.version_key] + 1  # bumped once: a version changes the same
    assert after[two.version_key] == before[two.version_key] + 1
    assert heard() == [b"first", b"second"]
    assert cache.get(fresh.version_key) >= started + 1
    cache.delete(fresh.version_key)
    assert not round_trip_publish(url, channel, "alone", print)  # no round trip open
    listener.close()


def test_a_memo_read_in_a_round_trip_sees_the_bumps_made_before_it():
    _redis_cache()
    one = memo()
    one.bump()
    assert one.get("k", lambda: "old") == "old"
    with cache_round_trip():
        one.bump()
        assert one.get("k", lambda: "new") == "new"


def test_a_round_trip_that_cannot_reach_redis_drops_the_memos_entries(settings):
    _redis_cache()
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    one = memo()
    twin = VersionedMemo(one.version_key, max_age=lambda: 60.0)  # two memos of one version (as the market data's)
    for kept in (one, twin):
        kept._entries["k"] = ("some version", 0.0, "kept")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    failures: list[BaseException] = []
    with cache_round_trip():
        one.bump(), twin.bump()
        assert round_trip_publish(url, "test-channel", "lost", failures.append)
        assert one._entries and twin._entries  # not sent yet
    assert not one._entries and not twin._entries
    assert len(failures) == 1
