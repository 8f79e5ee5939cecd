"""``--reuse-db``: kept test databases and clones are reused while the schema fingerprint
matches and rebuilt, with one line, whenever a migration is edited, added or removed,
including by switching git branch; whenever a project module a migration imports, or a
setting that shapes the schema, changes; and whenever the last run using them did not
finish (its rows may still be there) or a clone's copy never finished."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.projects import (
    RUN_TIMEOUT,
    Run,
    copy_project,
    interrupt_run,
    run_manage,
    run_tests,
    start_tests,
    wait_for_file,
)
from tests.support.servers import leftover_databases, server_databases

LABELS = (
    "shop.tests.test_mirror.MirrorInTransactionTestCaseTests",
    "shop.tests.test_mirror.OtherAliasTests",
)
PRICE_MIGRATION = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AddField("item", "price", models.IntegerField(default=0))]
"""
PRICE_TEST = """\
from django.test import TransactionTestCase

from shop.models import Item


class PriceTests(TransactionTestCase):
    databases = {"default", "other"}

    def test_price_column_exists_on_both_aliases(self):
        for alias in ("default", "other"):
            Item.objects.using(alias).create(name="priced", price=5)
            self.assertEqual(Item.objects.using(alias).get().price, 5)
"""


def _reuse(project: Path, backend: str, suffix: str, *labels: str) -> Run:
    env = {"EXAMPLE_DB_SUFFIX": suffix, "DBSETUP_SQLITE_FILES": "1"}
    run = run_tests(
        project, "-v", "2", "--reuse-db", "--parallel", "2", *labels, backend=backend, env=env
    )
    assert run.returncode == 0, run.describe()
    return run


def _lines(run: Run, start: str) -> list[str]:
    return sorted(line for line in run.stderr.splitlines() if line.startswith(start))


def _reused(run: Run) -> None:
    assert [line.split("'")[1] for line in _lines(run, "Using existing test database")] == [
        "default",
        "other",
    ], run.describe()
    assert "Operations to perform" not in run.stdout + run.stderr  # migrate never ran
    assert len(_lines(run, "Using existing clone")) == 4, run.describe()
    assert not _lines(run, "Rebuilding")


def _rebuilt(run: Run) -> None:
    rebuilding = _lines(run, "Rebuilding test database for alias")
    assert [line.split("'")[1] for line in rebuilding] == ["default", "other"], run.describe()
    assert rebuilding[0].endswith(
        "its schema fingerprint does not match (migrations, models or settings changed)."
    )
    assert len(_lines(run, "Cloning test database")) == 4, run.describe()
    assert not _lines(run, "Using existing")


def _git(project: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=project,
        check=True,
        capture_output=True,
    )


def test_reuse_db_reuses_until_the_schema_changes(
    dbsetup_project: Path, backend: str, db_suffix: str
) -> None:
    project, suffix = dbsetup_project, db_suffix
    first = _reuse(project, backend, suffix, *LABELS)
    assert [line.split("'")[1] for line in _lines(first, "Creating test database")] == [
        "default",
        "other",
    ]
    _reused(_reuse(project, backend, suffix, *LABELS))

    migration = project / "shop" / "migrations" / "0001_initial.py"
    migration.write_text(migration.read_text() + "\n# an edit that changes no schema\n")
    _rebuilt(_reuse(project, backend, suffix, *LABELS))
    _reused(_reuse(project, backend, suffix, *LABELS))

    # A branch that adds a migration; the workers' clones must have the new column.
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "main")
    _git(project, "checkout", "-q", "-b", "feature")
    (project / "shop" / "migrations" / "0002_item_price.py").write_text(PRICE_MIGRATION)
    models = project / "shop" / "models.py"
    models.write_text(models.read_text() + "    price = models.IntegerField(default=0)\n")
    (project / "shop" / "tests" / "test_price.py").write_text(PRICE_TEST)
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "feature")
    price_labels = (*LABELS, "shop.tests.test_price")
    on_feature = _reuse(project, backend, suffix, *price_labels)
    _rebuilt(on_feature)
    assert on_feature.outcomes.ran == 3

    _git(project, "checkout", "-q", "main")  # the migration is gone again
    assert not (project / "shop" / "migrations" / "0002_item_price.py").exists()
    _rebuilt(_reuse(project, backend, suffix, *LABELS))
    _reused(_reuse(project, backend, suffix, *LABELS))

    if backend == "sqlite":
        expected = [
            f"test_{alias}{clone}.sqlite3"
            for alias in ("default", "other")
            for clone in ("", "_1", "_2")
        ]
    else:
        expected = [
            f"test_dbsetup_{alias}{suffix}{clone}"
            for alias in ("default", "other")
            for clone in ("", "_1", "_2")
        ]
    assert leftover_databases(project, backend, suffix) == sorted(expected)


