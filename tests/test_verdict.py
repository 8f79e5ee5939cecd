"""The run's verdict: every combination of failures, findings and run kind -> status and lines."""

from __future__ import annotations

import itertools

import pytest

from django_testkit.cov.thresholds import Shortfall
from django_testkit.cov.verdict import NO_DATA, NOT_ENFORCED, Findings, Verdict, decide
from django_testkit.exceptions import EXIT_OK, EXIT_TESTS_FAILED, EXIT_THRESHOLD_MISSED

TOTAL = Shortfall("total", 80.0, 90, 0)
PATH = Shortfall("shop/*", 50.0, 100, 0)
NOTE = "Coverage of changed lines since main: 3 of 4 (75%)."
TOTAL_LINE = "Coverage failure: total: 80% is less than 90%"
PATH_LINE = "Coverage failure: shop/*: 50% is less than 100%"
PROBLEM = "Coverage: --cov-baseline = 'b.json' cannot be used: it is not a regular file; ..."

# How a run can end, as the coverage data sees it: the reason it lacks part of the run.
RUN_KINDS = {
    "complete": "",
    "interrupted": "the run was interrupted",
    "incomplete": "worker 2 died; its coverage data is lost",
}


def incomplete_line(lacking: str, checked: bool) -> str:
    tail = "; thresholds were checked on what was measured" if checked else ""
    return f"Coverage: the data is incomplete ({lacking}){tail}."


@pytest.mark.parametrize("failed", [0, 1, 3])
@pytest.mark.parametrize("lacking", RUN_KINDS.values(), ids=RUN_KINDS)
def test_coverage_off_is_the_tests_alone(failed: int, lacking: str) -> None:
    expected = EXIT_TESTS_FAILED if failed else EXIT_OK
    assert decide(failed, None, lacking) == Verdict(expected, ())


def _expected_status(
    items: tuple[str | Shortfall, ...], whole_suite: bool, from_command_line: bool
) -> int:
    missed = [item for item in items if isinstance(item, Shortfall)]
    if not missed:
        return EXIT_OK
    if whole_suite:
        return EXIT_THRESHOLD_MISSED
    if from_command_line and any(item.label == "total" for item in missed):
        return EXIT_THRESHOLD_MISSED
    return EXIT_OK


FOUND = {
    "nothing": (),
    "a note": (NOTE,),
    "total": (TOTAL,),
    "path": (PATH,),
    "total, note and path": (TOTAL, NOTE, PATH),
}
LINES = {TOTAL: TOTAL_LINE, PATH: PATH_LINE, NOTE: NOTE}


@pytest.mark.parametrize(
    ("failed", "found", "lacking", "whole_suite", "from_command_line", "written"),
    list(itertools.product([0, 2], FOUND, RUN_KINDS, [True, False], [False, True], [True, False])),
)
def test_every_combination_of_findings(
    failed: int,
    found: str,
    lacking: str,
    whole_suite: bool,
    from_command_line: bool,
    written: bool,
) -> None:
    items = FOUND[found]
    findings = Findings(
        items,
        reports_written=written,
        whole_suite=whole_suite,
        total_from_command_line=from_command_line,
    )
    verdict = decide(failed, findings, RUN_KINDS[lacking])

    lines = [LINES[item] for item in items]
    if RUN_KINDS[lacking]:
        lines.append(incomplete_line(RUN_KINDS[lacking], bool(items)))
    missed = any(isinstance(item, Shortfall) for item in items)
    if missed and not whole_suite and not from_command_line:
        lines.append(NOT_ENFORCED)
    status = _expected_status(items, whole_suite, from_command_line)
    if not written:
        status = EXIT_TESTS_FAILED
    if failed:
        status = EXIT_TESTS_FAILED
    assert verdict == Verdict(status, tuple(lines))


@pytest.mark.parametrize("failed", [0, 1])
@pytest.mark.parametrize("written", [True, False])
@pytest.mark.parametrize("lacking", RUN_KINDS.values(), ids=RUN_KINDS)
def test_a_problem_is_its_one_line(failed: int, written: bool, lacking: str) -> None:
    # The checks stopped: no shortfall and no note about incomplete data.
    verdict = decide(failed, Findings(problem=PROBLEM, reports_written=written), lacking)
    status = EXIT_TESTS_FAILED if failed or not written else EXIT_THRESHOLD_MISSED
    assert verdict == Verdict(status, (PROBLEM,))


@pytest.mark.parametrize("failed", [0, 1])
@pytest.mark.parametrize("lacking", RUN_KINDS.values(), ids=RUN_KINDS)
@pytest.mark.parametrize("whole_suite", [True, False])
def test_no_data_is_a_missed_threshold(failed: int, lacking: str, whole_suite: bool) -> None:
    verdict = decide(failed, Findings(no_data=True, whole_suite=whole_suite), lacking)
    assert verdict == Verdict(EXIT_TESTS_FAILED if failed else EXIT_THRESHOLD_MISSED, (NO_DATA,))


def test_part_of_the_suite_enforces_only_a_total_given_on_the_command_line() -> None:
    part = Findings((TOTAL, PATH), whole_suite=False, total_from_command_line=True)
    assert decide(0, part) == Verdict(EXIT_THRESHOLD_MISSED, (TOTAL_LINE, PATH_LINE))
    paths_only = Findings((PATH,), whole_suite=False, total_from_command_line=True)
    assert decide(0, paths_only) == Verdict(EXIT_OK, (PATH_LINE,))
    configured = Findings((TOTAL,), whole_suite=False)
    assert decide(0, configured) == Verdict(EXIT_OK, (TOTAL_LINE, NOT_ENFORCED))


def test_an_unwritten_report_fails_the_run_even_when_every_threshold_is_met() -> None:
    assert decide(0, Findings(reports_written=False)) == Verdict(EXIT_TESTS_FAILED, ())
