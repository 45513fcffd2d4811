"""Per-process memos invalidated by a version counter in the shared cache.

A writer bumps the version (after its transaction commits); readers reuse their process's value while the
version is unchanged and the value is younger than the memo's max age. With Redis as the cache the version is
shared by every process, so a write anywhere is seen at the next read; with the embedded in-process cache,
other processes' writes are seen within the max age.

Three memos use it: the ledger memo (the status document's ledger part; bumped by every trading event and
price write; max age STATUS_CACHE_SECONDS, 0 turns it off), the market data memo (pages of bars: the same
version; kept up to MARKET_DATA_CACHE_SECONDS with a shared cache) and the API key memo
(tradingrobot/security/keys.py).

The cache unreachable (Redis down or restarting) is not an error for a memo: the version cannot be read, so the
memo is skipped (every read builds its value, from the database) and this process's entries are dropped, so none
remembered before the outage is reused after it; a bump that cannot reach the cache drops them too.
"""

import contextlib
import contextvars
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)
# What a cache call raises while Redis is unreachable (refused, reset, timed out): callers that can do without the
# cache (memos, rate limits, locks that fall back) catch exactly this, never a bare Exception.
CACHE_DOWN: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
UNREACHABLE = object()  # the version while the cache cannot be read: matches no entry
_memos: list["VersionedMemo"] = []
_pinned: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("memo_versions", default=None)


def memo_version_keys() -> list[str]:
    """The cache keys of every memo's version (what versions_pinned reads)."""
    return list(dict.fromkeys(memo.version_key for memo in _memos))


@contextlib.contextmanager
def versions_pinned(read: dict[str, Any] | None = None) -> Iterator[None]:
    """Every memo's version read once, in one round trip to the shared cache, for the block (a request): the
    memos it uses then cost no round trip each. As if each memo had been read at the start of the block.
    `read`: the versions already read (memo_version_keys() in a caller's own round trip)."""
    if _pinned.get() is not None:  # already pinned by an outer block
        yield
        return
    try:
        versions = dict(read) if read is not None else _versions_read(memo_version_keys())
    except CACHE_DOWN:  # nothing pinned: each memo reads (and meets the outage) as it would unpinned
        yield
        return
    token = _pinned.set(versions)
    try:
        yield
    finally:
        _pinned.reset(token)


