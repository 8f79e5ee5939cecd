"""Kept databases and how to start over: ``--create-db`` rebuilds what ``--reuse-db`` or
``--keepdb`` would keep, and a run that destroys a test database also destroys the
worker clones earlier runs left of it (never another run's database named like one)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from tests.support.projects import (
    POOL_PROJECT,
    RUN_TIMEOUT,
    Run,
    copy_project,
    run_tests,
    start_tests,
    wait_for_file,
)
from tests.support.servers import leftover_databases

LABELS = ("work.tests.test_plain", "work.tests.test_outcomes")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(POOL_PROJECT, tmp_path / "pool")


def _env(suffix: str, **extra: str) -> dict[str, str]:
    return {"EXAMPLE_DB_SUFFIX": suffix, "POOL_SQLITE_FILES": "1", **extra}


def _run(project: Path, backend: str, suffix: str, *args: str) -> Run:
    run = run_tests(project, *args, *LABELS, backend=backend, env=_env(suffix))
    assert run.returncode == 0, run.describe()
    return run


def _test_database(project: Path, backend: str, suffix: str) -> str:
    return (
        str(project / "test_pool.sqlite3") if backend == "sqlite" else f"test_pool_default{suffix}"
    )


def _execute(backend: str, database: str, statement: str) -> None:
    """Run one statement in a test database, as someone poking at a kept one would."""
    if backend == "sqlite":
        with sqlite3.connect(database) as conn:
            conn.execute(statement)
        return
    if backend == "postgresql":
        import psycopg

        dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={database}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(statement)
        return
    import MySQLdb

    conn = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="", db=database)
    try:
        conn.cursor().execute(statement)
        conn.commit()
    finally:
        conn.close()


def _has_marker(backend: str, database: str) -> bool:
    try:
        _execute(backend, database, "SELECT * FROM leftover_marker")
    except Exception:
        return False
    return True


def test_a_run_that_destroys_a_test_database_destroys_the_clones_earlier_runs_left(
    project: Path, backend: str, db_suffix: str
) -> None:
    _run(project, backend, db_suffix, "--keepdb", "--parallel", "3")
    kept = leftover_databases(project, backend, db_suffix)
    assert len(kept) == 4, kept  # the database and three clones
    # A serial run without --keepdb: the database goes, and so do the clones it never used.
    run = _run(project, backend, db_suffix)
    output = run.stdout + run.stderr
    assert re.search(
        r"Destroyed 3 worker clones of alias 'default' that an earlier run left: "
        r"\S+_1\S*, \S+_2\S*, \S+_3\S*\.",
        output,
    ), run.describe()
    assert leftover_databases(project, backend, db_suffix) == [], run.describe()
    # Fewer workers than last time: the clones beyond this run's go too.
    _run(project, backend, db_suffix, "--keepdb", "--parallel", "3")
    run = _run(project, backend, db_suffix, "--parallel", "2")
    assert re.search(r"Destroyed 1 worker clone of alias 'default' .*_3\S*\.", run.stderr)
    assert leftover_databases(project, backend, db_suffix) == [], run.describe()


def test_another_runs_database_named_like_a_clone_is_left_alone(
    project: Path, backend: str, db_suffix: str, tmp_path: Path
) -> None:
    # Run B's --db-suffix 7 names its test database as run A's clone 7 would be named.
    wait = tmp_path / "release"
    env = _env(db_suffix, POOL_WAIT_FILE=str(wait), POOL_WAIT_DB="1")
    other = start_tests(
        project, backend, env, "--db-suffix", "7", "work.tests.test_trouble.WaitTests"
    )
    try:
        wait_for_file(Path(f"{wait}.started"), other)
        theirs = leftover_databases(project, backend, db_suffix)
        assert len(theirs) == 1, theirs
        run = _run(project, backend, db_suffix)
        assert "that an earlier run left" not in run.stdout + run.stderr, run.describe()
        assert leftover_databases(project, backend, db_suffix) == theirs, run.describe()
    finally:
        wait.touch()
        _, err = other.communicate(timeout=RUN_TIMEOUT)
    assert other.returncode == 0, err
    assert leftover_databases(project, backend, db_suffix) == []


@pytest.mark.parametrize("keep", ["--reuse-db", "--keepdb"])
def test_create_db_rebuilds_what_a_keep_option_would_keep(
    project: Path, backend: str, db_suffix: str, keep: str
) -> None:
    database = _test_database(project, backend, db_suffix)
    _run(project, backend, db_suffix, keep, "--parallel", "2")
    _execute(backend, database, "CREATE TABLE leftover_marker (id INTEGER)")
    # Kept as it is by the keep option alone...
    run = _run(project, backend, db_suffix, keep, "--parallel", "2")
    assert "Using existing test database for alias 'default'" in run.stderr, run.describe()
    assert _has_marker(backend, database)
    # ...and built afresh, clones too, with --create-db; then kept again.
    run = _run(project, backend, db_suffix, keep, "--create-db", "--parallel", "2")
    assert "Using existing" not in run.stderr, run.describe()
    assert run.stderr.count("Cloning test database for alias 'default'") == 2, run.describe()
    assert not _has_marker(backend, database)
    assert len(leftover_databases(project, backend, db_suffix)) == 3
    # A run without a keep option removes everything.
    _run(project, backend, db_suffix)
    assert leftover_databases(project, backend, db_suffix) == []


def test_create_db_alone_is_a_normal_run(project: Path) -> None:
    run = run_tests(project, "--create-db", "-v", "2", *LABELS, env=_env(""))
    assert run.returncode == 0, run.describe()
    assert leftover_databases(project, "sqlite", "") == []


def _readme_queries() -> dict[str, str]:
    """The README's queries that list what is left on a server, by backend."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("```sql\n", 1)[1].split("```", 1)[0]
    queries: dict[str, str] = {}
    backend = ""
    for line in block.splitlines():
        if line.startswith("-- PostgreSQL"):
            backend = "postgresql"
        elif line.startswith("-- MariaDB"):
            backend = "mysql"
        elif line.strip():
            queries[backend] = line.strip().rstrip(";")
    return queries


def test_the_readme_queries_list_what_a_kept_run_left(
    project: Path, backend: str, db_suffix: str
) -> None:
    if backend == "sqlite":
        pytest.skip("the README's queries are for servers")
    _run(project, backend, db_suffix, "--keepdb", "--parallel", "2")
    query = _readme_queries()[backend]
    if backend == "postgresql":
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres") as conn:
            names = [str(row[0]) for row in conn.execute(query).fetchall()]
    else:
        import MySQLdb

        conn = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="")
        try:
            cursor = conn.cursor()
            cursor.execute(query)
            names = [str(row[0]) for row in cursor.fetchall()]
        finally:
            conn.close()
    kept = leftover_databases(project, backend, db_suffix)
    assert len(kept) == 3, kept
    assert set(kept) <= set(names)
    assert all(name.startswith("test_") for name in names)
    _run(project, backend, db_suffix)
    assert leftover_databases(project, backend, db_suffix) == []
