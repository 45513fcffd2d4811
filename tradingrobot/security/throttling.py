"""Rate limits counted in the shared cache (Redis when configured) with atomic increments, so every
process sees the same counts. Fixed windows: a client may burst up to twice a limit across a window edge."""

import contextlib
import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import NoScriptError
from rest_framework.throttling import BaseThrottle

from tradingrobot.snapshot_cache import CACHE_DOWN, redis_write_client

from . import redis_wire
from .client_ip import request_client_ip
from .principals import principal_id
from .scopes import TRADE, required_scope

logger = logging.getLogger(__name__)
# The cache unreachable (Redis restarting, CACHE_DOWN): the limits are not counted rather than every request failing
# with a 500, readiness included (tests/faults: readiness must say 503 "redis", the API keep trading on the database).
PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "day": 86400}


def rate_parse(rate: str) -> tuple[int, int]:
    """'60/min' -> (60, 60)."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period.strip().lower()]


@dataclass(frozen=True)
class _Window:
    key: str
    limit: int
    window: int
    start: int

    def wait(self, count: int, now: float) -> int | None:
        return max(1, math.ceil(self.start + self.window - now)) if count > self.limit else None


_windows: dict[tuple[str, str], _Window] = {}  # each bucket's current window, kept until `now` leaves it
MAX_WINDOWS = 4096


def _window(bucket: str, rate: str, now: float) -> _Window:
    kept = _windows.get((bucket, rate))
    if kept is not None and kept.start <= now < kept.start + kept.window:
        return kept
    limit, window = rate_parse(rate)
    start = int(now // window) * window
    made = _Window(f"rate:{bucket}:{window}:{start}", limit, window, start)
    if len(_windows) >= MAX_WINDOWS:
        _windows.clear()
    _windows[bucket, rate] = made
    return made


def rate_hit(*, bucket: str, rate: str) -> int | None:
    """Count one request in `bucket`; None while within the rate, else the seconds until the window ends."""
    now = time.time()
    window = _window(bucket, rate, now)
    try:
        count = _count(window.key, timeout=window.window + 1)
    except CACHE_DOWN as error:
        logger.warning("rate limit %s not counted: cache unreachable (%s)", bucket, error)
        return None
    return window.wait(count, now)


# One command instead of a pipeline of 2 per bucket + 1: redis-py's packing and parsing cost more CPU than Redis.
# KEYS: the buckets' keys, then the keys to read; ARGV: the number of buckets, then each bucket's expiry.
RATES_LUA = """
local buckets = tonumber(ARGV[1])
local out = {}
for i = 1, buckets do
  out[i] = redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[i + 1], 'NX')
end
for i = buckets + 1, #KEYS do
  out[i] = redis.call('GET', KEYS[i])
end
return out
"""


RATES_SHA = hashlib.sha1(RATES_LUA.encode()).hexdigest().encode()  # noqa: S324 - Redis names a script by its SHA-1


def _rates_call(client: Any, keys: list[str], args: list[int]) -> list:
    """The script's reply, on this thread's own connection (redis_wire: no pool, no lock, no client command
    machinery, which cost several times the round trip)."""
    connection = redis_wire.connection_for(client.connection_pool)
    packed = redis_wire.packed(connection, "EVALSHA", RATES_SHA, len(keys), *keys, *args)
    try:
        return redis_wire.call(connection, packed)
    except NoScriptError:  # not loaded yet (or Redis restarted): load it, once
        client.script_load(RATES_LUA)
        return redis_wire.call(connection, packed)


@dataclass(frozen=True)
class RatesHit:
    """Counted by rates_hit: the longest wait (None while every bucket is within its rate), the values read
    with the counts, and the counted windows (for rates_unhit)."""

    wait: int | None
    values: dict[str, Any]
    counted: tuple[_Window, ...]


def rates_hit(buckets: list[tuple[str, str]], *, read: list[str]) -> RatesHit:
    """Count one request in each bucket (as rate_hit does) and read the cache keys `read`, on Redis in one round
    trip. Raises CACHE_DOWN: the caller decides (rate_hit would not count)."""
    now = time.time()
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        windows = tuple(_window(bucket, rate, now) for bucket, rate in buckets)
        counts = [_count(w.key, timeout=w.window + 1) for w in windows]
        values = {key: None for key in read} | cache.get_many(read)
        return _hit(windows, counts, values, now)
    plan = _plan(backend, buckets, read, now)
    replies = _rates_call(redis_write_client(backend), plan.full_keys, plan.args)
    n = len(plan.windows)
    serializer = backend._cache._serializer  # type: ignore[attr-defined]  # the backend's own: not in the stubs
    values = {key: None if raw is None else serializer.loads(raw) for key, raw in zip(read, replies[n:], strict=True)}
    return _hit(plan.windows, replies[:n], values, now)


def _hit(windows: tuple[_Window, ...], counts: list, values: dict[str, Any], now: float) -> RatesHit:
    waits = [wait for w, count in zip(windows, counts, strict=True) if (wait := w.wait(int(count), now)) is not None]
    return RatesHit(max(waits) if waits else None, values, windows)


@dataclass(frozen=True)
class _Plan:
    """rates_hit's command for one list of buckets and keys to read, in their current windows."""

    windows: tuple[_Window, ...]
    full_keys: list[str]
    args: list[int]
    since: float  # the last of the windows' starts
    until: float  # the first of their ends


