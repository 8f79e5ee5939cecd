"""End-to-end tests of ``--timeout`` in runs without workers: serial, and a ``--parallel``
run left with a single class (which Django's runner runs in its own process).

A test that overruns is stopped where it is and errors with ``TestTimedOut``; the
run goes on. A test that cannot be stopped (the fixture ignores SIGALRM, as C code
that holds signals off would) ends the run after a grace period, with where it was,
the results so far, teardown and status 1.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.support.projects import POOL_PROJECT, copy_project, run_tests
from tests.support.servers import leftover_databases

TROUBLE = "work.tests.test_trouble.TroubleTests"
PLAIN = "work.tests.test_plain"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(POOL_PROJECT, tmp_path / "pool")


@pytest.mark.parametrize("mode", [(), ("--parallel", "2")], ids=["serial", "one-class-parallel"])
def test_a_test_past_the_timeout_is_stopped_in_process_and_the_run_goes_on(
    project: Path, mode: tuple[str, ...]
) -> None:
    run = run_tests(project, *mode, "-v", "2", "--timeout", "2", TROUBLE, env={"POOL_HANG": "1"})
    assert run.returncode == 1, run.describe()
    assert run.outcomes.status_of("test_b_trouble") == ["ERROR"], run.describe()
    for name in ("test_a_before", "test_c_after", "test_d_after"):
        assert run.outcomes.status_of(name) == ["ok"], name
    assert run.outcomes.verdict == "FAILED (errors=1)"
    report = run.stderr.split(f"ERROR: test_b_trouble ({TROUBLE}.test_b_trouble)", 1)[1]
    # Where the test was: its own frames, then the deadline that stopped it.
    # (Python 3.13 adds a line of carets under some source lines.)
    assert re.search(
        r"line 29, in test_b_trouble\n(?:.*\n){1,3}?.*line 3\d, in wait_forever", report
    ), report
    assert re.search(
        r"TestTimedOut: ran longer than --timeout 2s and was stopped in this process; "
        r"the traceback shows where it was\.",
        report,
    ), run.describe()


def test_the_timeout_setting_applies_without_workers_too(project: Path) -> None:
    env = {"POOL_HANG": "1", "TESTKIT_TIMEOUT": "1.5"}
    run = run_tests(project, TROUBLE, env=env)
    assert run.returncode == 1, run.describe()
    assert "ran longer than --timeout 1.5s and was stopped in this process" in run.stderr


def test_a_hanging_class_setup_is_stopped_in_process(project: Path) -> None:
    labels = ("work.tests.test_trouble.HangingSetUpClassTests", PLAIN)
    run = run_tests(project, "-v", "2", "--timeout", "2", *labels, env={"POOL_HANG_CLASS": "1"})
    assert run.returncode == 1, run.describe()
    assert "ERROR: setUpClass (work.tests.test_trouble.HangingSetUpClassTests)" in run.stderr, (
        run.describe()
    )
    assert "in setUpClass" in run.stderr
    assert "TestTimedOut: ran longer than --timeout 2s" in run.stderr
    # The other classes ran after it.
    assert run.outcomes.status_of("test_write_and_read") == ["ok"], run.describe()
    assert run.outcomes.verdict == "FAILED (errors=1)"


def test_without_timeout_nothing_is_armed(project: Path) -> None:
    run = run_tests(project, TROUBLE, PLAIN, "-v", "2")
    assert run.returncode == 0, run.describe()
    assert "TestTimedOut" not in run.stderr


def test_a_test_that_cannot_be_stopped_ends_the_run_with_its_stack_and_results(
    project: Path, backend: str, db_suffix: str
) -> None:
    env = {"POOL_HANG": "unstoppable", "EXAMPLE_DB_SUFFIX": db_suffix, "POOL_SQLITE_FILES": "1"}
    started = time.monotonic()
    run = run_tests(project, "-v", "2", "--timeout", "2", TROUBLE, PLAIN, backend=backend, env=env)
    took = time.monotonic() - started
    assert run.returncode == 1, run.describe()
    # The deadline, then one grace period (10 s), not the test's hour.
    assert took < 60, took
    report = run.stderr.split(f"ERROR: test_b_trouble ({TROUBLE}.test_b_trouble)", 1)[1]
    assert re.search(
        rf"TestTimedOut: {re.escape(TROUBLE)}\.test_b_trouble ran longer than --timeout 2s "
        r"and could not be stopped: it is blocked outside Python \(SIGALRM had no effect "
        r"in 10s more\)\. Where it was:\nThread 0x[0-9a-f]+ \(most recent call first\):\n"
        r'  File ".*test_trouble\.py", line 3\d in wait_forever\n'
        r'  File ".*test_trouble\.py", line 29 in test_b_trouble\n'
        r"\(\d+ frames of the test runner and 1 thread of its own not shown; -v 3 shows them\)",
        report,
    ), run.describe()
    # The results so far: the tests that finished, then the verdict.
    assert run.outcomes.status_of("test_a_before") == ["ok"], run.describe()
    assert run.outcomes.status_of("test_write_and_read") == ["ok"], run.describe()
    assert re.search(r"\nRan \d+ tests? before the run was ended\n\nFAILED \(errors=1\)\n", report)
    assert "test_c_after" not in run.stderr
    # Torn down: no test database is left, on any backend.
    assert leftover_databases(project, backend, db_suffix) == [], run.describe()


def test_the_timeout_is_off_under_pdb_and_says_so(project: Path) -> None:
    run = run_tests(project, "--pdb", "--timeout", "2", TROUBLE)
    assert run.returncode == 0, run.describe()
    assert "--timeout is not applied under --pdb." in run.stderr.splitlines()