class VersionedMemo:
    def __init__(self, version_key: str, *, max_age: Callable[[], float], max_entries: int = 512):
        _memos.append(self)
        self.version_key = version_key
        self.max_age = max_age
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._down = False  # the cache was unreachable at the last try (one warning per outage, not per read)
        self._entries: OrderedDict[Hashable, tuple[Any, float, Any]] = OrderedDict()

    def version(self) -> Any:
        """The shared version (pinned for the request when it is), or UNREACHABLE (and this process's entries
        dropped) while the cache is down."""
        pinned = _pinned.get()
        if pinned is not None and self.version_key in pinned:
            return pinned[self.version_key]
        _round_trip_flush()  # a bump waiting in an open round trip is seen by this read
        try:
            version = cache.get(self.version_key)
        except CACHE_DOWN as error:
            self._unreachable("read", error)
            return UNREACHABLE
        self._down = False
        return version

    def bump(self, *args, **kwargs) -> None:
        """Invalidate every process's entries (usable as an event listener or a signal receiver)."""
        pinned = _pinned.get()
        if pinned is not None:  # this block's own write: its later reads must not reuse the old entries
            pinned.pop(self.version_key, None)
        round_trip = _round_trip.get()
        if round_trip is not None:  # sent when it ends (one bump of a version changes it as well as many)
            memos = round_trip.bumps.setdefault(self.version_key, [])
            if self not in memos:
                memos.append(self)
            return
        try:
            _version_next(self.version_key)
        except CACHE_DOWN as error:
            self._unreachable("bumped", error)

    def _unreachable(self, action: str, error: BaseException) -> None:
        if not self._down:
            logger.warning("memo %s not %s: cache unreachable (%s); memo skipped", self.version_key, action, error)
        self._down = True
        self.clear()

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """`build()`'s value, reused while the version is unchanged and the value is young enough.
        None is never remembered."""
        max_age = self.max_age()
        if max_age <= 0:
            return build()
        version = self.version()
        if version is UNREACHABLE:
            return build()
        entry = self._entries.get(key)
        if entry is not None and entry[0] == version and time.monotonic() - entry[1] < max_age:
            return entry[2]
        value = build()
        if value is not None:
            with self._lock:
                self._entries[key] = (version, time.monotonic(), value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def redis_write_client(backend: RedisCache) -> Any:
    """The backend's pooled write client (RedisCache._cache: private in Django, missing from the stubs), kept:
    Django's get_client makes a new redis.Redis on every call (its response callbacks: about 0.2 ms of CPU)."""
    client_cache = backend._cache  # type: ignore[attr-defined]  # not in django-stubs
    client = getattr(client_cache, "_kept_write_client", None)
    if client is None:
        client = client_cache.get_client(write=True)
        client_cache._kept_write_client = client
    return client


@dataclass
class _RoundTrip:
    """What an open round trip (`cache_round_trip`) will send: memo versions to bump, messages to publish."""

    bumps: dict[str, list["VersionedMemo"]] = field(default_factory=dict)  # version key -> its memos bumped
    messages: list[tuple[str, str, Callable[[BaseException], None]]] = field(default_factory=list)


_round_trip: contextvars.ContextVar[_RoundTrip | None] = contextvars.ContextVar("round_trip", default=None)
# _version_next's SET NX and INCR for each key, then each PUBLISH (channel, message): one script call.
_ROUND_TRIP_SCRIPT = """
for _, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[1], 'NX')
  redis.call('INCR', key)
end
for i = 2, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end
return 0
"""


@contextlib.contextmanager
def cache_round_trip() -> Iterator[None]:
    """The memo bumps of the block and the messages published through it (`round_trip_publish`) sent to the
    shared cache in one script call when it ends, the versions first (on Redis; elsewhere each goes at once).
    A memo read in the block sends what is waiting first, so it sees every bump made before it."""
    if _round_trip.get() is not None or not isinstance(caches["default"], RedisCache):
        yield
        return
    token = _round_trip.set(_RoundTrip())
    try:
        yield
    finally:
        _round_trip_flush()
        _round_trip.reset(token)


def round_trip_publish(url: str, channel: str, message: str, failed: Callable[[BaseException], None]) -> bool:
    """PUBLISH `message` with the open round trip when `url` is the cache's own Redis (its write server); False
    (nothing done: publish it yourself) otherwise. `failed(error)` is called if the round trip fails."""
    pending = _round_trip.get()
    backend = caches["default"]
    if pending is None or not isinstance(backend, RedisCache):
        return False
    if url != backend._cache._servers[0]:  # type: ignore[attr-defined]  # the write server (Django's choice)
        return False
    pending.messages.append((channel, message, failed))
    return True


def _round_trip_flush() -> None:
    pending = _round_trip.get()
    if pending is None or not (pending.bumps or pending.messages):
        return
    bumps, messages = dict(pending.bumps), list(pending.messages)
    pending.bumps.clear()
    pending.messages.clear()
    backend = caches["default"]
    assert isinstance(backend, RedisCache)  # cache_round_trip opens one only then
    client = redis_write_client(backend)
    script = getattr(client, "_kept_round_trip", None)
    if script is None:
        script = client._kept_round_trip = client.register_script(_ROUND_TRIP_SCRIPT)
    published = [part for channel, message, _ in messages for part in (channel, message)]
    try:
        script(keys=[backend.make_and_validate_key(key) for key in bumps], args=[int(time.time() * 1000), *published])
    except CACHE_DOWN as error:
        for memo in [memo for memos in bumps.values() for memo in memos]:
            memo._unreachable("bumped", error)
        for _, _, failed in messages:
            failed(error)


def _versions_read(keys: list[str]) -> dict[str, Any]:
    """The versions of `keys` (None: not set), in one round trip: Django's get_many, on the kept client."""
    _round_trip_flush()
    backend = caches["default"]
    if not isinstance(backend, RedisCache) or not keys:
        return {key: None for key in keys} | cache.get_many(keys)
    full_keys = [backend.make_and_validate_key(key) for key in keys]
    serializer = backend._cache._serializer  # type: ignore[attr-defined]  # the backend's own: not in the stubs
    raw = redis_write_client(backend).mget(full_keys)
    return {key: None if value is None else serializer.loads(value) for key, value in zip(keys, raw, strict=True)}


def _version_next(key: str) -> None:
    """Change the version. Not set yet (or evicted), it starts from the clock in ms, so it never goes back to a
    value an entry may still hold. On Redis one round trip (SET NX and INCR); Django's incr takes two."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        full_key = backend.make_and_validate_key(key)
        pipe = redis_write_client(backend).pipeline(transaction=False)
        pipe.set(full_key, int(time.time() * 1000), nx=True)
        pipe.incr(full_key)
        pipe.execute()
        return
    try:
        cache.incr(key)
    except ValueError:  # not set yet (or evicted)
        cache.set(key, int(time.time() * 1000), timeout=None)


ledger_memo = VersionedMemo("ledger:version", max_age=lambda: settings.STATUS_CACHE_SECONDS)
LOCAL_CACHES = ("django.core.cache.backends.locmem.LocMemCache", "django.core.cache.backends.dummy.DummyCache")


def _market_data_max_age() -> float:
    """With a shared cache every price write reaches every process through the version at once, so a page of
    bars (which changes only with a price write) may be kept MARKET_DATA_CACHE_SECONDS; with an in-process
    cache other processes' writes are seen only through the max age: the ledger memo's."""
    if settings.STATUS_CACHE_SECONDS <= 0:
        return 0.0
    if settings.CACHES["default"]["BACKEND"] in LOCAL_CACHES:
        return settings.STATUS_CACHE_SECONDS
    return max(settings.MARKET_DATA_CACHE_SECONDS, settings.STATUS_CACHE_SECONDS)


# The market data pages: invalidated by the same version as the ledger memo (every price write bumps it).
market_data_memo = VersionedMemo("ledger:version", max_age=_market_data_max_age)
memoized = ledger_memo.get
ledger_version_bump = ledger_memo.bump


def memo_clear() -> None:
    """Forget this process's ledger and market data entries."""
    ledger_memo.clear()
    market_data_memo.clear()
