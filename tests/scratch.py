"""Shared by the suites that start real processes: a free loopback port, and a migrated database of the
processes' own (PostgreSQL when the suite runs on it, else SQLite), so the test's own transaction stays out
of their way."""

import socket
import sqlite3
from pathlib import Path

from django.db import connection


def free_port(ports: range, taken: set[int] = frozenset()) -> int:
    """The first port of `ports` (a suite's own range) that is not in `taken` and can be bound now."""
    for port in ports:
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


class ScratchDatabase:
    def __init__(self, tmp_path: Path, *, suffix: str = "celery"):
        self.vendor = connection.vendor
        if self.vendor == "postgresql":
            params = connection.settings_dict
            self.name = f"{params['NAME']}_{suffix}"[:63]
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)', f'CREATE DATABASE "{self.name}"')
            auth = params["USER"] + (f":{params['PASSWORD']}" if params.get("PASSWORD") else "")
            self.url = f"postgres://{auth}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{self.name}"
        else:
            self.path = tmp_path / f"{suffix}.sqlite3"
            self.url = f"sqlite:///{self.path}"

    @staticmethod
    def _connect(dbname: str, **options):
        import psycopg

        params = connection.settings_dict
        return psycopg.connect(
            host=params["HOST"] or "127.0.0.1",
            port=params["PORT"] or 5432,
            user=params["USER"],
            password=params.get("PASSWORD") or None,
            dbname=dbname,
            **options,
        )

    def _admin(self, *statements: str) -> None:
        with self._connect("postgres", autocommit=True) as admin:
            for statement in statements:
                admin.execute(statement)

    def count(self, table: str) -> int:
        sql = f"SELECT COUNT(*) FROM {table}"  # noqa: S608 - fixed table names from the test
        if self.vendor == "postgresql":
            with self._connect(self.name) as conn:
                return conn.execute(sql).fetchone()[0]
        with sqlite3.connect(self.path, timeout=10) as conn:
            return conn.execute(sql).fetchone()[0]

    def drop(self) -> None:
        if self.vendor == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
