"""Every bench creates the database it needs (issue 18: `make bench` on a fresh machine)."""

import os
import uuid

import psycopg
import pytest

from bench.databases import database_ensure

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
SERVER = "postgres://postgres@127.0.0.1:5432"


def _exists(name: str) -> bool:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


@pytest.fixture
def server():
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL")
        pytest.skip("needs PostgreSQL")
    name = f"tr_bench_probe_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_missing_database_is_created_once_and_kept_after(server):
    url = f"{SERVER}/{server}"
    assert not _exists(server)
    assert database_ensure(url) is True
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id int)")
    assert database_ensure(url) is False  # there already: left as it is, its seed reused
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)


def test_fresh_drops_and_makes_it_anew(server):
    url = f"{SERVER}/{server}"
    database_ensure(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE gone (id int)")
    assert database_ensure(url, fresh=True) is True
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('gone')").fetchone() == (None,)


def test_sqlite_is_left_to_itself(tmp_path):
    assert database_ensure(f"sqlite:///{tmp_path}/x.sqlite3") is False
    assert not (tmp_path / "x.sqlite3").exists()
