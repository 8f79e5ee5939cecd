"""Test-database setup as a user meets it: mirrors inside TestCase, concurrent building,
failed setups, signals, interactive refusals and --db-suffix, on every listed backend.

Every case checks the server's database list (or the project directory on SQLite)
afterwards: a run leaves nothing behind it did not keep on purpose.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.support.projects import (
    DISCOVER,
    RUN_TIMEOUT,
    interrupt_run,
    run_manage,
    run_tests,
    start_tests,
)
from tests.support.servers import create_database, leftover_databases

MIRROR_IN_TESTCASE = (
    "shop.tests.test_mirror.MirrorInTestCaseTests.test_replica_reads_what_default_wrote"
)


# Short names for the shared fixtures, used by every test below.
@pytest.fixture
def project(dbsetup_project: Path) -> Path:
    return dbsetup_project


@pytest.fixture
def suffix(db_suffix: str) -> str:
    return db_suffix


def env_for(suffix: str, **extra: str) -> dict[str, str]:
    return {"EXAMPLE_DB_SUFFIX": suffix, "DBSETUP_SQLITE_FILES": "1", **extra}


def test_mirror_reads_see_primary_writes_inside_testcase(
    project: Path, backend: str, suffix: str
) -> None:
    label = "shop.tests.test_mirror"
    run = run_tests(project, "-v", "2", label, backend=backend, env={"EXAMPLE_DB_SUFFIX": suffix})
    assert run.returncode == 0, run.describe()
    assert run.outcomes.ran == 3
    assert run.outcomes.status_of(MIRROR_IN_TESTCASE.rsplit(".", 1)[1]) == ["ok"]

    for runner, env in [
        (None, {"TESTKIT_MIRRORS_SEE_PRIMARY_WRITES": "0"}),
        (DISCOVER, {}),
    ]:
        separate = run_tests(
            project,
            label,
            runner=runner,
            backend=backend,
            env={"EXAMPLE_DB_SUFFIX": suffix, **env},
        )
        assert separate.returncode == 1, separate.describe()
        assert [block.desc.split(" ")[0] for block in separate.outcomes.blocks] == [
            "test_replica_reads_what_default_wrote"
        ]
    assert leftover_databases(project, backend, suffix) == []


@pytest.mark.parametrize("start_method", ["fork", "spawn", "forkserver"])
def test_mirror_in_parallel_workers_reads_the_workers_clone(
    project: Path, backend: str, suffix: str, start_method: str
) -> None:
    """Under every start method, a worker's mirror reads its own clone of the primary,
    both committed rows (TransactionTestCase) and uncommitted ones (TestCase)."""
    labels = (
        "shop.tests.test_mirror.MirrorInTransactionTestCaseTests",
        "shop.tests.test_mirror.MirrorInTestCaseTests",
        "shop.tests.test_mirror.OtherAliasTests",
    )
    for files in ("0", "1") if backend == "sqlite" else ("0",):
        env = {"EXAMPLE_DB_SUFFIX": suffix, "DBSETUP_SQLITE_FILES": files}
        args = ("--parallel", "2", "--start-method", start_method, "-v", "2")
        run = run_tests(project, *args, *labels, backend=backend, env=env)
        assert run.returncode == 0, run.describe()
        assert run.outcomes.ran == 3
        assert leftover_databases(project, backend, suffix) == []


def _trace(trace_dir: Path, alias: str) -> tuple[int, float, float]:
    _, pid, start, end = (trace_dir / f"{alias}.trace").read_text().split()
    return int(pid), float(start), float(end)


def test_independent_aliases_are_built_at_the_same_time_on_servers(
    project: Path, backend: str, suffix: str, tmp_path: Path
) -> None:
    env = env_for(suffix, DBSETUP_TRACE_DIR=str(tmp_path), DBSETUP_MIGRATION_SLEEP="1")
    run = run_tests(project, "shop.tests.test_mirror", backend=backend, env=env)
    assert run.returncode == 0, run.describe()
    default_pid, default_start, default_end = _trace(tmp_path, "default")
    other_pid, other_start, other_end = _trace(tmp_path, "other")
    overlap = default_start < other_end and other_start < default_end
    if backend == "sqlite":
        # SQLite builds in the runner's own process, one database after the other.
        assert default_pid == other_pid
        assert not overlap
    else:
        assert default_pid != other_pid
        assert overlap
    assert leftover_databases(project, backend, suffix) == []


def test_failed_setup_destroys_every_database_it_created(
    project: Path, backend: str, suffix: str
) -> None:
    env = env_for(suffix, DBSETUP_BREAK_ALIAS="other")
    run = run_tests(project, "shop.tests.test_mirror", backend=backend, env=env)
    assert run.returncode == 1, run.describe()
    assert run.stderr.rstrip().splitlines()[-1] == (
        "DatabaseSetupError: Setting up the test database for alias 'other' failed: RuntimeError: "
        "migration broken on purpose for alias other; every test database this run created "
        "has been destroyed."
    )
    assert "Traceback" in run.stderr  # the migration's own traceback is shown above it
    assert leftover_databases(project, backend, suffix) == []


def test_teardown_never_drops_a_database_it_did_not_create(
    project: Path, backend: str, suffix: str
) -> None:
    if backend == "sqlite":
        existing = project / "test_other.sqlite3"
        existing.write_bytes(b"")
        expected = ["test_other.sqlite3"]
    else:
        create_database(backend, f"test_dbsetup_other{suffix}")
        expected = [f"test_dbsetup_other{suffix}"]
    run = run_manage(
        project,
        "test",
        "shop.tests.test_mirror",
        backend=backend,
        env=env_for(suffix),
        stdin="no\n",
    )
    assert run.returncode == 1, run.describe()
    assert "Type 'yes' if you would like to try deleting the test database" in run.stdout
    assert "Tests cancelled." in run.stderr + run.stdout
    assert leftover_databases(project, backend, suffix) == expected


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("how", ["sigterm", "ctrl-c-twice"])
def test_interrupted_run_leaves_nothing_behind(
    project: Path, backend: str, suffix: str, tmp_path: Path, how: str, parallel: bool
) -> None:
    marker = tmp_path / "waiting"
    env = env_for(suffix, DBSETUP_WAIT_FILE=str(marker))
    args = ["--parallel", "2"] if parallel else []
    process = start_tests(project, backend, env, *args, "shop.tests")
    err = interrupt_run(process, marker, how)
    assert process.returncode != 0, err
    if how == "sigterm":
        assert process.returncode == 128 + signal.SIGTERM, err
        assert "Terminated (SIGTERM): stopping and cleaning up." in err
    assert leftover_databases(project, backend, suffix) == [], err


def test_db_suffix_keeps_concurrent_runs_apart(project: Path, backend: str, suffix: str) -> None:
    env = env_for(suffix)
    first = start_tests(project, backend, env, "-v", "2", "--db-suffix", "jobA", "shop.tests")
    second = start_tests(
        project, backend, {**env, "TESTKIT_DB_SUFFIX": "jobB"}, "-v", "2", "shop.tests"
    )
    results = [process.communicate(timeout=RUN_TIMEOUT) for process in (first, second)]
    for process, (_, err) in zip((first, second), results, strict=True):
        assert process.returncode == 0, err
    if backend == "sqlite":
        names = ("test_default_jobA.sqlite3", "test_default_jobB.sqlite3")
    else:
        names = (f"test_dbsetup_default{suffix}_jobA", f"test_dbsetup_default{suffix}_jobB")
    for name, (_, err) in zip(names, results, strict=True):
        assert f"Creating test database for alias 'default' ('{name}'" in err.replace(
            str(project) + os.sep, ""
        ), err
    assert leftover_databases(project, backend, suffix) == []


def test_bad_db_suffix_stops_before_anything_is_created(
    project: Path, backend: str, suffix: str
) -> None:
    run = run_tests(project, "--db-suffix", "job-1", backend=backend, env=env_for(suffix))
    assert run.returncode == 1, run.describe()
    assert run.stderr.strip().splitlines() == [
        "ConfigurationError: --db-suffix = 'job-1' cannot be part of a database name; use up "
        "to 40 letters, digits and underscores (for example a CI job id)."
    ]
    assert leftover_databases(project, backend, suffix) == []


def test_teardown_during_a_shared_mirror_destroys_only_test_databases(
    project: Path, backend: str, suffix: str
) -> None:
    run = run_manage(
        project, backend=backend, env=env_for(suffix), script="teardown_while_sharing.py"
    )
    assert run.returncode == 0, run.describe()
    real = "dbsetup_{}" if backend != "sqlite" else str(project / "{}.sqlite3")
    assert run.stdout.splitlines() == [
        f"default {real.format('default')}",
        f"replica {real.format('default')}",
        f"other {real.format('other')}",
    ]
    assert leftover_databases(project, backend, suffix) == []


def test_a_real_database_spelled_differently_is_refused_before_anything_is_created(
    project: Path, backend: str, suffix: str
) -> None:
    """'other' has default's test database as its real one, under another host or path
    spelling (localhost vs 127.0.0.1 and the default port; ./name vs an absolute path)."""
    env = env_for(suffix, DBSETUP_CASE="real-under-another-spelling")
    if backend == "sqlite":
        (project / "test_default.sqlite3").write_bytes(b"real data of 'other'")
    else:
        create_database(backend, f"test_dbsetup_default{suffix}")
    run = run_tests(project, "shop.tests.test_mirror", backend=backend, env=env)
    assert run.returncode == 1, run.describe()
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("ConfigurationError: The test database of 'default' would be "), last
    assert "which is the real database of 'other'" in last
    assert "Traceback" not in run.stderr
    if backend == "sqlite":
        assert (project / "test_default.sqlite3").read_bytes() == b"real data of 'other'"
        assert leftover_databases(project, backend, suffix) == ["test_default.sqlite3"]
    else:
        assert leftover_databases(project, backend, suffix) == [f"test_dbsetup_default{suffix}"]


def test_questions_about_existing_databases_are_asked_one_at_a_time_before_building(
    project: Path, backend: str, suffix: str
) -> None:
    """Two existing databases that are not ours, --reuse-db (builders run at the same
    time on servers), no --noinput: each question on a line of its own, in order."""
    if backend == "sqlite":
        names = [str(project / "test_default.sqlite3"), str(project / "test_other.sqlite3")]
        for name in names:
            Path(name).write_bytes(b"")
    else:
        names = [f"test_dbsetup_default{suffix}", f"test_dbsetup_other{suffix}"]
        for name in names:
            create_database(backend, name)
    run = run_manage(
        project,
        "test",
        "--reuse-db",
        "shop.tests.test_mirror",
        backend=backend,
        env=env_for(suffix),
        stdin="yes\nyes\n",
    )
    assert run.returncode == 0, run.describe()
    questions = [line for line in run.stdout.splitlines() if "Type 'yes'" in line]
    assert questions == [
        f"Type 'yes' if you would like to try deleting the test database '{name}', "
        "or 'no' to cancel: "
        for name in names
    ], run.describe()


def test_a_name_differing_in_case_is_refused_as_the_server_compares_names(
    project: Path, backend: str, suffix: str
) -> None:
    """PostgreSQL compares database names exactly; MariaDB as its lower_case_table_names
    says (asked of the server): the run is refused only where the names are one database."""
    if backend == "sqlite":
        pytest.skip("SQLite names are files: see the spelling tests")
    ignores_case = False
    if backend == "mysql":
        import MySQLdb

        conn = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="")
        try:
            cursor = conn.cursor()
            cursor.execute("SELECT @@lower_case_table_names")
            ignores_case = int(cursor.fetchone()[0]) != 0
        finally:
            conn.close()
    env = env_for(suffix, DBSETUP_CASE="real-differs-in-case")
    run = run_tests(project, "shop.tests.test_mirror", backend=backend, env=env)
    if ignores_case:
        assert run.returncode == 1, run.describe()
        assert "which is the real database of 'other'" in run.stderr, run.describe()
    else:
        assert run.returncode == 0, run.describe()
    assert leftover_databases(project, backend, suffix) == [], run.describe()


@pytest.mark.parametrize("extra", [[], ["--parallel", "2"], ["--reuse-db"]])
def test_django_deprecation_warnings_as_errors_never_stop_a_run(
    project: Path, backend: str, suffix: str, extra: list[str]
) -> None:
    """The runner calls every Django API the way the installed version wants it: with
    the next deprecations as errors (as Django's own suite runs), setup still works."""
    env = env_for(suffix, EXAMPLE_DEPRECATIONS_AS_ERRORS="1")
    run = run_tests(project, *extra, "shop.tests.test_mirror", backend=backend, env=env)
    assert run.returncode == 0, run.describe()
    assert "Warning" not in run.stderr, run.describe()
