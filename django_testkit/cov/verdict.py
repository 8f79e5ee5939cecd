"""The run's verdict: failed tests, coverage findings, how the run ended -> exit status, lines.

Pure: nothing here measures, reads a file or prints. The caller prints
``Verdict.lines`` on stderr, after the coverage reports. The statuses are
those of :mod:`django_testkit.exceptions`: 1 when a test failed (or a report
could not be written), else 2 when a coverage threshold counts as missed,
else 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from django_testkit.cov.thresholds import Shortfall
from django_testkit.exceptions import EXIT_OK, EXIT_TESTS_FAILED, EXIT_THRESHOLD_MISSED

NO_DATA = "Coverage: no data was collected; check --cov and coverage's [run] source."
NOT_ENFORCED = (
    "Coverage thresholds not enforced: only part of the suite ran (test labels, tags or -k); "
    "pass --cov-fail-under to enforce the total."
)


@dataclass(frozen=True)
class Findings:
    """What the coverage step found after the run (coverage was on).

    ``items`` are the threshold shortfalls and the notes about them (changed
    lines, a raised baseline), in the order found. ``problem`` is the one line
    of an error that stopped the checks (a baseline that cannot be read or
    written). ``no_data``: nothing was measured, so no report or check could
    run. ``whole_suite``: no test labels, tags or ``-k`` narrowed the run.
    ``total_from_command_line``: ``--cov-fail-under`` was given on the command
    line, which enforces the total even on part of the suite.
    """

    items: tuple[str | Shortfall, ...] = ()
    problem: str = ""
    no_data: bool = False
    reports_written: bool = True
    whole_suite: bool = True
    total_from_command_line: bool = False


@dataclass(frozen=True)
class Verdict:
    """The exit status and the lines to print on stderr, in order."""

    status: int
    lines: tuple[str, ...] = ()


def decide(failed: int, coverage: Findings | None, lacking: str = "") -> Verdict:
    """The verdict on a run in which ``failed`` tests failed (or did not run).

    ``coverage`` is None when coverage is off. ``lacking`` says why the
    coverage data misses part of the run ("" when it does not): a parallel run
    that was interrupted, or whose workers were lost. Failed tests take
    precedence over any coverage status.
    """
    if coverage is None:
        return Verdict(EXIT_TESTS_FAILED if failed else EXIT_OK)
    if coverage.no_data:
        status, lines = EXIT_THRESHOLD_MISSED, [NO_DATA]
    elif coverage.problem:
        status, lines = EXIT_THRESHOLD_MISSED, [coverage.problem]
    else:
        lines = [item.line() if isinstance(item, Shortfall) else item for item in coverage.items]
        if lacking:
            checked = "; thresholds were checked on what was measured" if coverage.items else ""
            lines.append(f"Coverage: the data is incomplete ({lacking}){checked}.")
        status = _threshold_status(coverage, lines)
    if not coverage.reports_written and not coverage.no_data:
        # A missing report must not pass unnoticed in CI.
        status = EXIT_TESTS_FAILED
    return Verdict(EXIT_TESTS_FAILED if failed else status, tuple(lines))


def _threshold_status(coverage: Findings, lines: list[str]) -> int:
    """0 or 2 for the shortfalls found; a note in ``lines`` when none is enforced."""
    missed = [item for item in coverage.items if isinstance(item, Shortfall)]
    if not missed:
        return EXIT_OK
    if coverage.whole_suite:
        return EXIT_THRESHOLD_MISSED
    # Part of the suite: only a total asked for on the command line is enforced.
    if not coverage.total_from_command_line:
        lines.append(NOT_ENFORCED)
        return EXIT_OK
    total_missed = any(item.label == "total" for item in missed)
    return EXIT_THRESHOLD_MISSED if total_missed else EXIT_OK
