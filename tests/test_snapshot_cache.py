"""The memos' versions pinned for a request (tradingrobot/snapshot_cache.versions_pinned): read once, in one
round trip, at the start; a write of the request itself still invalidates at once."""

import itertools

from django.core.cache import cache

from tradingrobot.snapshot_cache import VersionedMemo, versions_pinned

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
