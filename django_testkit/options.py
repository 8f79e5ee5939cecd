"""The coverage options of ``manage.py test`` (pytest-cov's names) and their CLI values."""

from __future__ import annotations

import argparse
from typing import Any

#: Runner keyword arguments that are coverage options, as the parser names them.
COVERAGE_OPTIONS = (
    "cov",
    "no_cov",
    "cov_report",
    "cov_branch",
    "cov_fail_under",
    "cov_context",
    "cov_config",
    "cov_templates",
    "diff_base",
    "diff_fail_under",
    "cov_baseline",
    "cov_baseline_tolerance",
    "cov_update_baseline",
)


def add_coverage_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("django-testkit: coverage")
    group.add_argument(
        "--cov",
        action="append",
        nargs="?",
        const=True,
        metavar="SOURCE",
        help="Measure coverage; SOURCE (repeatable) is a directory or package to measure "
        "(default: coverage's [run] source, else the project without tests, migrations "
        "and settings).",
    )
    group.add_argument(
        "--cov-report",
        action="append",
        metavar="TYPE[:DEST]",
        help="Report to write (repeatable): term, term-missing, html, xml, json, lcov, "
        "markdown, markdown-append; add :skip-covered to skip full files; --cov-report= "
        "for none (default: term).",
    )
    group.add_argument(
        "--cov-branch", action="store_true", default=None, help="Measure branch coverage."
    )
    group.add_argument(
        "--cov-fail-under",
        metavar="MIN",
        help="Exit with status 2 when total coverage is below MIN percent.",
    )
    group.add_argument(
        "--cov-context",
        choices=("test",),
        help="Record which test ran each line (shown in the HTML report).",
    )
    group.add_argument(
        "--cov-config", metavar="PATH", help="coverage.py configuration file to use."
    )
    group.add_argument("--no-cov", action="store_true", default=None, help="Turn coverage off.")
    group.add_argument(
        "--cov-templates",
        action="store_true",
        default=None,
        help="Also measure Django templates (needs django_coverage_plugin).",
    )
    group.add_argument(
        "--diff-base",
        metavar="REF",
        help="Git revision that changed lines are compared with (default: the merge base "
        "with the main branch).",
    )
    group.add_argument(
        "--diff-fail-under",
        metavar="MIN",
        help="Exit with status 2 when less than MIN percent of the changed executable lines ran.",
    )
    group.add_argument(
        "--cov-baseline",
        metavar="PATH",
        help="Coverage ratchet: fail when total coverage drops below the total in PATH.",
    )
    group.add_argument(
        "--cov-baseline-tolerance",
        metavar="POINTS",
        help="How many percentage points total coverage may drop below the baseline.",
    )
    group.add_argument(
        "--cov-update-baseline",
        action="store_true",
        default=None,
        help="Raise the baseline to this run's total when everything passed.",
    )


def coverage_cli(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the coverage options out of the runner's keyword arguments."""
    cli = {name: kwargs.pop(name, None) for name in COVERAGE_OPTIONS}
    cov = cli["cov"]
    if isinstance(cov, list):
        cli["cov"] = [item for item in cov if item is not True] or True
    return cli
