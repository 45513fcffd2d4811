"""Row locks, always taken in this order: trading state -> account -> orders -> positions
(the account and position locks are the ledger's: portfolio/lock_objects.py)."""

import functools
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Expression, F, Q, QuerySet, Subquery, Sum
from django.db.models.expressions import RawSQL

from market.models import PriceSample, Symbol
from market.selectors import price_latest, prices_accepted, symbol_get
from portfolio.books import book_rows_locked
from portfolio.ledger import DEFAULT_ACCOUNT
from portfolio.lock_objects import account_from_row, account_lock, account_lock_statement, position_lock
from portfolio.models import Account, BookPosition, Position
from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import Conflict
from tradingrobot.pipeline import Statement, bound, rows_read

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


@functools.cache  # the statement is the same for every ticker
def _placement_sql() -> tuple[str, tuple]:
    """`placement_lock`'s query (PostgreSQL) and its parameters before the ticker's and the state's; the latest
    price is market/selectors.py's `prices_accepted` compiled by the ORM, joined per symbol row."""
    symbol, state = Symbol._meta.db_table, TradingState._meta.db_table
    latest_sql, latest_params = prices_accepted(symbol_id=RawSQL("s.id", ()))[:1].query.sql_with_params()
    sql = (
        f"SELECT {_columns(Symbol, 's')}, {_columns(TradingState, 'ts')}, {_columns(PriceSample, 'p')} "  # noqa: S608
        f"FROM {symbol} s CROSS JOIN {state} ts LEFT JOIN LATERAL ({latest_sql}) p ON true "
        "WHERE s.ticker = %s AND ts.id = %s FOR SHARE OF ts"
    )
    return sql, tuple(latest_params)


def placement_lock(*, ticker: str) -> tuple[Symbol, TradingState, PriceSample | None]:
    """What placing an order reads first, in one query on PostgreSQL: the symbol (NotFound when unknown), the
    trading state with `trading_state_lock`'s shared lock, and the symbol's latest accepted price
    (market/selectors.py's `price_latest`)."""
    if connection.vendor != "postgresql":
        symbol = symbol_get(ticker=ticker)
        return symbol, trading_state_lock(), price_latest(symbol_id=symbol.pk)
    sql, params = _placement_sql()
    [rows] = rows_read([(sql, (*params, (ticker or "").strip().upper(), STATE_ID))])
    row = rows[0] if rows else None
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
    book_rows: list[BookPosition] | None = None  # the position's book rows, locked (PostgreSQL only)


def _held_back(*, account_id: int | Expression, side: str, symbol_id: int | None = None) -> QuerySet:
    """One row (none when nothing is open): what the account's open orders of `side` hold back, as `total`:
    the cash of buys, or the shares of the symbol's sells. The one statement of the rule: `cash_reserved` and
    `qty_reserved` run it, `position_lock_for_order` sends its compiled SQL inside its own query."""
    open_orders = Order.objects.filter(Q(account_id=account_id), side=side, status__in=Order.OPEN_STATUSES)
    if side == Order.Side.BUY:
        total = Sum((F("qty") - F("filled_qty")) * F("reserve_price"))
    else:
        assert symbol_id is not None  # a sell holds back shares of one symbol
        open_orders = open_orders.filter(symbol_id=symbol_id)
        total = Sum(F("qty") - F("filled_qty"))
    return open_orders.order_by().values("account_id").annotate(total=total).values_list("total", flat=True)


