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
    assert "Also setting up database(s) that mirrors and dependencies need: default." in (
        testkit_run.stdout
    )
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
