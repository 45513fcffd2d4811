"""A per-process memo of read documents (the status ledger part, market data pages), invalidated by a shared
version.

Every trading event (fill, cancel, halt, new prices...) bumps a version counter in the Django cache after
its transaction commits. Readers reuse their process's memo while the version is unchanged and the memo is
younger than STATUS_CACHE_SECONDS. With Redis as the cache the version is shared by every process, so a
write anywhere is seen at the next read; with the embedded in-process cache, other processes' writes are
seen within STATUS_CACHE_SECONDS. STATUS_CACHE_SECONDS=0 turns the memo off.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings
from django.core.cache import cache

VERSION_KEY = "ledger:version"
_lock = threading.Lock()
_memo: OrderedDict[Hashable, tuple[Any, float, Any]] = OrderedDict()
MAX_ENTRIES = 512


def ledger_version() -> Any:
    return cache.get(VERSION_KEY)


def ledger_version_bump(event: dict | None = None) -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # not set yet (or evicted)
        cache.set(VERSION_KEY, int(time.time() * 1000), timeout=None)


def memoized(key: Hashable, build: Callable[[], Any]) -> Any:
    """`build()`'s value, reused while the ledger version is unchanged and the value is young enough."""
    max_age = settings.STATUS_CACHE_SECONDS
    if max_age <= 0:
        return build()
    version = ledger_version()
    entry = _memo.get(key)
    if entry is not None and entry[0] == version and time.monotonic() - entry[1] < max_age:
        return entry[2]
    value = build()
    with _lock:
        _memo[key] = (version, time.monotonic(), value)
        _memo.move_to_end(key)
        while len(_memo) > MAX_ENTRIES:
            _memo.popitem(last=False)
    return value


def memo_clear() -> None:
    with _lock:
        _memo.clear()
