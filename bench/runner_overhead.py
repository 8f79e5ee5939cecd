#!/usr/bin/env python
"""Overhead of TestkitRunner over Django's DiscoverRunner on a serial run.

Generates about ``--tests`` trivial-but-real tests (20 per class, classes
alternating SimpleTestCase / TestCase, TestCase tests writing one row each) into
a temporary directory, then times ``python manage.py test --noinput`` under both
runners with the same interpreter, interleaved. Goal: testkit/discover <= 1.03.
``TESTKIT_*`` variables, ``DJANGO_SETTINGS_MODULE`` and ``PYTHONDONTWRITEBYTECODE`` are
unset for the runs: a real run imports both runners from cached bytecode (pip compiles
it at install time), so neither pays for compiling its own modules in every run.

Run from the repository root: ``python bench/runner_overhead.py [--tests 2000]
[--repeat 7] [--json out.json]``. Python puts ``bench/`` on ``sys.path`` for a
script, so the sibling modules import as ``projectgen`` and ``timing``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from projectgen import DEFAULT_RUNNER, DISCOVER_RUNNER, RUNNER_ENV, SuiteShape, generate_project
from timing import (
    BenchmarkError,
    Command,
    CommandResult,
    add_timing_arguments,
    config_from_args,
    cpu_ratio,
    format_table,
    paired_ratio,
    ratios,
    results_as_data,
    run_benchmark,
    scratch_directory,
    scrub_environment,
    write_json,
)

GOAL_RATIO = 1.03
SCRUBBED_ENV_PREFIXES = ("TESTKIT_",)
SCRUBBED_ENV_NAMES = ("DJANGO_SETTINGS_MODULE", "PYTHONDONTWRITEBYTECODE")
TESTS_PER_CLASS = 20
BASELINE = "discover"
CANDIDATE = "testkit"


def overhead_shape(tests: int) -> SuiteShape:
    """About ``tests`` tests: 20 per class, half SimpleTestCase, half TestCase."""
    return SuiteShape(
        classes=max(1, round(tests / TESTS_PER_CLASS)),
        tests_per_class=TESTS_PER_CLASS,
        classes_per_module=10,
        base_mix=("SimpleTestCase", "TestCase"),
        assertions=3,
        cpu_loops=200,
        db_writes=1,
    )


def overhead_commands(project: Path, shape: SuiteShape) -> list[Command]:
    argv = [sys.executable, "manage.py", "test", "--noinput"]
    expected = (f"Ran {shape.total_tests} tests", "\nOK")
    return [
        Command(BASELINE, argv, project, {RUNNER_ENV: DISCOVER_RUNNER}, expect_output=expected),
        Command(CANDIDATE, argv, project, {RUNNER_ENV: DEFAULT_RUNNER}, expect_output=expected),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Overhead of TestkitRunner over DiscoverRunner (serial run)."
    )
    parser.add_argument("--tests", type=int, default=2000, help="about how many tests")
    parser.add_argument(
        "--keep", action="store_true", help="keep the generated project and print its path"
    )
    add_timing_arguments(parser, repeat=7)
    args = parser.parse_args(argv)
    config = config_from_args(args)
    shape = overhead_shape(args.tests)
    scrubbed = scrub_environment(SCRUBBED_ENV_PREFIXES, SCRUBBED_ENV_NAMES)
    if scrubbed:
        print(f"unset for the runs: {', '.join(scrubbed)}")

    try:
        with scratch_directory("bench-runner-overhead-", args.keep) as workdir:
            project = generate_project(shape, workdir / "project")
            print(
                f"{shape.total_tests} tests in {shape.classes} classes; {config.warmup} warm-up "
                f"+ {config.repeat} interleaved runs per runner; python {sys.executable}",
                flush=True,
            )
            results = run_benchmark(
                overhead_commands(project, shape),
                config,
                progress=lambda message: print(f"  {message}", flush=True),
            )
    except BenchmarkError as exc:
        print(f"BENCHMARK FAILED: {exc}", file=sys.stderr)
        return 1

    ratio = ratios(results, BASELINE)[CANDIDATE]
    met = ratio <= GOAL_RATIO
    print()
    print(format_table(results, BASELINE))
    print()
    print(f"{CANDIDATE}/{BASELINE} median ratio: {ratio:.3f}{_also(results)}")
    print(f"goal: ratio <= {GOAL_RATIO:.2f} -> {'met' if met else 'NOT met'}")
    if args.json:
        extra = {
            "benchmark": "runner_overhead",
            "tests": shape.total_tests,
            "goal_ratio": GOAL_RATIO,
            "goal_met": met,
        }
        write_json(args.json, results_as_data(results, BASELINE, config, extra))
        print(f"wrote {args.json}")
    return 0


def _also(results: Sequence[CommandResult]) -> str:
    by_name = {result.command.name: result for result in results}
    base, mine = by_name[BASELINE], by_name[CANDIDATE]
    paired, cpu = paired_ratio(mine, base), cpu_ratio(mine, base)
    parts = [f"paired {paired:.3f}" if paired else "", f"CPU {cpu:.3f}" if cpu else ""]
    shown = ", ".join(part for part in parts if part)
    return f" ({shown})" if shown else ""


if __name__ == "__main__":
    raise SystemExit(main())