_plans: dict[tuple, _Plan] = {}


def _plan(backend: RedisCache, buckets: list[tuple[str, str]], read: list[str], now: float) -> _Plan:
    key = (backend, tuple(buckets), tuple(read))
    plan = _plans.get(key)
    if plan is not None and plan.since <= now < plan.until:
        return plan
    windows = tuple(_window(bucket, rate, now) for bucket, rate in buckets)
    _, full_keys = _redis(backend, [w.key for w in windows] + read)
    since = max((w.start for w in windows), default=-math.inf)
    until = min((w.start + w.window for w in windows), default=math.inf)
    plan = _Plan(windows, full_keys, [len(windows), *(w.window + 1 for w in windows)], since, until)
    if len(_plans) >= MAX_WINDOWS:
        _plans.clear()
    _plans[key] = plan
    return plan


def rates_unhit(hit: RatesHit) -> None:
    """Take back rates_hit's counts (the request is handed to a path that counts it again)."""
    backend = caches["default"]
    try:
        if isinstance(backend, RedisCache):
            client, full_keys = _redis(backend, [w.key for w in hit.counted])
            pipe = client.pipeline(transaction=False)
            for window, full_key in zip(hit.counted, full_keys, strict=True):
                pipe.decr(full_key)
                pipe.expire(full_key, window.window + 1, nx=True)  # expired in between: the new key expires too
            pipe.execute()
            return
        for window in hit.counted:
            with contextlib.suppress(ValueError):  # expired in between: nothing to take back
                cache.decr(window.key)
    except CACHE_DOWN as error:
        logger.warning("rate counts not taken back: cache unreachable (%s)", error)


PRECOUNTED = "tradingrobot.precounted"  # environ key: the request's Precounted (tradingrobot/lean_post.py)


class Precounted:
    """Buckets a request was counted in ahead, all within their rates (rates_hit, one round trip): the check
    that would count one of them claims it instead (`claimed`); what nobody claimed is taken back at the end
    (`release`), so every bucket ends counted exactly as the request's own checks would have counted it."""

    def __init__(self, buckets: list[tuple[str, str]], hit: RatesHit):
        assert hit.wait is None  # a request over a rate is handed over uncounted: its check refuses it
        self._pending = dict(zip(buckets, hit.counted, strict=True))
        self.taken_back: list[str] = []

    def claimed(self, bucket: str, rate: str) -> bool:
        return self._pending.pop((bucket, rate), None) is not None

    def release(self) -> None:
        if self._pending:
            rates_unhit(RatesHit(None, {}, tuple(self._pending.values())))
            self.taken_back = [bucket for bucket, _ in self._pending]
            self._pending.clear()


def precounted_claimed(meta: dict, bucket: str, rate: str) -> bool:
    """Whether `bucket` was counted ahead for the request of `meta` (its WSGI environ): then it is not counted
    again, and it was within its rate."""
    precounted = meta.get(PRECOUNTED)
    return precounted is not None and precounted.claimed(bucket, rate)


def _redis(backend: RedisCache, keys: list[str]) -> tuple[Any, list[str]]:
    """The backend's kept write client (snapshot_cache.redis_write_client) and the full keys (made and validated
    once per key)."""
    made: dict[str, str] | None = getattr(backend, "_made_keys", None)
    if made is None or len(made) > 4096:  # a window's keys are new each window: the old ones are let go
        made = backend._made_keys = {}  # type: ignore[attr-defined]  # kept on the backend, as the client is
    full_keys = [made.get(key) or made.setdefault(key, backend.make_and_validate_key(key)) for key in keys]
    return redis_write_client(backend), full_keys


def _count(key: str, *, timeout: int) -> int:
    """Count one request in `key` and return the count so far. On Redis one round trip: INCR, and the expiry set
    only by the window's first request (EXPIRE NX, Redis >= 7); Django's add + incr would take three."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client, (full_key,) = _redis(backend, [key])
        pipe = client.pipeline(transaction=False)
        pipe.incr(full_key)
        pipe.expire(full_key, timeout, nx=True)
        count, _ = pipe.execute()
        return int(count)
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1


class _CacheThrottle(BaseThrottle):
    def __init__(self):
        self._wait = None

    def buckets(self, request, view) -> list[tuple[str, str]]:
        raise NotImplementedError

    def allow_request(self, request, view):
        for bucket, rate in self.buckets(request, view):
            if precounted_claimed(getattr(request, "_request", request).META, bucket, rate):
                continue
            wait = rate_hit(bucket=bucket, rate=rate)
            if wait is not None:
                self._wait = wait
                return False
        return True

    def wait(self):
        return self._wait


class CredentialRateThrottle(_CacheThrottle):
    """Every API request, per credential."""

    def buckets(self, request, view):
        ident = principal_id(request.auth)
        return [(f"cred:{ident}", settings.THROTTLE_RATES["credential"])] if ident else []


class TradeRateThrottle(_CacheThrottle):
    """Requests needing the trade scope: a stricter limit, per credential and per client IP."""

    def buckets(self, request, view):
        if required_scope(view, request.method) != TRADE:
            return []
        rate = settings.THROTTLE_RATES["trade"]
        ident = principal_id(request.auth)
        buckets = [(f"trade-ip:{request_client_ip(request._request)}", rate)]
        if ident:
            buckets.append((f"trade-cred:{ident}", rate))
        return buckets
