"""Row locks of the ledger. Callers take them in the order trading/lock_objects.py documents:
trading state -> account -> orders -> positions."""

import functools

from django.db import connection

from .ledger import DEFAULT_ACCOUNT, account_get_or_create, position_create
from .models import Account, Position


@functools.lru_cache(maxsize=16)  # per (database kind, account name): the name is part of the compiled statement
def _account_lock_sql(vendor: str, name: str) -> tuple[str, tuple]:
    """The account lock's statement, compiled by the ORM once (its compilation cost more than the query). A caller
    may send it first in a round trip of its own locks (trading/lock_objects.py), reading the row with
    `account_from_row`."""
    query = Account.objects.select_for_update().filter(name=name).order_by("pk")[:1].query
    return query.sql_with_params()


def account_lock(*, name: str = DEFAULT_ACCOUNT) -> Account:
    """The account row, locked until the end of the caller's transaction."""
    account = _account_locked(name) if connection.vendor == "postgresql" else None
    if account is None:
        account = Account.objects.select_for_update().filter(name=name).first()
    if account is None:
        account_get_or_create(name=name)
        account = Account.objects.select_for_update().get(name=name)
    return account


def _account_locked(name: str) -> Account | None:
    """On PostgreSQL, whose driver returns every column as its field's Python value (no converters to apply)."""
    sql, params = account_lock_statement(name)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else account_from_row(row)


def account_lock_statement(name: str = DEFAULT_ACCOUNT) -> tuple[str, tuple]:
    """`account_lock`'s statement and parameters (PostgreSQL: read its row with `account_from_row`)."""
    return _account_lock_sql(connection.vendor, name)


def account_from_row(row: tuple) -> Account:
    return Account.from_db(connection.alias, [f.attname for f in Account._meta.concrete_fields], row)


def position_lock(*, account: Account, symbol_id: int) -> Position:
    """The position row, locked. Callers hold the account lock, so creating it cannot race."""
    position = Position.objects.select_for_update().filter(account=account, symbol_id=symbol_id).first()
    if position is None:
        position = position_create(account=account, symbol_id=symbol_id)
    return position
