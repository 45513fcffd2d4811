"""Row locks, always taken in this order: trading state -> account -> orders -> positions
(the account and position locks are the ledger's: portfolio/lock_objects.py)."""

import hashlib

from django.db import connection

from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import Conflict

from .models import Order, TradingState

STATE_ID = TradingState.SINGLETON_ID


def trading_state_lock(*, exclusive: bool = False) -> TradingState:
    """Placing orders takes a shared lock, so a halt (exclusive) waits for placements in flight,
    and placements after it see the halt. (Django's ORM has no FOR SHARE, hence the raw query.)"""
    if connection.vendor == "postgresql":
        mode = "UPDATE" if exclusive else "SHARE"
        table = TradingState._meta.db_table
        sql = f"SELECT * FROM {table} WHERE id = %s FOR {mode}"  # noqa: S608 - no user input
        found = list(TradingState.objects.raw(sql, [STATE_ID]))
    else:
        found = list(TradingState.objects.filter(pk=STATE_ID))
    if found:
        return found[0]
    TradingState.objects.get_or_create(pk=STATE_ID)
    return trading_state_lock(exclusive=exclusive)


def idempotency_key_lock(key: str) -> None:
    """Claim `key` for this transaction; a concurrent request with the same key gets 409 at once.
    PostgreSQL only: SQLite serialises writing transactions anyway."""
    if connection.vendor != "postgresql":
        return
    lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_id])
        (acquired,) = cursor.fetchone()
    if not acquired:
        raise Conflict(
            f"A request with idempotency key {key!r} is still being processed; retry in a moment.",
            code=ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS,
        )


def open_orders_lock(**filters) -> list[Order]:
    return list(
        Order.objects.select_for_update().filter(status__in=Order.OPEN_STATUSES, **filters).order_by("created_at", "id")
    )
