"""List the test databases on the development servers, to prove nothing was left behind."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path


def server_databases(backend: str, fragment: str) -> list[str]:
    """Names of the databases on ``backend``'s server that contain ``fragment``."""
    if backend == "postgresql":
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres") as conn:
            rows = conn.execute("SELECT datname FROM pg_database").fetchall()
    elif backend == "mysql":
        import MySQLdb

        conn = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="")
        try:
            cursor = conn.cursor()
            cursor.execute("SHOW DATABASES")
            rows = list(cursor.fetchall())
        finally:
            conn.close()
    else:
        raise ValueError(f"not a server backend: {backend!r}")
    return sorted(str(row[0]) for row in rows if fragment in str(row[0]))


def leftover_databases(project: Path, backend: str, suffix: str) -> list[str]:
    """Test databases with ``suffix`` on the server, or database files in a SQLite project."""
    if backend == "sqlite":
        return sorted(path.name for path in project.glob("*.sqlite3"))
    return server_databases(backend, suffix)


def create_database(backend: str, name: str) -> None:
    _execute(backend, [f"CREATE DATABASE {name}"])


def drop_databases(backend: str, names: Iterable[str]) -> None:
    for name in names:
        with contextlib.suppress(Exception):
            _execute(backend, [f"DROP DATABASE IF EXISTS {name}"])


def _execute(backend: str, statements: list[str]) -> None:
    if backend == "postgresql":
        import psycopg

        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True
        ) as conn:
            for statement in statements:
                conn.execute(statement)
        return
    import MySQLdb

    conn = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="")
    try:
        for statement in statements:
            conn.cursor().execute(statement)
    finally:
        conn.close()
