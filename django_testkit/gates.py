"""After the run: combine coverage, write the reports, check every threshold.

Output order: the reports (the terminal table first), then one line per
threshold shortfall. The exit status this returns is 0 or 2; the runner
gives test failures (1) precedence.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from coverage.exceptions import NoDataError

from django_testkit import atomic, gitdiff, reports, thresholds
from django_testkit.exceptions import EXIT_OK, EXIT_THRESHOLD_MISSED, TestkitError
from django_testkit.thresholds import Shortfall


def _app_roots(rules: dict[str, float]) -> dict[str, str]:
    from django.apps import apps

    return {
        label: os.path.relpath(apps.app_configs[label].path)
        for label in rules
        if label in apps.app_configs
    }


def _diff(config: Any, report: dict[str, Any], precision: int) -> list[str | Shortfall]:
    """Changed-lines coverage since the diff base: shortfall and uncovered lines."""
    cwd = os.getcwd()
    base, label = config.diff_base, config.diff_base
    if not base:
        named = gitdiff.named_default_base(cwd)
        if named is None:
            return [
                "Coverage: no --diff-base given and no main branch found; changed lines "
                "were not checked."
            ]
        base, label = named[1], f"{named[0]} (merge base {named[1][:10]})"
    root = gitdiff.repo_root(cwd)
    changed = gitdiff.changed_lines(base, cwd)
    keys = {os.path.realpath(key): key for key in report.get("files", {})}

    def to_report_path(path: str) -> str | None:
        return keys.get(os.path.realpath(os.path.join(root or cwd, path)))

    diff = thresholds.diff_coverage(report, changed, to_report_path)
    found: list[str | Shortfall] = [
        f"Coverage of changed lines since {label}: {diff.covered} of {diff.total} "
        f"({thresholds.display_percent(diff.percent, precision)})."
    ]
    shortfall = thresholds.check_diff(diff, config.diff_fail_under, precision, label)
    if shortfall is not None:
        found.append(shortfall)
    for line in thresholds.uncovered_lines(diff):
        found.append(f"  not covered: {line}")
    return found


def _baseline(config: Any, total: float, precision: int, all_good: bool) -> list[Any]:
    path = Path(config.cov_baseline)
    recorded = None
    if path.is_file():
        try:
            recorded = float(json.loads(path.read_text(encoding="utf-8"))["total"])
        except (ValueError, KeyError, TypeError):
            return [f"Coverage: the baseline file {path} is not readable; it was ignored."]
    found: list[Any] = []
    shortfall = thresholds.check_baseline(
        total, recorded, config.cov_baseline_tolerance, precision, str(path)
    )
    if shortfall is not None:
        found.append(shortfall)
    elif config.cov_update_baseline and all_good and (recorded is None or total > recorded):
        atomic.write_text(path, json.dumps({"total": round(total, 4)}) + "\n")
        found.append(
            f"Coverage baseline raised to {thresholds.display_percent(total, precision)} "
            f"in {path}."
        )
    return found


def _total_minimum(config: Any, cov: Any) -> float | None:
    if config.cov_fail_under is not None:
        return float(config.cov_fail_under)
    configured = cov.get_option("report:fail_under")
    return float(configured) if configured else None


def has_thresholds(config: Any, cov: Any) -> bool:
    """Whether anything is to be checked (the figures cost a pass over every file)."""
    return bool(
        _total_minimum(config, cov) is not None
        or config.cov_fail_under_paths
        or config.diff_fail_under is not None
        or config.cov_baseline
    )


def shortfalls(runner: Any, cov: Any, report: dict[str, Any], failed: int) -> list[Any]:
    config = runner.config
    precision = int(cov.get_option("report:precision") or 0)
    found: list[Any] = []
    minimum = _total_minimum(config, cov)
    if minimum is not None:
        found.append(thresholds.check_total(report, minimum, precision))
    rules = config.cov_fail_under_paths
    if rules:
        found.extend(thresholds.check_paths(report, rules, precision, _app_roots(rules)))
    if config.diff_fail_under is not None:
        found.extend(_diff(config, report, precision))
    if config.cov_baseline:
        total = thresholds.summary_percent(report.get("totals", {}))
        all_good = not any(isinstance(item, Shortfall) for item in found)
        found.extend(_baseline(config, total, precision, all_good and not failed))
    return [item for item in found if item is not None]


def report_and_check(runner: Any, coverage_on: Any, failed: int, incomplete: str) -> int:
    """Write the reports, print the shortfalls; EXIT_THRESHOLD_MISSED if one counts."""
    cov = coverage_on.session.finish()
    out = sys.stdout
    try:
        # The table first, then where the files went.
        for spec in sorted(coverage_on.reports, key=lambda spec: not spec.to_terminal):
            where = reports.write_report(cov, spec, out)
            if where:
                print(where, file=out)
        report = reports.numbers(cov) if has_thresholds(runner.config, cov) else None
    except NoDataError:
        print(
            "Coverage: no data was collected; check --cov and coverage's [run] source.",
            file=sys.stderr,
        )
        return EXIT_THRESHOLD_MISSED
    try:
        found = shortfalls(runner, cov, report, failed) if report is not None else []
    except TestkitError as exc:
        print(f"Coverage: {exc}", file=sys.stderr)
        return EXIT_THRESHOLD_MISSED
    missed = False
    for item in found:
        if isinstance(item, Shortfall):
            missed = True
            print(item.line(), file=sys.stderr)
        else:
            print(item, file=sys.stderr)
    if incomplete:
        checked = "; thresholds were checked on what was measured" if found else ""
        print(f"Coverage: the data is incomplete ({incomplete}){checked}.", file=sys.stderr)
    if missed and not runner.whole_suite:
        if runner.cli_fail_under is None:
            print(
                "Coverage thresholds not enforced: only part of the suite ran (test labels, "
                "tags or -k); pass --cov-fail-under to enforce the total.",
                file=sys.stderr,
            )
            return EXIT_OK
        total_failed = any(isinstance(item, Shortfall) and item.label == "total" for item in found)
        return EXIT_THRESHOLD_MISSED if total_failed else EXIT_OK
    return EXIT_THRESHOLD_MISSED if missed else EXIT_OK
