"""The database a bench needs, made on a fresh machine: every bench calls `database_ensure` before migrating."""

from urllib.parse import urlsplit


def database_ensure(url: str, *, fresh: bool = False) -> bool:
    """Create the PostgreSQL database of `url` when it is missing (dropped and made anew when `fresh`).
    True when it was created. Other engines (SQLite makes its file itself) are left alone."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return False
    import psycopg
    from psycopg import sql

    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        if fresh:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        elif admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True
