"""Rows a TransactionTestCase writes through a TEST MIRROR alias are flushed with its
primary (issue 11, item 7): serial, under --parallel 2 (fork and spawn), and on a second
--reuse-db run of the unchanged project, on every listed backend.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.projects import run_tests
from tests.support.servers import leftover_databases

LABEL = "shop.tests.test_mirror_flush"
MODES = {
    "serial": (),
    "parallel": ("--parallel", "2"),
    "parallel-spawn": ("--parallel", "2", "--start-method", "spawn"),
}


@pytest.mark.parametrize("mode", list(MODES))
def test_rows_written_through_a_mirror_are_flushed(
    dbsetup_project: Path, backend: str, db_suffix: str, mode: str
) -> None:
    env = {"EXAMPLE_DB_SUFFIX": db_suffix, "DBSETUP_SQLITE_FILES": "1"}
    for attempt in ("first", "second"):
        run = run_tests(
            dbsetup_project, "-v", "2", "--reuse-db", *MODES[mode], LABEL, backend=backend, env=env
        )
        assert run.returncode == 0, f"{attempt} run:\n{run.describe()}"
        assert run.outcomes.ran == 5, run.describe()
        assert run.outcomes.blocks == [], run.describe()
    # --reuse-db keeps the test databases (and clones) on purpose; the next check drops them.
    assert leftover_databases(dbsetup_project, backend, db_suffix) != []


def test_without_reuse_a_run_leaves_nothing(
    dbsetup_project: Path, backend: str, db_suffix: str
) -> None:
    env = {"EXAMPLE_DB_SUFFIX": db_suffix, "DBSETUP_SQLITE_FILES": "1"}
    run = run_tests(dbsetup_project, "--parallel", "2", LABEL, backend=backend, env=env)
    assert run.returncode == 0, run.describe()
    assert leftover_databases(dbsetup_project, backend, db_suffix) == []
