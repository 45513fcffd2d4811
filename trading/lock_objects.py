"""Row locks, always taken in this order: trading state -> account -> orders -> positions
(the account and position locks are the ledger's: portfolio/lock_objects.py)."""

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import F, Sum

from market.models import PriceSample, Symbol
from market.selectors import price_latest, symbol_get
from portfolio.lock_objects import position_lock
from portfolio.models import Account, Position
from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import Conflict

from .models import Fill, Order, TradingState

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


def _columns(model, alias: str) -> str:
    return ", ".join(f'{alias}."{f.column}"' for f in model._meta.concrete_fields)


def _placement_sql() -> str:
    symbol, state, sample = Symbol._meta.db_table, TradingState._meta.db_table, PriceSample._meta.db_table
    return (
        f"SELECT {_columns(Symbol, 's')}, {_columns(TradingState, 'ts')}, {_columns(PriceSample, 'p')} "  # noqa: S608
        f"FROM {symbol} s CROSS JOIN {state} ts LEFT JOIN LATERAL ("
        f"SELECT * FROM {sample} WHERE symbol_id = s.id AND NOT quarantined ORDER BY timestamp DESC LIMIT 1"
        ") p ON true WHERE s.ticker = %s AND ts.id = %s FOR SHARE OF ts"
    )


def placement_lock(*, ticker: str) -> tuple[Symbol, TradingState, PriceSample | None]:
    """What placing an order reads first, in one query on PostgreSQL: the symbol (NotFound when unknown), the
    trading state with `trading_state_lock`'s shared lock, and the symbol's latest accepted price
    (market/selectors.py's `price_latest`)."""
    if connection.vendor != "postgresql":
        symbol = symbol_get(ticker=ticker)
        return symbol, trading_state_lock(), price_latest(symbol_id=symbol.pk)
    with connection.cursor() as cursor:
        cursor.execute(_placement_sql(), [(ticker or "").strip().upper(), STATE_ID])
        row = cursor.fetchone()
    if row is None:  # an unknown symbol (symbol_get says so), or no state row yet (made, then read again)
        symbol_get(ticker=ticker)
        trading_state_lock()
        return placement_lock(ticker=ticker)
    symbol_end = len(Symbol._meta.concrete_fields)
    state_end = symbol_end + len(TradingState._meta.concrete_fields)
    latest = _instance(PriceSample, row[state_end:])
    return _instance(Symbol, row[:symbol_end]), _instance(TradingState, row[symbol_end:state_end]), latest


def _instance(model, values: tuple):
    """A model instance from its columns in a row, or None for the null side of an outer join."""
    if values[0] is None:
        return None
    return model.from_db(connection.alias, [f.attname for f in model._meta.concrete_fields], values)


@dataclass(frozen=True)
class PositionForOrder:
    position: Position
    reserved: Decimal  # what open orders of the side hold back: cash of buys, or shares of the symbol's sells
    ids: tuple[int, int] | None  # the next order and fill ids (tradingrobot/write_batch.py), PostgreSQL only


def _reserved_sql(side: str) -> str:
    table, statuses = Order._meta.db_table, ", ".join(f"'{s}'" for s in Order.OPEN_STATUSES)
    if side == Order.Side.BUY:
        return (
            f"SELECT COALESCE(SUM((qty - filled_qty) * reserve_price), 0) FROM {table} "  # noqa: S608 - no user input
            f"WHERE account_id = p.account_id AND side = 'buy' AND status IN ({statuses})"
        )
    return (
        f"SELECT COALESCE(SUM(qty - filled_qty), 0) FROM {table} "  # noqa: S608 - no user input
        f"WHERE account_id = p.account_id AND symbol_id = p.symbol_id AND side = 'sell' AND status IN ({statuses})"
    )


def position_lock_for_order(*, account: Account, symbol_id: int, side: str) -> PositionForOrder:
    """`position_lock` (portfolio/lock_objects.py; the caller holds the account lock), with what open orders of
    `side` hold back and the ids an immediate fill takes, in one query on PostgreSQL. Read under the account lock:
    no other transaction changes the position or the open orders' holds meanwhile (they take the account first)."""
    if connection.vendor == "postgresql":
        position_table, order_table, fill_table = (m._meta.db_table for m in (Position, Order, Fill))
        sql = (
            f"SELECT {_columns(Position, 'p')}, ({_reserved_sql(side)}), "  # noqa: S608 - no user input
            f"nextval(pg_get_serial_sequence('{order_table}', 'id')), "
            f"nextval(pg_get_serial_sequence('{fill_table}', 'id')) "
            f"FROM {position_table} p WHERE p.account_id = %s AND p.symbol_id = %s FOR UPDATE OF p"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [account.pk, symbol_id])
            row = cursor.fetchone()
        if row is not None:
            width = len(Position._meta.concrete_fields)
            return PositionForOrder(_instance(Position, row[:width]), row[width], (row[width + 1], row[width + 2]))
    position = position_lock(account=account, symbol_id=symbol_id)  # made now when new
    if side == Order.Side.BUY:
        reserved = cash_reserved(account=account)
    else:
        reserved = qty_reserved(account=account, symbol_id=symbol_id)
    return PositionForOrder(position, reserved, None)


def cash_reserved(*, account: Account) -> Decimal:
    """Cash held back by open buy orders."""
    open_buys = Order.objects.filter(account=account, side=Order.Side.BUY, status__in=Order.OPEN_STATUSES)
    total = open_buys.aggregate(total=Sum((F("qty") - F("filled_qty")) * F("reserve_price")))["total"]
    return total or Decimal("0")


def qty_reserved(*, account: Account, symbol_id: int) -> Decimal:
    """Shares of the symbol that open sell orders are already selling."""
    open_sells = Order.objects.filter(
        account=account, symbol_id=symbol_id, side=Order.Side.SELL, status__in=Order.OPEN_STATUSES
    )
    return open_sells.aggregate(total=Sum(F("qty") - F("filled_qty")))["total"] or Decimal("0")


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
