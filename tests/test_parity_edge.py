"""Drop-in parity on the edge-case project: DiscoverRunner and TestkitRunner, run
side by side with the same options, must select the same tests, report the
same outcomes and exit with the same status.

Serial runs must print the same output (timings blanked out); parallel runs,
whose order Django does not define, must report the same multiset of outcomes.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import django
import pytest

from tests.support.outcomes import normalise
from tests.support.projects import DISCOVER, TESTKIT, Run, run_tests

HAS_DURATIONS = django.VERSION >= (5, 0) and sys.version_info >= (3, 12)

# Python 3.12 leaves tests skipped by decorators out of "Ran N tests"; 3.11 and 3.13 count them.
SKIPS_UNCOUNTED = sys.version_info[:2] == (3, 12)
FULL = 25 if SKIPS_UNCOUNTED else 28
WITHOUT_TAGGED = 21 if SKIPS_UNCOUNTED else 24

ALL_VERDICT = (
    "FAILED (failures=6, errors=5, skipped=4, expected failures=1, unexpected successes=1)"
)


@dataclass(frozen=True)
class Mode:
    args: tuple[str, ...]
    ran: int
    verdict: str
    exit_status: int
    parallel: bool = False
    env: dict[str, str] = field(default_factory=dict)


MODES: dict[str, Mode] = {
    "all": Mode(("-v", "2"), FULL, ALL_VERDICT, 1),
    "parallel-2": Mode(("-v", "2", "--parallel", "2"), FULL, ALL_VERDICT, 1, parallel=True),
    "parallel-auto-env": Mode(
        ("-v", "2", "--parallel"),
        FULL,
        ALL_VERDICT,
        1,
        parallel=True,
        env={"DJANGO_TEST_PROCESSES": "2"},
    ),
    "dotted-module": Mode(
        ("-v", "2", "edge.tests.test_database"), 4, "FAILED (failures=1, errors=2)", 1
    ),
    "dotted-class": Mode(
        ("-v", "2", "edge.tests.test_outcomes.SubTestTests"), 2, "FAILED (failures=1, errors=1)", 1
    ),
    "dotted-method": Mode(
        ("-v", "2", "edge.tests.test_outcomes.OutcomeTests.test_pass"), 1, "OK", 0
    ),
    "two-labels": Mode(
        ("-v", "2", "edge.tests.test_outcomes.TaggedFastTests", "edge.tests.test_doctests"),
        4,
        "FAILED (failures=1)",
        1,
    ),
    "directory-label": Mode(("-v", "2", "edge/tests"), FULL, ALL_VERDICT, 1),
    "pattern": Mode(("-v", "2", "-p", "check_*.py"), 2, "FAILED (failures=1)", 1),
    "top-level": Mode(("-v", "2", "-t", ".", "-p", "test_runner*.py", "edge"), 1, "OK", 0),
    # -k filters methods; the import failure and the doctests are not methods.
    "k-patterns": Mode(
        ("-v", "2", "-k", "subtests", "-k", "Tagged*"), 5, "FAILED (failures=2, errors=2)", 1
    ),
    # Django keeps a module that failed to import in a tagged selection.
    "tag": Mode(("-v", "2", "--tag", "slow"), 3, "FAILED (errors=1)", 1),
    "tag-on-method": Mode(("-v", "2", "--tag", "flaky"), 2, "FAILED (errors=1)", 1),
    "exclude-tag": Mode(
        ("-v", "2", "--exclude-tag", "slow", "--exclude-tag", "fast"),
        WITHOUT_TAGGED,
        ALL_VERDICT,
        1,
    ),
    "shuffle": Mode(("-v", "2", "--shuffle", "1234"), FULL, ALL_VERDICT, 1),
    "reverse": Mode(("-v", "2", "--reverse"), FULL, ALL_VERDICT, 1),
    "failfast": Mode(("-v", "2", "--failfast"), 1, "FAILED (errors=1)", 1),
    "buffer": Mode(("-v", "2", "-b"), FULL, ALL_VERDICT, 1),
    "debug-sql": Mode(
        ("-v", "2", "--debug-sql", "edge.tests.test_database"),
        4,
        "FAILED (failures=1, errors=2)",
        1,
    ),
    "debug-mode": Mode(
        ("-v", "2", "--debug-mode", "edge.tests.test_outcomes.OutcomeTests.test_debug_flag"),
        1,
        "OK",
        0,
        env={"EXPECT_DEBUG": "1"},
    ),
    "no-faulthandler": Mode(("-v", "2", "--no-faulthandler"), FULL, ALL_VERDICT, 1),
    "timing": Mode(("-v", "2", "--timing"), FULL, ALL_VERDICT, 1),
    "keepdb": Mode(("-v", "2", "--keepdb"), FULL, ALL_VERDICT, 1),
    "verbosity-0": Mode(
        (
            "-v",
            "0",
        ),
        FULL,
        ALL_VERDICT,
        1,
    ),
    "verbosity-1": Mode(
        (
            "-v",
            "1",
        ),
        FULL,
        ALL_VERDICT,
        1,
    ),
    "verbosity-3": Mode(
        (
            "-v",
            "3",
        ),
        FULL,
        ALL_VERDICT,
        1,
    ),
    "all-pass": Mode(
        (
            "-v",
            "2",
            "edge.tests.test_outcomes.TaggedFastTests",
            "edge.tests.test_outcomes.TaggedSlowTests",
        ),
        4,
        "OK",
        0,
    ),
}
if HAS_DURATIONS:
    MODES["durations"] = Mode(("-v", "2", "--durations", "3"), FULL, ALL_VERDICT, 1)

# Lines whose content legitimately changes between two runs of the same runner.
_VOLATILE = ("Using shuffle seed", "Used shuffle seed")


def _comparable_text(run: Run, mode: Mode) -> list[str]:
    lines = normalise(run.stderr + "\n" + run.stdout).splitlines()
    if "--durations" in mode.args:
        # Durations are sorted by measured time, which is noise for fast tests.
        lines = [line for line in lines if not line.startswith("<t>s ")]
    return lines


def _run_pair(project: Path, mode: Mode, backend: str = "sqlite") -> tuple[Run, Run]:
    django_run = run_tests(project, *mode.args, runner=DISCOVER, backend=backend, env=mode.env)
    testkit_run = run_tests(project, *mode.args, runner=TESTKIT, backend=backend, env=mode.env)
    return django_run, testkit_run


def _django_serial(project: Path, mode: Mode, backend: str = "sqlite") -> Run:
    """Django's serial run of a parallel mode: what a parallel run must match.

    (Django's own parallel run names subtests without a message
    ``[<object object at 0x...>]``, which a serial run does not.)
    """
    args = list(mode.args)
    at = args.index("--parallel")
    del args[at : at + (2 if args[at + 1 :][:1] == ["2"] else 1)]
    return run_tests(project, *args, runner=DISCOVER, backend=backend, env=mode.env)


def _assert_expected(run: Run, mode: Mode) -> None:
    outcomes = run.outcomes
    if mode.args[:2] == ("-v", "2"):
        assert outcomes.ran == mode.ran, run.describe()
    assert outcomes.verdict == mode.verdict, run.describe()
    assert run.returncode == mode.exit_status, run.describe()


@pytest.mark.parametrize("name", sorted(MODES))
def test_same_outcomes_as_discover_runner(edge_project: Path, name: str) -> None:
    mode = MODES[name]
    django_run, testkit_run = _run_pair(edge_project, mode)

    _assert_expected(django_run, mode)
    _assert_expected(testkit_run, mode)
    assert testkit_run.returncode == django_run.returncode
    if mode.parallel:
        serial = _django_serial(edge_project, mode)
        assert testkit_run.outcomes.as_multiset() == serial.outcomes.as_multiset()
        assert sorted(testkit_run.stdout.splitlines()) == sorted(django_run.stdout.splitlines())
    else:
        assert testkit_run.outcomes.as_sequence() == django_run.outcomes.as_sequence()
        assert _comparable_text(testkit_run, mode) == _comparable_text(django_run, mode)


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel-2"])
def test_same_outcomes_on_each_backend(edge_project: Path, backend: str, parallel: bool) -> None:
    mode = MODES["parallel-2" if parallel else "all"]
    django_run, testkit_run = _run_pair(edge_project, mode, backend=backend)

    _assert_expected(django_run, mode)
    _assert_expected(testkit_run, mode)
    reference = _django_serial(edge_project, mode, backend) if parallel else django_run
    assert testkit_run.outcomes.as_multiset() == reference.outcomes.as_multiset()


def test_outcomes_are_the_expected_ones(edge_project: Path) -> None:
    run = run_tests(edge_project, "-v", "2", runner=TESTKIT)
    outcomes = run.outcomes
    prefix = "test_{0} (edge.tests.test_outcomes.OutcomeTests.test_{0})"
    assert outcomes.status_of(prefix.format("pass")) == ["ok"]
    assert outcomes.status_of(prefix.format("fail")) == ["FAIL"]
    assert outcomes.status_of(prefix.format("error_chained")) == ["ERROR"]
    assert outcomes.status_of(prefix.format("skip_inline")) == ["skipped 'not today'"]
    assert outcomes.status_of(prefix.format("expected_failure")) == ["expected failure"]
    assert outcomes.status_of(prefix.format("unexpected_success")) == ["unexpected success"]
    assert outcomes.status_of("test_subtests_mixed") == ["FAIL", "ERROR"]
    assert outcomes.status_of("setUpClass (edge.tests.test_database.SetUpTestDataErrorTests)") == [
        "ERROR"
    ]
    assert outcomes.status_of("setUpClass (edge.tests.test_database.SetUpClassErrorTests)") == [
        "ERROR"
    ]
    assert outcomes.status_of("edge.tests.test_broken_import") == ["ERROR"]
    assert outcomes.status_of("Doctest: edge.textutils.whisper") == ["FAIL"]
    chained = [block for block in outcomes.blocks if "test_error_chained" in block.desc]
    assert chained[0].exceptions == ("KeyError: 'missing'", "ValueError: lookup failed")


def test_buffer_attaches_output_to_the_failing_test_only(edge_project: Path) -> None:
    run = run_tests(edge_project, "-b", "edge.tests.test_outcomes.OutcomeTests", runner=TESTKIT)
    assert "captured stdout line" in run.stderr
    assert "noise from a passing test" not in run.stderr + run.stdout


def test_shuffle_seed_is_reported_and_reproducible(edge_project: Path) -> None:
    first = run_tests(edge_project, "-v", "2", "--shuffle", "99", runner=TESTKIT)
    second = run_tests(edge_project, "-v", "2", "--shuffle", "99", runner=TESTKIT)
    assert "Using shuffle seed: 99 (given)" in first.stdout
    assert first.outcomes.statuses == second.outcomes.statuses
    plain = run_tests(edge_project, "-v", "2", runner=TESTKIT)
    assert first.outcomes.statuses != plain.outcomes.statuses
    assert first.outcomes.as_multiset() == plain.outcomes.as_multiset()


def test_pdb_runs_the_debugger_on_each_failure(edge_project: Path) -> None:
    label = "edge.tests.test_outcomes.OutcomeTests"
    commands = "c\n" * 20
    django_run = run_tests(edge_project, "--pdb", label, runner=DISCOVER, stdin=commands)
    testkit_run = run_tests(edge_project, "--pdb", label, runner=TESTKIT, stdin=commands)
    assert testkit_run.stdout.count("(Pdb)") == 3, testkit_run.describe()
    assert normalise(testkit_run.stdout) == normalise(django_run.stdout)
    assert testkit_run.returncode == django_run.returncode == 1


def test_pdb_with_parallel_is_refused_like_django(edge_project: Path) -> None:
    django_run = run_tests(edge_project, "--pdb", "--parallel", "2", runner=DISCOVER)
    testkit_run = run_tests(edge_project, "--pdb", "--parallel", "2", runner=TESTKIT)
    message = "You cannot use --pdb with parallel tests; pass --parallel=1 to use it."
    assert message in django_run.stderr
    assert message in testkit_run.stderr
    assert testkit_run.returncode == django_run.returncode != 0