@functools.lru_cache(maxsize=256)  # per (account, symbol, side): the values are part of the compiled statements
def _position_for_order_sql(account: int | str, symbol_id: int, side: str) -> tuple[Statement, Statement]:
    """`position_lock_for_order`'s two statements (PostgreSQL), the holds and the book rows compiled by the ORM
    from their one definition each. `account`: its id, or its name (the id then read in the query:
    `account_position_lock` runs the account's lock first, in the same round trip)."""
    position_table, order_table, fill_table = (m._meta.db_table for m in (Position, Order, Fill))
    account_id: Any = account
    if isinstance(account, str):
        account_id = Subquery(Account.objects.filter(name=account).values("pk")[:1])
    held_sql, held_params = _held_back(account_id=account_id, side=side, symbol_id=symbol_id).query.sql_with_params()
    books = book_rows_locked(account_id=account_id, symbol_id=symbol_id)
    position = Position.objects.filter(Q(account_id=account_id), symbol_id=symbol_id).order_by().values("pk")
    position_where, position_params = position.query.sql_with_params()
    sql = (
        f"SELECT {_columns(Position, 'p')}, COALESCE(({held_sql}), 0), "  # noqa: S608 - no user input
        f"nextval(pg_get_serial_sequence('{order_table}', 'id')), "
        f"nextval(pg_get_serial_sequence('{fill_table}', 'id')) "
        f"FROM {position_table} p WHERE p.id IN ({position_where}) FOR UPDATE OF p"
    )
    # The values are bound into the text once (they are this cache's key): a prepared statement's generic plan
    # cannot match the open orders' partial index (order_open_idx) against parameters, and scanned every order.
    books_sql, books_params = books.query.sql_with_params()
    return bound(sql, (*held_params, *position_params)), bound(books_sql, books_params)


def account_position_lock(*, symbol_id: int, side: str) -> tuple[Account, PositionForOrder]:
    """`account_lock` (portfolio/lock_objects.py), then `position_lock_for_order`: on PostgreSQL in one round trip,
    the account's statement first, then the position's and its book rows' (the lock order)."""
    if connection.vendor != "postgresql":
        account = account_lock()
        return account, position_lock_for_order(account=account, symbol_id=symbol_id, side=side)
    account_rows, rows, book_rows = rows_read(
        [account_lock_statement(), *_position_for_order_sql(DEFAULT_ACCOUNT, symbol_id, side)]
    )
    if not account_rows:  # no account yet: made, then locked
        account = account_lock()
        return account, position_lock_for_order(account=account, symbol_id=symbol_id, side=side)
    account = account_from_row(account_rows[0])
    if not rows:  # no position yet: made under the account lock
        return account, position_lock_for_order(account=account, symbol_id=symbol_id, side=side)
    return account, _position_for_order(rows[0], _book_rows(book_rows))


def _book_rows(rows: list[tuple]) -> list[BookPosition]:
    return [_instance(BookPosition, values) for values in rows]


def _position_for_order(row: tuple, book_rows: list[BookPosition]) -> PositionForOrder:
    width = len(Position._meta.concrete_fields)
    return PositionForOrder(_instance(Position, row[:width]), row[width], (row[width + 1], row[width + 2]), book_rows)


def position_lock_for_order(*, account: Account, symbol_id: int, side: str) -> PositionForOrder:
    """`position_lock` (portfolio/lock_objects.py; the caller holds the account lock), with what open orders of
    `side` hold back and the ids an immediate fill takes, in one query on PostgreSQL, and after it, in the same
    round trip, the position's book rows locked (portfolio/books.py's `book_rows_locked`: the ledger's lock
    order, position then book rows). Read under the account lock: no other transaction changes the position,
    its books or the open orders' holds meanwhile (they take the account first)."""
    if connection.vendor == "postgresql":
        rows, book_rows = rows_read(_position_for_order_sql(account.pk, symbol_id, side))
        if rows:
            return _position_for_order(rows[0], _book_rows(book_rows))
    position = position_lock(account=account, symbol_id=symbol_id)  # made now when new
    if side == Order.Side.BUY:
        reserved = cash_reserved(account=account)
    else:
        reserved = qty_reserved(account=account, symbol_id=symbol_id)
    return PositionForOrder(position, reserved, None)


def cash_reserved(*, account: Account) -> Decimal:
    """Cash held back by open buy orders."""
    return next(iter(_held_back(account_id=account.pk, side=Order.Side.BUY)), None) or Decimal("0")


def qty_reserved(*, account: Account, symbol_id: int) -> Decimal:
    """Shares of the symbol that open sell orders are already selling."""
    held = _held_back(account_id=account.pk, side=Order.Side.SELL, symbol_id=symbol_id)
    return next(iter(held), None) or Decimal("0")


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
