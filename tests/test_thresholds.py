"""Coverage thresholds on coverage.py JSON reports: rounding, rules, changed lines, baselines."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from django_testkit.cov.thresholds import (
    DiffCoverage,
    Shortfall,
    check_baseline,
    check_diff,
    check_paths,
    check_total,
    diff_coverage,
    display_percent,
    format_ranges,
    percent,
    summary_percent,
    uncovered_lines,
)
from django_testkit.exceptions import ConfigurationError
from django_testkit.specs import parse_minimum, parse_rules

SUMMED = ("num_statements", "covered_lines", "missing_lines")
BRANCHES = ("num_branches", "covered_branches", "missing_branches")


def summary(statements: int, covered: int, branches: int = 0, taken: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = {
        "num_statements": statements,
        "covered_lines": covered,
        "missing_lines": statements - covered,
    }
    if branches:
        data.update(
            num_branches=branches, covered_branches=taken, missing_branches=branches - taken
        )
    data["percent_covered"] = summary_percent(data)
    return data


def file_entry(executed: Iterable[int], missing: Iterable[int] = (), **extra: Any) -> Any:
    executed, missing = sorted(executed), sorted(missing)
    return {
        "executed_lines": executed,
        "missing_lines": missing,
        "excluded_lines": extra.pop("excluded", []),
        "summary": summary(len(executed) + len(missing), len(executed), **extra),
    }


def report(files: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    totals = {
        key: sum(entry["summary"].get(key, 0) for entry in files.values())
        for key in SUMMED + BRANCHES
    }
    totals["percent_covered"] = summary_percent(totals)
    return {"meta": {"format": 3}, "files": dict(files), "totals": totals}


@pytest.mark.parametrize(
    ("covered", "total", "expected"), [(0, 0, 100.0), (0, 5, 0.0), (1, 2, 50.0), (3, 4, 75.0)]
)
def test_percent(covered: int, total: int, expected: float) -> None:
    assert percent(covered, total) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"num_statements": 10, "covered_lines": 8}, 80.0),
        ({"num_statements": 0, "covered_lines": 0}, 100.0),
        ({}, 100.0),
        (summary(10, 8, branches=10, taken=4), 60.0),
        (summary(6, 6, branches=2, taken=0), 75.0),
        ({"num_statements": 3, "covered_lines": 3, "num_branches": None}, 100.0),
    ],
)
def test_summary_percent_counts_lines_and_branches(data: dict[str, Any], expected: float) -> None:
    assert summary_percent(data) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "precision", "expected"),
    [
        (93.1, 2, "93.10%"),
        (100.0, 0, "100%"),
        (100.0, 2, "100.00%"),
        (0.0, 0, "0%"),
        (0.0, 2, "0.00%"),
        (99.9, 0, "99%"),
        (99.5, 0, "99%"),
        (99.999, 2, "99.99%"),
        (99.99999, 3, "99.999%"),
        (0.1, 0, "1%"),
        (0.001, 0, "1%"),
        (0.001, 2, "0.01%"),
        (0.01, 2, "0.01%"),
        (1.0, 0, "1%"),
        (99.0, 0, "99%"),
        (50.4, 0, "50%"),
        (50.6, 0, "51%"),
        (87.125, 1, "87.1%"),
    ],
)
def test_display_percent(value: float, precision: int, expected: str) -> None:
    assert display_percent(value, precision) == expected


@pytest.mark.parametrize(
    ("shortfall", "expected"),
    [
        (
            Shortfall("shop/payments/*", 93.1, 100, 2),
            "Coverage failure: shop/payments/*: 93.10% is less than 100%",
        ),
        (Shortfall("total", 87.25, 87.5, 1), "Coverage failure: total: 87.2% is less than 87.5%"),
        (Shortfall("total", 99.999, 100.0, 0), "Coverage failure: total: 99% is less than 100%"),
        (Shortfall("billing", 0.001, 50, 0), "Coverage failure: billing: 1% is less than 50%"),
        (
            Shortfall("shop/paymnts/*", None, 100, 2),
            "Coverage failure: shop/paymnts/*: matches no measured file (minimum 100%)",
        ),
        (
            Shortfall("x", None, 87.50, 2),
            "Coverage failure: x: matches no measured file (minimum 87.5%)",
        ),
        (
            Shortfall("total", 80.0, 90, 2, detail="3 files"),
            "Coverage failure: total: 80.00% is less than 90%; 3 files",
        ),
    ],
)
def test_shortfall_line(shortfall: Shortfall, expected: str) -> None:
    assert shortfall.line() == expected


def test_check_total() -> None:
    data = report({"a.py": file_entry(range(1, 92), range(92, 101))})
    assert check_total(data, 91, 2) is None
    assert check_total(data, 91.01, 2) == Shortfall("total", 91.0, 91.01, 2)
    assert check_total(data, 100, 0) == Shortfall("total", 91.0, 100, 0)


def test_check_total_with_branches_and_fail_under_100() -> None:
    # 100 statements all run, but one branch of 100 was not taken: 199 / 200.
    data = report({"a.py": file_entry(range(1, 101), branches=100, taken=99)})
    shortfall = check_total(data, 100, 0)
    assert shortfall is not None
    assert shortfall.actual == 99.5
    assert shortfall.line() == "Coverage failure: total: 99% is less than 100%"
    assert check_total(data, 99.5, 0) is None


def test_check_total_of_a_report_without_statements_passes() -> None:
    assert check_total(report({}), 100, 2) is None


PROJECT = report(
    {
        "shop/payments/api.py": file_entry(range(1, 9), [9, 10]),  # 8/10
        "shop/payments/models.py": file_entry(range(1, 11)),  # 10/10
        "shop/cart.py": file_entry([1], [2, 3, 4]),  # 1/4
        "src\\billing\\invoice.py": file_entry(range(1, 5), branches=4, taken=2),  # 6/8
        "./src/billing/tax.py": file_entry([1, 2]),  # 2/2
        "src/billingtools/x.py": file_entry([], [1, 2]),  # 0/2
        "/opt/shared/util.py": file_entry([1], [2]),  # 1/2
    }
)
ROOTS = {"billing": "src/billing", "everything": ".", "pay": "shop/pay"}


@pytest.mark.parametrize(
    ("rule", "actual"),
    [
        ("shop/payments/*", 90.0),  # 18 of 20
        ("shop/payments/api.py", 80.0),
        ("shop/payments", 90.0),  # a directory covers its files
        ("./shop/payments/", 90.0),
        ("shop/*", 19 / 24 * 100),  # * crosses /
        ("*/api.py", 80.0),
        ("shop/*.py", 19 / 24 * 100),
        ("shop/c?rt.py", 25.0),
        ("src/billing/*", 80.0),  # backslashes and ./ are normalised: 8 of 10
        ("billing", 80.0),  # an app label covers its directory, not src/billingtools
        ("src/billing*", 8 / 12 * 100),  # a glob does
        ("everything", 28 / 38 * 100),
        ("/opt/shared/*", 50.0),
    ],
)
def test_check_paths_rule_percentages(rule: str, actual: float) -> None:
    [shortfall] = check_paths(PROJECT, {rule: 100}, 2, ROOTS)
    assert shortfall.label == rule
    assert shortfall.actual == pytest.approx(actual)
    assert check_paths(PROJECT, {rule: round(actual, 2) - 0.01}, 2, ROOTS) == []


@pytest.mark.parametrize("rule", ["shop/paymnts/*", "pay", "shop/pay", "billing", "*.txt"])
def test_a_rule_matching_no_file_is_a_shortfall(rule: str) -> None:
    roots = {"pay": "shop/pay"}
    assert check_paths(PROJECT, {rule: 50}, 2, roots) == [Shortfall(rule, None, 50, 2)]
    assert check_paths(PROJECT, {rule: 50}, 2, roots)[0].line() == (
        f"Coverage failure: {rule}: matches no measured file (minimum 50%)"
    )


def test_check_paths_keeps_the_rules_order_and_only_failures() -> None:
    rules = {"shop/cart.py": 30, "billing": 100, "shop/payments/*": 90, "nothing/*": 1}
    shortfalls = check_paths(PROJECT, rules, 2, ROOTS)
    assert [shortfall.line() for shortfall in shortfalls] == [
        "Coverage failure: shop/cart.py: 25.00% is less than 30%",
        "Coverage failure: billing: 80.00% is less than 100%",
        "Coverage failure: nothing/*: matches no measured file (minimum 1%)",
    ]
    assert check_paths(PROJECT, {}, 2) == []


def test_check_paths_without_roots_reads_labels_as_globs() -> None:
    assert check_paths(PROJECT, {"billing": 10}, 0) == [Shortfall("billing", None, 10, 0)]


def test_check_paths_sums_branches_of_matching_files() -> None:
    data = report(
        {
            "a/x.py": file_entry(range(1, 11), branches=10, taken=5),  # 15/20
            "a/y.py": file_entry(range(1, 11)),  # 10/10, no branch data
        }
    )
    [shortfall] = check_paths(data, {"a/*": 100}, 2)
    assert shortfall.actual == pytest.approx(25 / 30 * 100)
    assert shortfall.line() == "Coverage failure: a/*: 83.33% is less than 100%"


DIFF_REPORT = report(
    {
        "a.py": file_entry([1, 2, 3, 5], [4, 6], excluded=[7]),
        "b.py": file_entry([1, 2], []),
    }
)
REPORT_PATHS = {"src/a.py": "a.py", "src/b.py": "b.py", "src/gone.py": "gone.py"}


def test_diff_coverage_counts_executable_changed_lines() -> None:
    changed = {
        "src/a.py": {1, 4, 6, 7, 8},  # 7 is excluded, 8 is not executable
        "src/b.py": {2, 30},
        "README.md": {1, 2},  # not measured
        "src/gone.py": {1},  # not in the report
    }
    diff = diff_coverage(DIFF_REPORT, changed, REPORT_PATHS.get)
    assert diff == DiffCoverage(covered=2, total=4, uncovered={"src/a.py": [4, 6]})
    assert diff.percent == 50.0
    assert uncovered_lines(diff) == ["src/a.py:4, 6"]


def test_diff_coverage_without_executable_changes_is_complete() -> None:
    diff = diff_coverage(DIFF_REPORT, {"src/a.py": {7, 8}, "README.md": {1}}, REPORT_PATHS.get)
    assert diff == DiffCoverage(0, 0, {})
    assert diff.percent == 100.0
    assert check_diff(diff, 100, 2, "origin/main") is None
    assert diff_coverage(DIFF_REPORT, {}, REPORT_PATHS.get).percent == 100.0


def test_check_diff() -> None:
    diff = DiffCoverage(covered=1, total=3, uncovered={"src/a.py": [4, 6]})
    shortfall = check_diff(diff, 90, 2, "origin/main")
    assert shortfall is not None
    assert shortfall.line() == (
        "Coverage failure: changed lines since origin/main: 33.33% is less than 90%; "
        "2 of 3 changed lines are not covered"
    )
    assert check_diff(diff, 33.33, 2, "origin/main") is None
    one = check_diff(DiffCoverage(9, 10, {"x.py": [3]}), 100, 0, "abc123")
    assert one is not None
    assert one.line().endswith("90% is less than 100%; 1 of 10 changed lines is not covered")


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], ""),
        ([5], "5"),
        ([1, 2], "1-2"),
        ([1, 2, 3, 7, 9, 10], "1-3, 7, 9-10"),
        ([10, 9, 3, 1, 2, 7, 2], "1-3, 7, 9-10"),
        ({4, 6, 8}, "4, 6, 8"),
        (range(1, 101), "1-100"),
    ],
)
def test_format_ranges(lines: Iterable[int], expected: str) -> None:
    assert format_ranges(lines) == expected


def test_uncovered_lines_are_sorted_by_path() -> None:
    diff = DiffCoverage(0, 6, {"shop/cart.py": [20, 12, 13, 14], "api.py": [1], "b/c.py": [3]})
    assert uncovered_lines(diff) == ["api.py:1", "b/c.py:3", "shop/cart.py:12-14, 20"]


BASELINE_FILE = ".testkit/coverage-baseline.json"


@pytest.mark.parametrize(
    ("actual", "baseline", "tolerance", "precision", "fails"),
    [
        (84.0, 85.0, 0.5, 2, True),
        (84.5, 85.0, 0.5, 2, False),  # exactly the tolerance
        (84.49, 85.0, 0.5, 2, True),
        (84.496, 85.0, 0.5, 2, False),  # displayed as 84.50
        (84.6, 85.4, 0.5, 0, False),  # both display as 85
        (84.4, 85.0, 0.5, 0, True),  # 84 against 85
        (84.8, 85.3, 0.5, 2, False),  # 85.3 - 84.8 is 0.5000000000000142 in floats
        (85.2, 85.3, 0, 1, True),
        (85.3, 85.3, 0, 1, False),
        (90.0, 85.0, 0, 2, False),  # improved
        (0.0, None, 0, 2, False),  # no baseline yet
    ],
)
def test_check_baseline(
    actual: float, baseline: float | None, tolerance: float, precision: int, fails: bool
) -> None:
    shortfall = check_baseline(actual, baseline, tolerance, precision, BASELINE_FILE)
    assert (shortfall is not None) is fails


def test_check_baseline_line() -> None:
    shortfall = check_baseline(84.0, 85.0, 0.5, 2, BASELINE_FILE)
    assert shortfall is not None
    assert shortfall.line() == (
        "Coverage failure: total: 84.00% is less than 85.00% "
        "(baseline in .testkit/coverage-baseline.json, tolerance 0.5)"
    )
    assert shortfall.minimum == 84.5
    changed = check_baseline(70.0, 99.999, 1, 0, "b.json", label="changed lines")
    assert changed is not None
    assert changed.line() == (
        "Coverage failure: changed lines: 70% is less than 99% (baseline in b.json, tolerance 1)"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [(90, 90.0), (0, 0.0), (100, 100.0), (87.5, 87.5), ("87.5", 87.5), (" 90 ", 90.0),
     ("1e1", 10.0), ("100.0", 100.0)],
)  # fmt: skip
def test_parse_minimum(value: object, expected: float) -> None:
    assert parse_minimum(value, "--cov-fail-under") == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (True, "is not a percentage"),
        (False, "is not a percentage"),
        (None, "is not a percentage"),
        ("", "is not a percentage"),
        ("ninety", "is not a percentage"),
        ("90%", "is not a percentage"),
        ("nan", "is not a percentage"),
        (math.nan, "is not a percentage"),
        ([90], "is not a percentage"),
        ({"total": 90}, "is not a percentage"),
        (-1, "is outside 0-100"),
        (-0.01, "is outside 0-100"),
        (100.01, "is outside 0-100"),
        ("101", "is outside 0-100"),
        (math.inf, "is outside 0-100"),
        ("-inf", "is outside 0-100"),
        (10**400, "is outside 0-100"),
    ],
)
def test_parse_minimum_rejects(value: object, problem: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_minimum(value, "settings.TESTKIT['COVERAGE_MINIMUM']")
    assert str(caught.value) == (
        f"settings.TESTKIT['COVERAGE_MINIMUM'] = {value!r} {problem}; use a number from 0 to "
        "100, such as 90 or 87.5."
    )


def test_parse_rules() -> None:
    value = {"shop/payments/*": 100, "billing": "90", "a": 87.5}
    assert parse_rules(value, "x") == {"shop/payments/*": 100.0, "billing": 90.0, "a": 87.5}
    assert list(parse_rules(value, "x")) == ["shop/payments/*", "billing", "a"]
    assert parse_rules({}, "x") == {}


WHERE = "settings.TESTKIT['COVERAGE_PATHS']"
FIX = 'write it as {"shop/payments/*": 100, "billing": 90}.'
NOT_RULES = "is not a mapping of paths or app labels to percentages"
NOT_KEY = "which is not a path pattern or app label"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        *[
            (bad, f"{WHERE} = {bad!r} {NOT_RULES}; {FIX}")
            for bad in (None, 90, "shop/*", ["shop/*", 90], [("shop/*", 90)], True)
        ],
        *[
            ({key: 90}, f"{WHERE} has the key {key!r}, {NOT_KEY}; {FIX}")
            for key in (1, "", "  ", None, ("a", "b"))
        ],
        (
            {"shop/*": "all"},
            f"{WHERE}['shop/*'] = 'all' is not a percentage; use a number from 0 to 100, such "
            "as 90 or 87.5.",
        ),
        (
            {"ok": 50, "billing": 150},
            f"{WHERE}['billing'] = 150 is outside 0-100; use a number from 0 to 100, such as 90 "
            "or 87.5.",
        ),
    ],
)  # fmt: skip
def test_parse_rules_rejects(value: object, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_rules(value, WHERE)
    assert str(caught.value) == message
