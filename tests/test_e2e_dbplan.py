"""Database planning as a user meets it: mirrors get a test database, dependencies on
unused aliases work, and bad settings stop with one line before anything is created."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support.projects import DISCOVER, REPO, TESTKIT, copy_project, run_manage, run_tests

DBPLAN_PROJECT = REPO / "tests" / "fixtures" / "dbplan"


@pytest.fixture
def plan_project(tmp_path: Path) -> Path:
    return copy_project(DBPLAN_PROJECT, tmp_path / "dbplan")


def _real_rows(project: Path) -> int:
    with sqlite3.connect(project / "real_default.sqlite3") as connection:
        return int(connection.execute("SELECT COUNT(*) FROM plan_note").fetchone()[0])


def test_mirror_only_test_never_writes_into_the_real_database(plan_project: Path) -> None:
    migrate = run_manage(plan_project, "migrate", "-v", "0")
    assert migrate.returncode == 0, migrate.describe()
    label = "plan.tests.test_replica"

    django_run = run_tests(plan_project, label, runner=DISCOVER)
    assert django_run.returncode == 0, django_run.describe()
    assert _real_rows(plan_project) == 1  # Django's defect: the row landed in real data

    with sqlite3.connect(plan_project / "real_default.sqlite3") as connection:
        connection.execute("DELETE FROM plan_note")
    testkit_run = run_tests(plan_project, "-v", "2", label, runner=TESTKIT)
    assert testkit_run.returncode == 0, testkit_run.describe()
    assert _real_rows(plan_project) == 0
    # A TransactionTestCase on a mirror alone gets the primary in its databases (so that
    # Django flushes it), which is what makes the primary's test database exist here.
    assert "Creating test database for alias 'default'" in testkit_run.stderr
    assert not list(plan_project.glob("test_*.sqlite3"))


def test_dependency_on_an_unused_alias_is_satisfied(plan_project: Path) -> None:
    label = "plan.tests.test_chain.DependentAliasTests"
    django_run = run_tests(plan_project, label, runner=DISCOVER)
    assert "Circular dependency in TEST[DEPENDENCIES]" in django_run.stderr

    run = run_tests(plan_project, "-v", "2", label, runner=TESTKIT)
    assert run.returncode == 0, run.describe()
    creating = [line for line in run.stderr.splitlines() if line.startswith("Creating test")]
    assert [line.split("'")[1] for line in creating] == ["a", "b", "c"]
    assert not list(plan_project.glob("test_*.sqlite3"))


@pytest.mark.parametrize(
    ("case", "line"),
    [
        (
            "dependency-cycle",
            "DATABASES TEST DEPENDENCIES form a cycle: a -> c -> b -> a; remove one of these "
            "dependencies.",
        ),
        (
            "unknown-dependency",
            "DATABASES['b']['TEST']['DEPENDENCIES'] names unknown alias 'archive'; use one of: "
            "a, b, c, default, replica.",
        ),
        (
            "unknown-mirror",
            "DATABASES['replica']['TEST']['MIRROR'] = 'primary' names no database alias; use "
            "one of: a, b, c, default, replica.",
        ),
        (
            "mirror-cycle",
            "DATABASES TEST MIRROR settings form a cycle: replica -> c -> replica; at least one "
            "of these aliases must have its own test database (no MIRROR).",
        ),
        ("real-name", "refusing to risk real data. Set DATABASES['b']['TEST']['NAME']"),
    ],
)
def test_bad_settings_stop_before_any_database_is_created(
    plan_project: Path, case: str, line: str
) -> None:
    run = run_tests(plan_project, runner=TESTKIT, env={"DBPLAN_CASE": case})
    assert run.returncode == 1, run.describe()
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("ConfigurationError: ")
    assert line in last
    assert "Traceback" not in run.stderr
    assert not list(plan_project.glob("*.sqlite3"))


def test_legacy_top_level_keys_work_with_a_deprecation_line(plan_project: Path) -> None:
    run = run_tests(
        plan_project, "plan.tests.test_replica", runner=TESTKIT, env={"DBPLAN_CASE": "legacy"}
    )
    assert run.returncode == 0, run.describe()
    assert (
        "DATABASES['replica'] uses the legacy key(s) TEST_MIRROR; write them as "
        "'TEST': {'MIRROR': 'default'} instead."
    ) in run.stdout


def _make_real_database(project: Path) -> bytes:
    migrate = run_manage(project, "migrate", "-v", "0")
    assert migrate.returncode == 0, migrate.describe()
    with sqlite3.connect(project / "real_default.sqlite3") as connection:
        connection.execute("INSERT INTO plan_note (text) VALUES ('real')")
    return (project / "real_default.sqlite3").read_bytes()


@pytest.mark.parametrize(
    "spelling",
    [
        "real_default.sqlite3",
        "./real_default.sqlite3",
        "plan/../real_default.sqlite3",
        "file:real_default.sqlite3",
        "file:real_default.sqlite3?mode=rwc",
        "linked.sqlite3",
    ],
)
def test_a_relative_or_linked_test_name_never_touches_the_real_database(
    plan_project: Path, spelling: str
) -> None:
    real = _make_real_database(plan_project)
    (plan_project / "linked.sqlite3").symlink_to(plan_project / "real_default.sqlite3")
    run = run_tests(
        plan_project, "plan.tests.test_replica", env={"DBPLAN_CASE": f"spelling:{spelling}"}
    )
    assert run.returncode == 1, run.describe()
    last = run.stderr.strip().splitlines()[-1]
    assert last == (
        f"ConfigurationError: The test database of 'default' would be {spelling!r}, which is "
        f"the real database of 'default' ({str(plan_project / 'real_default.sqlite3')!r}); "
        "refusing to risk real data. Set DATABASES['default']['TEST']['NAME'] to a name no "
        "alias uses."
    ), run.describe()
    assert (plan_project / "real_default.sqlite3").read_bytes() == real
    assert (plan_project / "linked.sqlite3").is_symlink()


def test_a_worker_clone_named_like_a_real_database_is_refused(plan_project: Path) -> None:
    (plan_project / "test_default_1.sqlite3").write_bytes(b"real data of 'a'")
    run = run_tests(
        plan_project, "--parallel", "2", "plan.tests", env={"DBPLAN_CASE": "clone-collision"}
    )
    assert run.returncode == 1, run.describe()
    assert "ConfigurationError: The worker clone of 'default' would be" in run.stderr
    assert "Traceback" not in run.stderr
    assert (plan_project / "test_default_1.sqlite3").read_bytes() == b"real data of 'a'"


def test_a_dependency_cycle_among_unused_aliases_is_one_warning_line(plan_project: Path) -> None:
    run = run_tests(
        plan_project, "plan.tests.test_replica", env={"DBPLAN_CASE": "dependency-cycle"}
    )
    assert run.returncode == 0, run.describe()
    assert (
        "DATABASES TEST DEPENDENCIES form a cycle: a -> c -> b -> a; this run does not use "
        "these aliases, but a run that does will stop. Remove one of these dependencies."
    ) in run.stdout.splitlines(), run.describe()
