"""Coverage thresholds, evaluated on coverage.py's JSON report (format 3).

Everything here is pure: the report is the dict that ``coverage json`` writes
(or ``CoverageData`` turned into the same shape), and each check returns a
``Shortfall`` describing one missed threshold, or nothing. Rounding and the
displayed numbers are coverage.py's own (``should_fail_under``,
``display_covered``), so a total that ``coverage report --fail-under``
accepts is accepted here too, with whichever coverage version is installed,
and is printed the same way.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

_SUMMED = ("num_statements", "covered_lines", "num_branches", "covered_branches")


def percent(covered: int, total: int) -> float:
    """``covered`` as a percentage of ``total``; 100.0 when there is nothing to cover."""
    return 100.0 * covered / total if total else 100.0


def _count(summary: Mapping[str, Any], key: str) -> int:
    # Branch counts are only in reports of runs measured with branch coverage.
    return int(summary.get(key) or 0)


def summary_percent(summary: Mapping[str, Any]) -> float:
    """The percentage coverage.py computes for a summary: lines and branches together."""
    return percent(
        _count(summary, "covered_lines") + _count(summary, "covered_branches"),
        _count(summary, "num_statements") + _count(summary, "num_branches"),
    )


def display_percent(value: float, precision: int) -> str:
    """``value`` as coverage.py displays a total at ``precision`` decimals, with a ``%`` sign.

    Rounding never reaches a boundary: a value above 0 never shows as 0, and a
    value below 100 never shows as 100 (99.999 at precision 2 is ``99.99%``).
    """
    from coverage.results import display_covered

    return f"{display_covered(value, precision)}%"


def _number(value: float) -> str:
    # A configured minimum is shown as the user wrote it: 100 -> "100", 87.50 -> "87.5".
    return format(Decimal(repr(float(value))).normalize(), "f")


@dataclass(frozen=True)
class Shortfall:
    """One missed coverage threshold, printed by ``line()``.

    ``actual`` is None when a rule matched no measured file. ``minimum`` is the
    value ``actual`` had to reach. When ``baseline`` is set (a ratchet), the line
    compares with the baseline and ``basis`` says where it came from and how
    much it may drop; ``minimum`` is then the baseline less that tolerance.
    """

    label: str
    actual: float | None
    minimum: float
    precision: int
    detail: str = ""
    baseline: float | None = None
    basis: str = ""

    def line(self) -> str:
        """The one-line message, such as ``Coverage failure: total: 84.20% is less than 90%``."""
        if self.actual is None:
            sentence = f"matches no measured file (minimum {_number(self.minimum)}%)"
        else:
            target = (
                display_percent(self.baseline, self.precision)
                if self.baseline is not None
                else f"{_number(self.minimum)}%"
            )
            sentence = f"{display_percent(self.actual, self.precision)} is less than {target}"
        if self.basis:
            sentence += f" ({self.basis})"
        if self.detail:
            sentence += f"; {self.detail}"
        return f"Coverage failure: {self.label}: {sentence}"


def check_total(report: Mapping[str, Any], minimum: float, precision: int) -> Shortfall | None:
    """The shortfall of the report's total coverage, or None when it meets ``minimum``."""
    actual = summary_percent(report["totals"])
    if _falls_short(actual, minimum, precision):
        return Shortfall("total", actual, minimum, precision)
    return None


def _posix(path: str) -> str:
    # Reports written on Windows use backslashes; rules are written with slashes.
    normal = posixpath.normpath(path.replace("\\", "/"))
    return "" if normal == "." else normal


def _matcher(rule: str, roots: Mapping[str, str]) -> Callable[[str], bool]:
    if rule in roots:
        root = _posix(roots[rule])
        if not root:
            return lambda path: True
        return lambda path: path == root or path.startswith(root + "/")
    pattern = _posix(rule)
    # A pattern naming a directory, such as "shop/payments", covers the files in it.
    return lambda path: fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, pattern + "/*")