# --- The reusedb fixture: a kept database must be clean and its fingerprint complete. ---

REUSEDB_PROJECT = Path(__file__).resolve().parent / "fixtures" / "reusedb"
INNOCENT = ("catalog.tests.test_rows.InnocentATests", "catalog.tests.test_rows.InnocentBTests")
KILLED = "catalog.tests.test_rows.CommittedThenKilledTests"
SEED = "catalog.tests.test_seed"
NOTES = "legacy.tests.test_notes"


@pytest.fixture
def reusedb_project(tmp_path: Path) -> Path:
    return copy_project(REUSEDB_PROJECT, tmp_path / "reusedb")


def _run(project: Path, backend: str, suffix: str, *args: str, **env: str) -> Run:
    return run_tests(
        project,
        "-v",
        "2",
        "--reuse-db",
        *args,
        backend=backend,
        env={"EXAMPLE_DB_SUFFIX": suffix, **env},
    )


def _database_names(project: Path, backend: str, suffix: str) -> list[str]:
    """The fixture's test database and its two clones, as the backend names them."""
    if backend == "sqlite":
        return [str(project / f"test_default{clone}.sqlite3") for clone in ("", "_1", "_2")]
    return [f"test_reusedb{suffix}{clone}" for clone in ("", "_1", "_2")]


@contextlib.contextmanager
def _connect(backend: str, name: str) -> Iterator[Any]:
    """A DB-API connection to test database ``name``, autocommitting."""
    if backend == "sqlite":
        conn: Any = sqlite3.connect(name, isolation_level=None)
    elif backend == "postgresql":
        import psycopg

        conn = psycopg.connect(
            host="127.0.0.1", port=5432, user="postgres", dbname=name, autocommit=True
        )
    else:
        import MySQLdb

        conn = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="", db=name)
        conn.autocommit(True)
    try:
        yield conn
    finally:
        conn.close()


