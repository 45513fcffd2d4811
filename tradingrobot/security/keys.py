"""Checking a presented API key. Kept free of DRF imports: DRF loads the authentication classes that use it.

A verified key is remembered by this process (by a hash of the plain key) so that a request costs no
database query: the memo is dropped when any key changes (a version in the shared cache, bumped after the
change commits: with Redis every process sees it at once) and in any case after VERIFIED_MAX_AGE, which
bounds how long a revocation made in another process takes without Redis.
"""

import datetime as dt
import hashlib
import threading
import time

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from .models import ApiKey

LAST_USE_RESOLUTION = dt.timedelta(seconds=60)
VERIFIED_MAX_AGE = 30.0
VERIFIED_MAX_ENTRIES = 1024
VERSION_KEY = "apikeys:version"
_verified: dict[str, tuple[object, float, ApiKey]] = {}
_lock = threading.Lock()


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, int(time.time() * 1000), timeout=None)


def keys_changed(**kwargs) -> None:
    """Signal receiver: any saved or deleted key invalidates every process's memo, at once and again when
    the change commits (so a process that re-read the key in between does not keep the old state)."""
    _bump()
    transaction.on_commit(_bump)


def _verified_key(plain: str) -> ApiKey | None:
    digest = hashlib.sha256(plain.encode()).hexdigest()
    version = cache.get(VERSION_KEY)
    hit = _verified.get(digest)
    if hit is not None and hit[0] == version and time.monotonic() - hit[1] < VERIFIED_MAX_AGE:
        return hit[2]
    prefix, dot, _ = plain.partition(".")
    well_formed = dot and len(prefix) == 8 and prefix.isascii() and prefix.isalnum()
    api_key = ApiKey.objects.filter(prefix=prefix).first() if well_formed else None
    if api_key is None or not api_key.is_valid(plain):
        return None
    with _lock:
        if len(_verified) >= VERIFIED_MAX_ENTRIES:
            _verified.clear()
        _verified[digest] = (version, time.monotonic(), api_key)
    return api_key


class KeyRejected(Exception):
    """The presented key is unknown, revoked or expired; `reason` says which."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def api_key_check(plain: str) -> ApiKey:
    """The usable key for a presented plain key, or KeyRejected. Records the last use (at most once a minute)."""
    api_key = _verified_key(plain)
    if api_key is None:
        raise KeyRejected("invalid", "Invalid API key.")
    if api_key.revoked:
        raise KeyRejected("revoked", "This API key has been revoked.")
    if api_key.has_expired:
        raise KeyRejected("expired", f"This API key expired at {api_key.expiry_date:%Y-%m-%dT%H:%M:%SZ}.")
    at = timezone.now()
    if api_key.last_used_at is None or at - api_key.last_used_at >= LAST_USE_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=at)
        api_key.last_used_at = at
    return api_key
