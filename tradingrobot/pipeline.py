"""Statements sent to PostgreSQL in one round trip (psycopg's pipeline mode), each a prepared statement of its
connection: parsed and planned once per connection, then only bound and run.

Parsing and planning were about a third of PostgreSQL's CPU per trade (issue 18, `perf` of the backend), so the
trade path's reads under lock and its write batch (tradingrobot/write_batch.py) run here. Django's cursors bind
on the client (no prepared statements); this module alone uses a server-binding cursor, on the same connection
and transaction. `DATABASE_PREPARED_STATEMENTS=false` (settings/database.py: for a pooler without prepared
statement support) keeps the one round trip and prepares nothing.

A run is one execute for Django: the execute wrappers and the query log see it once (the statements' SQL
joined), database errors come as Django's, and a broken transaction refuses it as any query.
"""

import functools
import time
from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import connection
from psycopg.pq import TransactionStatus

Statement = tuple[str, Sequence[Any] | None]  # None: no parameters (the text is sent as it is)
IDLE = TransactionStatus.IDLE  # no transaction open yet: psycopg begins one before the next statement


def bound(sql: str, params: Sequence[Any]) -> Statement:
    """The statement with its values written into its text (psycopg's literals), for values that never change: a
    prepared statement is then planned for them, as a statement with parameters may not be (a generic plan)."""
    connection.ensure_connection()
    return psycopg.ClientCursor(connection.connection).mogrify(sql, params), None


def rows_read(statements: Sequence[Statement]) -> list[list[tuple]]:
    """Each statement's rows, the statements run in order in one round trip in the current transaction."""
    return _run(statements, reading=True)


def statements_write(statements: Sequence[Statement], *, commit: bool = False) -> None:
    """Run the writes in order in one round trip in the current transaction; their rows are not read.
    `commit`: the transaction's COMMIT goes in the same round trip (the caller owns the transaction's end)."""
    _run(statements, reading=False, commit=commit)


def _run(statements: Sequence[Statement], *, reading: bool, commit: bool = False) -> list[list[tuple]]:
    """PostgreSQL only. An error stops the rest and is raised as Django's (the transaction then fails)."""
    text = ";\n".join([*(sql for sql, _ in statements), *(["COMMIT"] if commit else [])])
    with connection.cursor() as cursor:  # the connection made and checked as for any query
        context = {"connection": connection, "cursor": cursor}
        executor = functools.partial(_pipelined, statements, reading, commit)
        for wrapper in reversed(connection.execute_wrappers):  # as Django's CursorWrapper runs them
            executor = functools.partial(wrapper, executor)
        started = time.monotonic()
        try:
            return executor(text, None, False, context)
        finally:
            if connection.queries_logged:
                connection.queries_log.append({"sql": text, "time": f"{time.monotonic() - started:.3f}"})


def _pipelined(statements: Sequence[Statement], reading: bool, commit: bool, *_wrapped: object) -> list[list[tuple]]:
    connection.validate_no_broken_transaction()
    raw = connection.connection
    # Outside a pipeline psycopg sends the BEGIN of a transaction on its own, one round trip before the statement.
    # In a pipeline a cursor keeps only its last statement's rows: one cursor per read, one for all the writes.
    cursors = [psycopg.Cursor(raw) for _ in statements] if reading else [psycopg.Cursor(raw)] * len(statements)
    with connection.wrap_database_errors:
        if len(statements) == 1 and not commit and raw.info.transaction_status != IDLE:  # one round trip as it is
            cursors[0].execute(*statements[0], prepare=True)
        else:
            with raw.pipeline():
                for cursor, (sql, params) in zip(cursors, statements, strict=True):
                    cursor.execute(sql, params, prepare=True)  # prepares only when the connection allows it
                if commit:
                    raw.commit()
        return [cursor.fetchall() for cursor in cursors] if reading else []