def _query(backend: str, name: str, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    if backend != "sqlite":
        sql = sql.replace("?", "%s")
    with _connect(backend, name) as conn:
        cursor = conn.cursor()
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []


def _leftover_rows(project: Path, backend: str, suffix: str) -> dict[str, int]:
    """How many rows the killed test committed, in each test database that exists."""
    counts = {}
    existing = None if backend == "sqlite" else server_databases(backend, suffix)
    for name in _database_names(project, backend, suffix):
        if not (Path(name).exists() if existing is None else name in existing):
            continue
        rows = _query(
            backend, name, "SELECT COUNT(*) FROM catalog_product WHERE name = 'test-leftover'"
        )
        counts[Path(name).name] = int(rows[0][0])
    return counts


def _kill_mid_test(project: Path, backend: str, suffix: str, *args: str) -> None:
    """Start a run with ``args``; SIGKILL its whole process group once a test has committed."""
    started = project / "killed-test-started"
    env = {"EXAMPLE_DB_SUFFIX": suffix, "REUSEDB_WAIT_FILE": str(started)}
    process = start_tests(project, backend, env, "-v", "2", *args)
    try:
        wait_for_file(started, process)
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=RUN_TIMEOUT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    started.unlink()


@pytest.mark.parametrize("killed_run", ["--reuse-db", "--keepdb"])
def test_reuse_db_rebuilds_after_a_run_killed_with_committed_rows(
    reusedb_project: Path, backend: str, db_suffix: str, killed_run: str
) -> None:
    """Also when the killed run only used --keepdb (Django's own reuse, no fingerprint)."""
    project, suffix = reusedb_project, db_suffix
    first = _run(project, backend, suffix, *INNOCENT)
    assert first.returncode == 0, first.describe()

    _kill_mid_test(project, backend, suffix, killed_run, KILLED)
    primary = Path(_database_names(project, backend, suffix)[0]).name
    assert _leftover_rows(project, backend, suffix)[primary] == 1  # the stale state

    for attempt in range(2):  # the rebuilt database stays right in later runs too
        after = _run(project, backend, suffix, *INNOCENT)
        assert after.returncode == 0, after.describe()
        rebuilding = _lines(after, "Rebuilding test database for alias 'default'")
        if attempt == 0:
            assert len(rebuilding) == 1, after.describe()
            assert rebuilding[0].endswith(
                "the last run using it did not finish (killed or interrupted), so it may hold "
                "rows its tests left."
            ), after.describe()
        else:
            assert not rebuilding, after.describe()
            assert _lines(after, "Using existing test database for alias 'default'")
    assert set(_leftover_rows(project, backend, suffix).values()) == {0}


@pytest.mark.parametrize("parallel", ["1", "2"])
def test_reuse_db_rebuilds_after_a_run_stopped_by_sigterm_mid_test(
    reusedb_project: Path, backend: str, db_suffix: str, parallel: str
) -> None:
    """SIGTERM (a cancelled CI job): teardown runs, but the test never flushed its rows."""
    project, suffix = reusedb_project, db_suffix
    first = _run(project, backend, suffix, "--parallel", parallel, *INNOCENT)
    assert first.returncode == 0, first.describe()
    started = project / "stopped-test-started"
    env = {"EXAMPLE_DB_SUFFIX": suffix, "REUSEDB_WAIT_FILE": str(started)}
    labels = (KILLED, INNOCENT[0])
    process = start_tests(project, backend, env, "--reuse-db", "--parallel", parallel, *labels)
    interrupt_run(process, started, "sigterm")
    assert process.returncode == 143

    after = _run(project, backend, suffix, "--parallel", parallel, *INNOCENT)
    assert after.returncode == 0, after.describe()
    rebuilding = _lines(after, "Rebuilding test database for alias 'default'")
    assert len(rebuilding) == 1, after.describe()
    assert "the last run using it did not finish" in rebuilding[0]
    assert set(_leftover_rows(project, backend, suffix).values()) == {0}


def test_reuse_db_copies_clones_again_after_a_killed_parallel_run(
    reusedb_project: Path, backend: str, db_suffix: str
) -> None:
    project, suffix = reusedb_project, db_suffix
    first = _run(project, backend, suffix, "--parallel", "2", *INNOCENT)
    assert first.returncode == 0, first.describe()

    # A worker commits a row in its clone; the whole process group is killed.
    _kill_mid_test(project, backend, suffix, "--reuse-db", "--parallel", "2", KILLED, INNOCENT[0])
    counts = _leftover_rows(project, backend, suffix)
    primary = Path(_database_names(project, backend, suffix)[0]).name
    assert sum(counts.values()) == 1, counts
    assert counts[primary] == 0, counts  # the row is in a clone

    for attempt in range(2):
        after = _run(project, backend, suffix, "--parallel", "2", *INNOCENT)
        assert after.returncode == 0, after.describe()
        if attempt == 0:
            assert _lines(after, "Rebuilding test database for alias 'default'"), after.describe()
            assert len(_lines(after, "Cloning test database")) == 2, after.describe()
        else:
            assert len(_lines(after, "Using existing clone")) == 2, after.describe()
    assert set(_leftover_rows(project, backend, suffix).values()) == {0}


def test_reuse_db_copies_clones_again_after_a_worker_died_mid_test(
    reusedb_project: Path, backend: str, db_suffix: str
) -> None:
    """The run goes on without the worker (and tears down); its clone keeps the row."""
    project, suffix = reusedb_project, db_suffix
    first = _run(project, backend, suffix, "--parallel", "2", *INNOCENT)
    assert first.returncode == 0, first.describe()
    crashed = _run(
        project,
        backend,
        suffix,
        "--parallel",
        "2",
        "catalog.tests.test_rows.CommittedThenCrashedTests",
        NOTES,  # a TestCase: it never flushes the crashed test's row away
        REUSEDB_CRASH="1",
    )
    assert crashed.returncode == 1, crashed.describe()
    # 1, unless the dead worker's slot was taken over (its clone then copied afresh).
    assert sum(_leftover_rows(project, backend, suffix).values()) <= 1

    after = _run(project, backend, suffix, "--parallel", "2", *INNOCENT)
    assert after.returncode == 0, after.describe()
    assert _lines(after, "Rebuilding test database for alias 'default'"), after.describe()
    assert set(_leftover_rows(project, backend, suffix).values()) == {0}


def _copy_state(backend: str, source: str, target: str) -> None:
    """Give ``target`` the state rows of ``source``, as a copy of ``source`` would carry."""
    rows = _query(backend, source, "SELECT * FROM django_testkit_state")
    _query(backend, target, "DELETE FROM django_testkit_state")
    for row in rows:
        marks = ", ".join("?" for _ in row)
        _query(backend, target, f"INSERT INTO django_testkit_state VALUES ({marks})", tuple(row))


def test_reuse_db_never_trusts_a_clone_whose_copy_did_not_finish(
    reusedb_project: Path, backend: str, db_suffix: str
) -> None:
    """A clone copied table by table (MariaDB) and stopped midway: the primary's state
    row is there, a table is not."""
    project, suffix = reusedb_project, db_suffix
    first = _run(project, backend, suffix, "--parallel", "2", *INNOCENT)
    assert first.returncode == 0, first.describe()
    primary, clone, _ = _database_names(project, backend, suffix)
    _query(backend, clone, "DROP TABLE catalog_product")
    _copy_state(backend, primary, clone)

    after = _run(project, backend, suffix, "--parallel", "2", *INNOCENT)
    assert after.returncode == 0, after.describe()
    copied = _lines(after, "Copying clone 1 of 'default' afresh")
    assert len(copied) == 1, after.describe()
    assert f"it holds the state of '{Path(primary).name}'" in copied[0]
    assert len(_lines(after, "Using existing clone")) == 1, after.describe()
    # The table is back, without test rows. (It may hold the primary's seeded rows: when
    # one worker took both classes, nothing flushed this clone after its fresh copy.)
    left = "SELECT COUNT(*) FROM catalog_product WHERE SUBSTR(name, 1, 5) = 'test-'"
    assert _query(backend, clone, left)[0][0] == 0


def _schema_rebuilt(run: Run) -> None:
    rebuilding = _lines(run, "Rebuilding test database for alias 'default'")
    assert len(rebuilding) == 1, run.describe()
    assert rebuilding[0].endswith(
        "its schema fingerprint does not match (migrations, models or settings changed)."
    ), run.describe()


def test_reuse_db_notices_an_edited_module_a_data_migration_imports(
    reusedb_project: Path, backend: str, db_suffix: str
) -> None:
    """0002_seed imports catalog.seeding, which imports catalog.seed_values: editing
    that second-hand helper changes what migrating writes."""
    project, suffix = reusedb_project, db_suffix
    first = _run(project, backend, suffix, SEED)
    assert first.returncode == 0, first.describe()
    again = _run(project, backend, suffix, SEED)
    assert again.returncode == 0, again.describe()
    assert _lines(again, "Using existing test database for alias 'default'"), again.describe()

    (project / "catalog" / "seed_values.py").write_text('NAMES = ["alpha", "beta"]\n')
    edited = _run(project, backend, suffix, SEED)
    assert edited.returncode == 0, edited.describe()
    _schema_rebuilt(edited)


@pytest.mark.parametrize(
    "setting",
    [
        pytest.param({"REUSEDB_NOTE_TABLE": "legacy_renamed_note"}, id="db_table"),
        pytest.param({"REUSEDB_AUTO_FIELD": "django.db.models.AutoField"}, id="auto_field"),
    ],
)
def test_reuse_db_notices_a_setting_that_changes_an_unmigrated_table(
    reusedb_project: Path, backend: str, db_suffix: str, setting: dict[str, str]
) -> None:
    """No file changes: the 'legacy' app has no migrations, and its table's name and key
    type come from settings."""
    project, suffix = reusedb_project, db_suffix
    first = _run(project, backend, suffix, NOTES)
    assert first.returncode == 0, first.describe()
    changed = _run(project, backend, suffix, NOTES, **setting)
    assert changed.returncode == 0, changed.describe()
    _schema_rebuilt(changed)
    back = _run(project, backend, suffix, NOTES)
    assert back.returncode == 0, back.describe()
    _schema_rebuilt(back)


def test_reuse_db_rebuilds_an_earlier_versions_database_without_asking(
    reusedb_project: Path, backend: str, db_suffix: str
) -> None:
    """A state table of the shape earlier versions wrote (one fingerprint column)."""
    project, suffix = reusedb_project, db_suffix
    first = _run(project, backend, suffix, NOTES)
    assert first.returncode == 0, first.describe()
    primary = _database_names(project, backend, suffix)[0]
    _query(backend, primary, "DROP TABLE django_testkit_state")
    _query(backend, primary, "CREATE TABLE django_testkit_state (value VARCHAR(64) NOT NULL)")
    _query(backend, primary, "INSERT INTO django_testkit_state (value) VALUES (?)", ("0" * 64,))

    # Interactive: a database that is not recognisably ours would be a question.
    after = run_manage(
        project,
        "test",
        "-v",
        "2",
        "--reuse-db",
        NOTES,
        backend=backend,
        env={"EXAMPLE_DB_SUFFIX": suffix},
        stdin="",
    )
    assert after.returncode == 0, after.describe()
    _schema_rebuilt(after)
