"""After the run: combine coverage, write the reports, check every threshold.

Output order: the reports (the terminal table first), then the lines of the
verdict (:mod:`django_testkit.cov.verdict`), one per threshold shortfall.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from coverage.exceptions import NoDataError

from django_testkit import files
from django_testkit.cov import gitdiff, reports, thresholds
from django_testkit.cov.thresholds import Shortfall
from django_testkit.cov.verdict import Findings, decide
from django_testkit.exceptions import ConfigurationError, TestkitError
from django_testkit.git import top_level
from django_testkit.options import Source


def app_roots(rules: dict[str, float]) -> dict[str, str]:
    """The folder (relative to the current one) of each installed app a rule names."""
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
    root = top_level(cwd)
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


def read_baseline(path: Path) -> float | None:
    """The total recorded in the baseline file at ``path``; None when there is no file yet.

    A file that is not a JSON object with a ``"total"`` percentage, or a path
    that is not a regular file (a directory, a FIFO...), raises a one-line
    ``ConfigurationError``: a ratchet that cannot read its baseline must not pass.
    """
    kind = files.kind_of(path)
    if kind == files.MISSING:
        return None
    problem = ""
    if kind != files.REGULAR:
        problem = "it is not a regular file"
    else:
        try:
            data = json.loads(path.read_bytes())
        except OSError as error:
            problem = f"it cannot be read ({error.strerror or error})"
        except (ValueError, RecursionError) as error:
            problem = f"it is not valid JSON ({' '.join(str(error).split())[:80]})"
        else:
            total = data.get("total") if isinstance(data, dict) else None
            if (
                isinstance(total, int | float)
                and not isinstance(total, bool)
                and 0 <= total <= 100
            ):
                return float(total)
            problem = 'it has no "total" percentage'
    raise ConfigurationError(
        f"--cov-baseline = {str(path)!r} cannot be used: {problem}; fix the file, or delete "
        'it to start again (it should read {"total": 87.5}; --cov-update-baseline writes it).'
    )


def check_baseline_before_the_run(config: Any) -> None:
    """Stop before any database when the baseline cannot be read or, to raise it, written."""
    if not config.cov_baseline:
        return
    path = Path(config.cov_baseline)
    read_baseline(path)
    if config.cov_update_baseline:
        files.check_destination(path, "--cov-baseline", ".testkit/coverage-baseline.json")


def _baseline(config: Any, total: float, precision: int, all_good: bool) -> list[Any]:
    path = Path(config.cov_baseline)
    recorded = read_baseline(path)
    found: list[Any] = []
    shortfall = thresholds.check_baseline(
        total, recorded, config.cov_baseline_tolerance, precision, str(path)
    )
    if shortfall is not None:
        found.append(shortfall)
    elif config.cov_update_baseline and all_good and (recorded is None or total > recorded):
        files.write_text(path, json.dumps({"total": round(total, 4)}) + "\n")
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


def shortfalls(
    config: Any, cov: Any, report: dict[str, Any], failed: int, roots: Any = app_roots
) -> list[Any]:
    """Every threshold's shortfall and note; ``roots`` finds the apps that rules name."""
    precision = int(cov.get_option("report:precision") or 0)
    found: list[Any] = []
    minimum = _total_minimum(config, cov)
    if minimum is not None:
        found.append(thresholds.check_total(report, minimum, precision))
    rules = config.cov_fail_under_paths
    if rules:
        found.extend(thresholds.check_paths(report, rules, precision, roots(rules)))
    if config.diff_fail_under is not None:
        found.extend(_diff(config, report, precision))
    if config.cov_baseline:
        total = thresholds.summary_percent(report.get("totals", {}))
        all_good = not any(isinstance(item, Shortfall) for item in found)
        found.extend(_baseline(config, total, precision, all_good and not failed))
    return [item for item in found if item is not None]


def _not_written(what: str, error: OSError, cov: Any) -> str:
    reason = error.strerror or str(error)
    where = f" to {error.filename}" if error.filename else ""
    return (
        f"{what} could not be written{where} ({reason}); the coverage data is kept in "
        f"{cov.get_data().data_filename()}."
    )


def _write_reports(cov: Any, specs: Any, out: Any) -> bool:
    """Write every report, the table first; one line per report that cannot be written."""
    written = True
    for spec in sorted(specs, key=lambda spec: not spec.to_terminal):
        try:
            where = reports.write_report(cov, spec, out)
        except OSError as error:
            if not error.filename:
                error.filename = spec.dest
            print(
                f"Coverage: {_not_written(f'the {spec.kind} report', error, cov)}", file=sys.stderr
            )
            written = False
            continue
        if where:
            print(where, file=out)
    return written


def report_and_check(runner: Any, coverage_on: Any, failed: int, incomplete: str) -> int:
    """Write the reports, print the verdict's lines; its exit status.

    ``failed`` tests failed; ``incomplete`` says why the coverage data misses
    part of the run. See :func:`django_testkit.cov.verdict.decide`.
    """
    verdict = decide(failed, findings(runner, coverage_on, failed), incomplete)
    for line in verdict.lines:
        print(line, file=sys.stderr)
    return verdict.status


def findings(runner: Any, coverage_on: Any, failed: int) -> Findings:
    """Combine the data, write every report (the table first), then check the thresholds.

    A report that cannot be written is one line, printed here, and the data is kept.
    """
    cov = coverage_on.session.finish()
    return assess(cov, coverage_on.reports, runner.config, runner.whole_suite, failed)


def assess(
    cov: Any, specs: Any, config: Any, whole_suite: bool, failed: int, roots: Any = app_roots
) -> Findings:
    """Write the reports ``specs`` of the combined data ``cov``, then check the thresholds
    of ``config``; ``roots`` finds the folders of the apps that path rules name."""
    try:
        written = _write_reports(cov, specs, sys.stdout)
        report = reports.numbers(cov) if has_thresholds(config, cov) else None
    except NoDataError:
        return Findings(no_data=True)
    try:
        found = shortfalls(config, cov, report, failed, roots) if report is not None else []
    except TestkitError as exc:
        return Findings(problem=f"Coverage: {exc}", reports_written=written)
    except OSError as exc:
        problem = f"Coverage: {_not_written('the baseline', exc, cov)}"
        return Findings(problem=problem, reports_written=written)
    return Findings(
        tuple(found),
        reports_written=written,
        whole_suite=whole_suite,
        total_from_command_line=config.origin("cov_fail_under") is Source.COMMAND_LINE,
    )
