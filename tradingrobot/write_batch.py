"""Writes whose results nobody reads before the transaction ends, sent to the database in one round trip.

A hot path opens a batch (`with write_batch():`, inside its transaction); each module that owns a table adds its
own rows' INSERT or UPDATE with `row_insert` / `row_update` (which execute at once when no batch is open), and the
batch sends them, in order, in one round trip (tradingrobot/pipeline.py: each prepared once per connection) when the
block ends without an error. Rows given to `row_insert` carry their primary key already (`ids_next`), or nobody
needs it. Inside the block nothing may read a table that has a pending write (the statements are sent at the end);
a constraint a pending write breaks is raised by the block's end, inside the transaction, like any other write's.
"""

import contextlib
import contextvars
from collections.abc import Iterable, Iterator
from typing import cast

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field, Model, Q
from django.db.models.sql import InsertQuery, UpdateQuery

from .pipeline import Statement, statements_write

_batch: contextvars.ContextVar[list[Statement] | None] = contextvars.ContextVar("write_batch", default=None)
_sequences: dict[str, str] = {}  # table -> its id sequence (per process: a process talks to one database)


@contextlib.contextmanager
def write_batch(*, commit: bool = False) -> Iterator[None]:
    """Collect the writes of the block and send them at its end (nested blocks join the outer one).

    `commit`: the block ends where its transaction does (`with transaction.atomic(), write_batch(commit=True):`).
    When that atomic block is the outermost, the writes and the COMMIT go in one round trip on PostgreSQL (the
    rows locked in the transaction are released one round trip sooner), and Django's own commit then finds the
    transaction done. Nested in another transaction, the block only sends its writes."""
    if _batch.get() is not None:
        yield
        return
    statements: list[Statement] = []
    token = _batch.set(statements)
    try:
        yield
    finally:
        _batch.reset(token)
    _send(statements, commit=commit and _outermost())


def _outermost() -> bool:
    """Whether the current atomic block is the outermost one and will commit (Django's own bookkeeping)."""
    return (
        connection.in_atomic_block
        and not connection.savepoint_ids
        and connection.commit_on_exit
        and not connection.needs_rollback
    )


def batching() -> bool:
    """Whether a batch is open (a writer may then take ids ahead, `ids_next`, to add its INSERTs to it)."""
    return _batch.get() is not None


def ids_ahead() -> bool:
    """Whether a batch is open and ids can be taken ahead for its INSERTs (`ids_next`: PostgreSQL)."""
    return batching() and connection.vendor == "postgresql"


def _send(statements: list[Statement], *, commit: bool = False) -> None:
    if not statements:
        return
    if connection.vendor == "postgresql":
        statements_write(statements, commit=commit)  # one round trip, each statement prepared once per connection
        return
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)


def _add(statement: Statement) -> None:
    pending = _batch.get()
    if pending is None:
        _send([statement])
    else:
        pending.append(statement)


_templates: dict[tuple, str | None] = {}  # (kind, model, fields) -> the statement's SQL, or None: compile each time


def _template(key: tuple, plain: str, compiled: str) -> str | None:
    """The statement's SQL kept for its model and fields when Django compiles it to the plain form (a placeholder
    per value): later rows then only convert their values, as the compiler does."""
    if key not in _templates:
        _templates[key] = plain if compiled == plain else None
    return _templates[key]


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def row_insert(obj: Model) -> None:
    """INSERT `obj` (auto_now and defaults applied as `save()` does); its primary key is sent when it has one."""
    meta = obj._meta
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself: each of the proxy's attributes is a lookup
    fields = [f for f in meta.local_concrete_fields if not (f.primary_key and obj.pk is None)]
    key = ("insert", type(obj), tuple(f.attname for f in fields), db.vendor)
    sql = _templates.get(key)
    if sql is not None:
        params = [f.get_db_prep_save(f.pre_save(obj, True), connection=db) for f in fields]
    else:
        query = InsertQuery(type(obj))
        query.insert_values(fields, [obj], raw=False)
        [(compiled, compiled_params)] = query.get_compiler(connection=connection).as_sql()
        columns = ", ".join(_quoted(f.column) for f in fields)
        holes = ", ".join(["%s"] * len(fields))
        plain = f"INSERT INTO {_quoted(meta.db_table)} ({columns}) VALUES ({holes})"  # noqa: S608 - model names
        _template(key, plain, compiled)
        sql, params = compiled, list(compiled_params)
    _add((sql, tuple(params)))
    obj._state.adding = False
    obj._state.db = connection.alias


def row_update(obj: Model, fields: Iterable[str]) -> None:
    """UPDATE `obj`'s `fields` by primary key (auto_now fields among them stamped, as `save(update_fields)` does)."""
    meta = obj._meta
    concrete = [cast(Field, meta.get_field(name)) for name in fields]  # concrete fields: no relation, no generic key
    values = [field.pre_save(obj, False) for field in concrete]
    db = connections[DEFAULT_DB_ALIAS]
    key = ("update", type(obj), tuple(f.attname for f in concrete), db.vendor)
    sql = _templates.get(key)
    if sql is not None:
        params = [f.get_db_prep_save(v, connection=db) for f, v in zip(concrete, values, strict=True)]
        params.append(meta.pk.get_db_prep_value(obj.pk, db))
    else:
        query = UpdateQuery(type(obj))
        query.add_update_fields(list(zip(concrete, [None] * len(concrete), values, strict=True)))
        query.add_q(Q(pk=obj.pk))
        compiled, compiled_params = query.get_compiler(connection=connection).as_sql()
        table = _quoted(meta.db_table)
        assigned = ", ".join(f"{_quoted(f.column)} = %s" for f in concrete)
        pk_column = _quoted(meta.pk.column)
        plain = f"UPDATE {table} SET {assigned} WHERE {table}.{pk_column} = %s"  # noqa: S608 - model names
        _template(key, plain, compiled)
        sql, params = compiled, list(compiled_params)
    _add((sql, tuple(params)))


def ids_next(*models: type[Model]) -> list[int]:
    """The next id of each model's table, in one query (PostgreSQL only: see `ids_ahead`)."""
    tables = [m._meta.db_table for m in models]
    missing = [t for t in tables if t not in _sequences]
    with connection.cursor() as cursor:
        if missing:
            cursor.execute("SELECT " + ", ".join("pg_get_serial_sequence(%s, 'id')" for _ in missing), missing)
            _sequences.update(zip(missing, cursor.fetchone(), strict=True))
        cursor.execute("SELECT " + ", ".join("nextval(%s)" for _ in tables), [_sequences[t] for t in tables])
        return list(cursor.fetchone())
