"""The last reconciliation's differences between the ledger and the broker's account, in the shared cache (read by
the ops `broker_mismatch` condition; light: no broker SDK is imported here)."""

from django.conf import settings
from django.core.cache import cache


def _key() -> str:
    return f"{settings.WP_CACHE_PREFIX}:broker:mismatch"


def broker_mismatch_record(problems: list[str]) -> None:
    cache.set(_key(), problems, timeout=int(settings.ALPACA_RECONCILE_SECONDS * 3))


def broker_mismatch_get() -> list[str]:
    """The differences the last reconciliation found (none when it agreed, or when none ran lately)."""
    return cache.get(_key()) or []
