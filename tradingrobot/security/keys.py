"""Checking a presented API key. Kept free of DRF imports: DRF loads the authentication classes that use it.

A verified key is remembered by this process (by a hash of the plain key) so that a request costs no
database query: the memo is dropped when any key changes (a version in the shared cache, bumped after the
change commits: with Redis every process sees it at once) and in any case after VERIFIED_MAX_AGE.
Without a shared cache (no REDIS_URL) a revocation made in another process (a management command, another web
worker) would go unseen for up to VERIFIED_MAX_AGE, so there the memo is skipped (API_KEY_MEMO=auto, the
default): every request checks the key in the database.
"""

import datetime as dt
import hashlib

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tradingrobot.snapshot_cache import VersionedMemo

from .models import ApiKey

LAST_USE_RESOLUTION = dt.timedelta(seconds=60)
VERIFIED_MAX_AGE = 30.0
LOCAL_CACHES = ("django.core.cache.backends.locmem.LocMemCache", "django.core.cache.backends.dummy.DummyCache")


def cache_is_shared() -> bool:
    return settings.CACHES["default"]["BACKEND"] not in LOCAL_CACHES


def memo_max_age() -> float:
    """API_KEY_MEMO: auto (only with a cache every process shares), on, or off."""
    mode = settings.API_KEY_MEMO
    if mode == "off" or (mode == "auto" and not cache_is_shared()):
        return 0.0
    return VERIFIED_MAX_AGE


_verified = VersionedMemo("apikeys:version", max_age=memo_max_age, max_entries=1024)


def keys_changed(**kwargs) -> None:
    """Signal receiver: any saved or deleted key invalidates every process's memo, at once and again when
    the change commits (so a process that re-read the key in between does not keep the old state)."""
    _verified.bump()
    transaction.on_commit(_verified.bump)


def _key_lookup(plain: str) -> ApiKey | None:
    prefix, dot, _ = plain.partition(".")
    well_formed = dot and len(prefix) == 8 and prefix.isascii() and prefix.isalnum()
    api_key = ApiKey.objects.filter(prefix=prefix).first() if well_formed else None
    return api_key if api_key is not None and api_key.is_valid(plain) else None


def _verified_key(plain: str) -> ApiKey | None:
    return _verified.get(hashlib.sha256(plain.encode()).hexdigest(), lambda: _key_lookup(plain))


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