def check_paths(
    report: Mapping[str, Any],
    rules: Mapping[str, float],
    precision: int,
    roots: Mapping[str, str] | None = None,
) -> list[Shortfall]:
    """The shortfalls of per-path rules, in the rules' order.

    A rule's key is an app label from ``roots`` (label -> directory, relative to
    the same base as the report's paths), covering every file under that
    directory, or else an fnmatch pattern matched against each report path in
    posix form (``*`` also matches ``/``). The files a rule covers are summed
    into one percentage. A rule covering no file is a shortfall with no actual.
    """
    files = {_posix(path): data["summary"] for path, data in report["files"].items()}
    shortfalls: list[Shortfall] = []
    for rule, minimum in rules.items():
        matches = _matcher(rule, roots or {})
        summaries = [summary for path, summary in files.items() if matches(path)]
        if not summaries:
            shortfalls.append(Shortfall(rule, None, minimum, precision))
            continue
        actual = summary_percent(
            {key: sum(_count(summary, key) for summary in summaries) for key in _SUMMED}
        )
        if _falls_short(actual, minimum, precision):
            shortfalls.append(Shortfall(rule, actual, minimum, precision))
    return shortfalls


@dataclass(frozen=True)
class DiffCoverage:
    """Coverage of the executable lines a diff changed.

    ``uncovered`` maps repository-relative paths to their changed lines that did
    not run, sorted; files whose changed lines all ran are not in it.
    """

    covered: int
    total: int
    uncovered: dict[str, list[int]]

    @property
    def percent(self) -> float:
        """Covered changed lines as a percentage; 100.0 when no executable line changed."""
        return percent(self.covered, self.total)


def diff_coverage(
    report: Mapping[str, Any],
    changed: Mapping[str, set[int]],
    to_report_path: Callable[[str], str | None],
) -> DiffCoverage:
    """Coverage of the ``changed`` lines (repository-relative path -> line numbers).

    ``to_report_path`` turns a repository path into its key in the report, or
    None for a file that is not measured; such files, and files missing from the
    report, are left out. Only executable lines count (run or missed ones;
    excluded lines, comments and blank lines do not).
    """
    files = report["files"]
    covered = total = 0
    uncovered: dict[str, list[int]] = {}
    for path in sorted(changed):
        key = to_report_path(path)
        if key is None or key not in files:
            continue
        executed = set(files[key].get("executed_lines", ()))
        executable = executed | set(files[key].get("missing_lines", ()))
        lines = set(changed[path]) & executable
        total += len(lines)
        covered += len(lines & executed)
        if lines - executed:
            uncovered[path] = sorted(lines - executed)
    return DiffCoverage(covered, total, uncovered)


def format_ranges(lines: Iterable[int]) -> str:
    """Line numbers as sorted ranges: ``[1, 2, 3, 7, 9, 10]`` -> ``"1-3, 7, 9-10"``."""
    ranges: list[list[int]] = []
    for line in sorted(set(lines)):
        if ranges and line == ranges[-1][1] + 1:
            ranges[-1][1] = line
        else:
            ranges.append([line, line])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def uncovered_lines(diff: DiffCoverage) -> list[str]:
    """One ``path:ranges`` string per file with uncovered changed lines, sorted by path."""
    return [f"{path}:{format_ranges(lines)}" for path, lines in sorted(diff.uncovered.items())]


def check_diff(diff: DiffCoverage, minimum: float, precision: int, base: str) -> Shortfall | None:
    """The shortfall of the changed lines' coverage, or None when it meets ``minimum``."""
    if not _falls_short(diff.percent, minimum, precision):
        return None
    missed = diff.total - diff.covered
    detail = f"{missed} of {diff.total} changed lines {'is' if missed == 1 else 'are'} not covered"
    return Shortfall(f"changed lines since {base}", diff.percent, minimum, precision, detail)


def check_baseline(
    actual: float,
    baseline: float | None,
    tolerance: float,
    precision: int,
    where: str,
    *,
    label: str = "total",
) -> Shortfall | None:
    """The shortfall when ``actual`` dropped more than ``tolerance`` points below ``baseline``.

    Both percentages are first rounded to ``precision`` decimals, and the drop
    is computed in decimal so that a drop of exactly ``tolerance`` passes.
    No baseline (the first run) never fails. ``where`` names the baseline file.
    """
    if baseline is None:
        return None
    drop = Decimal(repr(round(baseline, precision))) - Decimal(repr(round(actual, precision)))
    if drop <= Decimal(repr(float(tolerance))):
        return None
    basis = f"baseline in {where}, tolerance {_number(tolerance)}"
    return Shortfall(
        label, actual, baseline - tolerance, precision, baseline=baseline, basis=basis
    )


def _falls_short(actual: float, minimum: float, precision: int) -> bool:
    """coverage.py's own verdict on ``actual`` against ``minimum`` at ``precision``."""
    # Imported here, so that a run without coverage never imports coverage.py.
    from coverage.results import should_fail_under

    failed: bool = should_fail_under(actual, minimum, precision)
    return failed
