"""Checking a presented API key. Kept free of DRF imports: DRF loads the authentication classes that use it."""

import datetime as dt

from django.utils import timezone

from .models import ApiKey

LAST_USE_RESOLUTION = dt.timedelta(seconds=60)


class KeyRejected(Exception):
    """The presented key is unknown, revoked or expired; `reason` says which."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def api_key_check(plain: str) -> ApiKey:
    """The usable key for a presented plain key, or KeyRejected. Records the last use (at most once a minute)."""
    prefix, dot, _ = plain.partition(".")
    well_formed = dot and len(prefix) == 8 and prefix.isascii() and prefix.isalnum()
    api_key = ApiKey.objects.filter(prefix=prefix).first() if well_formed else None
    if api_key is None or not api_key.is_valid(plain):
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
