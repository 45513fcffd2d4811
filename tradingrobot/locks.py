"""One lock helper for the cache locks that keep a job single across processes: the poll, the backfill, the
push-back and the alert round.

    with cache_lock("wp:poll", ttl=420, owner="worker:celery@host") as lock:
        if not lock.acquired:
            return  # another holder; `lock.holder` says who
        ...
        lock.renew()  # the lease starts again, only while it is still ours

A lock is a lease: it ends at `ttl` seconds unless renewed, so a holder killed with SIGKILL frees it by itself. The
value is an owner token (a random id, then the caller's `owner` label): release deletes the key and `renew()`
extends it only while the token is still ours, so a holder whose lease ran out can never free or extend the
lock of the one that took it over. `stale` lets a caller that can tell a dead holder before its lease ends (the
poll asks the worker's heartbeat) take that exact holder's lock over; it is compare-and-delete too.

Decided: with Redis as the cache, redis-py's `Lock` (the token is set with SET NX PX, release and renewal are its
server-side Lua scripts that compare the token first), on the Redis of `CACHES["default"]`, under the cache's key
prefix. Embedded (LocMemCache, one process) there is no server to run a script, so the same steps run on the
Django cache under one process-wide mutex: atomic for every thread that can see that cache. Other cache backends
get the same fallback, which is atomic only within one process.
"""

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache

import redis
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import LockNotOwnedError

logger = logging.getLogger(__name__)

_MUTEX = threading.Lock()  # the embedded fallback's atomicity
# Compare-and-delete of another holder's token: the takeover of a holder known to be dead.
_DELETE_IF = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


@lru_cache(maxsize=8)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def _redis_url() -> str | None:
    """The write server of the default cache when it is Redis, else None (the embedded fallback)."""
    if not isinstance(caches["default"], RedisCache):
        return None
    location = settings.CACHES["default"]["LOCATION"]
    first = location[0] if isinstance(location, list | tuple) else location.split(",")[0]
    return first.strip()


def redis_client_of_cache() -> redis.Redis | None:
    """A client of the default cache's Redis (shared by every process), or None with the embedded cache."""
    url = _redis_url()
    return _redis(url) if url else None


def _owner_of(value: str) -> str:
    """The owner label of a stored token (`<random id> <label>`)."""
    return value.partition(" ")[2]


class CacheLock:
    """A lease on `name`; see the module docstring. Made by `cache_lock`."""

    def __init__(self, name: str, *, ttl: float, owner: str | None = None):
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.name = name
        self.key = cache.make_key(f"lock:{name}")
        self.ttl = ttl
        self.owner = owner or ""
        self.token = f"{uuid.uuid4().hex} {self.owner}".rstrip()
        self.acquired = False
        self.holder: str | None = None  # the owner label of whoever holds it, when we could not take it
        url = _redis_url()
        self._redis = _redis(url) if url else None
        self._lock = (
            self._redis.lock(self.key, timeout=ttl, blocking=False, thread_local=False) if self._redis else None
        )

    # --- the steps, on Redis or on the embedded cache ---------------------------------------------------------
    def _add(self) -> bool:
        if self._lock is not None:
            return bool(self._lock.acquire(token=self.token))
        with _MUTEX:
            return cache.add(self.key, self.token, timeout=self.ttl)

    def _current(self) -> str | None:
        if self._redis is not None:
            value = self._redis.get(self.key)
            return value.decode() if isinstance(value, bytes) else value
        return cache.get(self.key)

    def _delete_if(self, token: str) -> bool:
        if self._redis is not None:
            return bool(self._redis.eval(_DELETE_IF, 1, self.key, token))
        with _MUTEX:
            if cache.get(self.key) != token:
                return False
            cache.delete(self.key)
            return True

    # --- the API ------------------------------------------------------------------------------------------
    def acquire(self, *, stale: Callable[[str], bool] | None = None) -> bool:
        """Take the lock if it is free, or if `stale(holder's owner label)` says its holder is dead."""
        if self._add():
            self.acquired = True
            return True
        current = self._current()
        if current is None and self._add():  # its lease ended just now
            self.acquired = True
            return True
        holder = self.holder = _owner_of(current) if current is not None else None
        if current is not None and holder is not None and stale is not None and stale(holder):
            logger.warning("lock %s: taken over from a holder that died (%s)", self.name, self.holder)
            if self._delete_if(current) and self._add():
                self.acquired = True
                self.holder = None
        return self.acquired

    def renew(self) -> bool:
        """Start the lease again from now. False (and nothing changed) when the lock is no longer ours: its lease
        ran out and another holder may have it; the caller should stop the work the lock guards."""
        if not self.acquired:
            return False
        if self._lock is not None:
            try:
                self._lock.reacquire()
            except LockNotOwnedError:
                self.acquired = False
        else:
            with _MUTEX:
                self.acquired = cache.get(self.key) == self.token and cache.touch(self.key, self.ttl)
        if not self.acquired:
            logger.warning("lock %s: lost (its lease of %s s ran out before a renewal)", self.name, self.ttl)
        return self.acquired

    def owned(self) -> bool:
        return self._current() == self.token

    def release(self) -> None:
        """Free the lock if it is still ours; a lock another holder took over is left alone."""
        if not self.acquired:
            return
        self.acquired = False
        if self._lock is not None:
            try:
                self._lock.release()
                released = True
            except LockNotOwnedError:
                released = False
        else:
            released = self._delete_if(self.token)
        if not released:
            logger.warning("lock %s: not released, its lease had run out (another holder may have it)", self.name)


@contextmanager
def cache_lock(
    name: str, *, ttl: float, owner: str | None = None, stale: Callable[[str], bool] | None = None
) -> Iterator[CacheLock]:
    """Try once to take `name` for `ttl` seconds (no waiting); yields the lock, `acquired` says whether it is ours.
    Released on the way out, whatever happens inside."""
    lock = CacheLock(name, ttl=ttl, owner=owner)
    lock.acquire(stale=stale)
    try:
        yield lock
    finally:
        lock.release()
