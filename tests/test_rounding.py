"""Thresholds and displayed totals agree with the installed coverage.py's own fail_under rule.

coverage.py changed how ``fail_under`` rounds between versions (7.10 rounds a
total to ``precision`` decimals; later versions also to as many decimals as
the minimum is written with). These properties run on whichever coverage is
installed; tox runs them on the oldest and the newest the package allows.
"""

from __future__ import annotations

from typing import Any

import pytest
from coverage.results import Numbers, display_covered, should_fail_under
from hypothesis import example, given
from hypothesis import strategies as st

from django_testkit.cov.thresholds import Shortfall, check_total, display_percent


def _report(statements: int, missing: int, branches: int, missing_branches: int) -> dict[str, Any]:
    # The "totals" of ``coverage json``, with branch keys only when branches were measured.
    totals: dict[str, Any] = {
        "num_statements": statements,
        "covered_lines": statements - missing,
        "missing_lines": missing,
    }
    if branches:
        totals["num_branches"] = branches
        totals["covered_branches"] = branches - missing_branches
    return {"totals": totals, "files": {}}


@st.composite
def totals(draw: st.DrawFn) -> tuple[int, int, int, int]:
    """Statements, missing ones, branches, missing branches, as a real measurement has them."""
    statements = draw(st.integers(0, 20_000))
    missing = draw(st.integers(0, statements))
    branches = draw(st.integers(0, 2 * statements))
    missing_branches = draw(st.integers(0, branches))
    return statements, missing, branches, missing_branches


# Minimums as users write them: whole numbers and up to three decimals, the edges included.
minimums = st.one_of(
    st.sampled_from([0.0, 50.0, 87.5, 87.55, 90.0, 99.0, 99.9, 99.99, 100.0]),
    st.decimals(0, 100, places=2).map(float),
    st.decimals(0, 100, places=3).map(float),
)


@given(totals(), minimums, st.integers(0, 4))
@example((10_000, 446, 0, 0), 95.54, 0)  # 95.54 misses 95.54 only at the minimum's decimals
@example((200, 0, 200, 1), 100.0, 2)  # one branch of 400 lines and branches not taken
@example((0, 0, 0, 0), 100.0, 0)  # nothing to measure counts as complete
def test_total_verdict_and_display_follow_coverage(
    counts: tuple[int, int, int, int], minimum: float, precision: int
) -> None:
    statements, missing, branches, missing_branches = counts
    numbers = Numbers(
        precision=precision,
        n_files=1,
        n_statements=statements,
        n_missing=missing,
        n_branches=branches,
        n_missing_branches=missing_branches,
    )
    fails = should_fail_under(numbers.pc_covered, minimum, precision)
    shortfall = check_total(_report(*counts), minimum, precision)
    assert (shortfall is not None) is fails
    if shortfall is not None:
        assert shortfall.actual == numbers.pc_covered
        shown = f"{numbers.pc_covered_str}%"
        assert shortfall.line().startswith(f"Coverage failure: total: {shown} is less than ")


@given(st.floats(0, 100), st.integers(0, 6))
def test_display_is_coverages_own(value: float, precision: int) -> None:
    assert display_percent(value, precision) == f"{display_covered(value, precision)}%"


@pytest.mark.parametrize(
    ("total", "minimum", "precision"),
    [
        # Rounded to precision 0 these totals meet the minimum; at the minimum's own
        # decimals they do not. Which rule applies is the installed coverage's call.
        (95.54, 95.55, 0),
        (87.54, 87.55, 1),
        (99.5096, 99.9, 0),
    ],
)
def test_a_minimum_with_more_decimals_than_precision_is_decided_by_coverage(
    total: float, minimum: float, precision: int
) -> None:
    # 10**6 statements, so that ``total`` percent of them is a whole number.
    report = _report(10**6, 10**6 - round(total * 10**4), 0, 0)
    shortfall = check_total(report, minimum, precision)
    assert (shortfall is not None) is should_fail_under(total, minimum, precision)


def test_a_shortfall_shows_the_total_as_coverages_table_does() -> None:
    shortfall = Shortfall("total", 99.999, 100.0, 2)
    assert shortfall.line() == "Coverage failure: total: 99.99% is less than 100%"
