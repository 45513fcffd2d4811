"""A per-process memo of the expensive part of the status document, invalidated by a shared version.

Every trading event (fill, cancel, halt, new prices...) bumps a version counter in the Django cache after
its transaction commits. Readers reuse their process's memo while the version is unchanged and the memo is
younger than STATUS_CACHE_SECONDS. With Redis as the cache the version is shared by every process, so a
write anywhere is seen at the next read; with the embedded in-process cache, other processes' writes are
seen within STATUS_CACHE_SECONDS. STATUS_CACHE_SECONDS=0 turns the memo off.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache

VERSION_KEY = "ledger:version"
_lock = threading.Lock()
_memo: dict[str, tuple[Any, float, Any]] = {}


def ledger_version() -> Any:
    return cache.get(VERSION_KEY)


def ledger_version_bump(event: dict | None = None) -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # not set yet (or evicted)
        cache.set(VERSION_KEY, int(time.time() * 1000), timeout=None)


def memoized(name: str, build: Callable[[], Any]) -> Any:
    max_age = settings.STATUS_CACHE_SECONDS
    if max_age <= 0:
        return build()
    version = ledger_version()
    entry = _memo.get(name)
    if entry is not None and entry[0] == version and time.monotonic() - entry[1] < max_age:
        return entry[2]
    value = build()
    with _lock:
        _memo[name] = (version, time.monotonic(), value)
    return value


def memo_clear() -> None:
    with _lock:
        _memo.clear()
