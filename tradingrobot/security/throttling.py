"""Rate limits counted in the shared cache (Redis when configured) with atomic increments, so every
process sees the same counts. Fixed windows: a client may burst up to twice a limit across a window edge."""

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import BaseThrottle

from tradingrobot.snapshot_cache import CACHE_DOWN

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


def rate_hit(*, bucket: str, rate: str) -> int | None:
    """Count one request in `bucket`; None while within the rate, else the seconds until the window ends."""
    limit, window = rate_parse(rate)
    now = time.time()
    start = int(now // window) * window
    key = f"rate:{bucket}:{window}:{start}"
    try:
        count = _count(key, timeout=window + 1)
    except CACHE_DOWN as error:
        logger.warning("rate limit %s not counted: cache unreachable (%s)", bucket, error)
        return None
    if count > limit:
        return max(1, math.ceil(start + window - now))
    return None


def _count(key: str, *, timeout: int) -> int:
    """Count one request in `key` and return the count so far. On Redis one round trip: INCR, and the expiry set
    only by the window's first request (EXPIRE NX, Redis >= 7); Django's add + incr would take three."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        full_key = backend.make_and_validate_key(key)
        # The backend's own pooled client (RedisCache._cache: private in Django, missing from the stubs).
        client = backend._cache.get_client(full_key, write=True)  # type: ignore[attr-defined]  # not in django-stubs
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
