#!/usr/bin/env python
"""Time Django's DiscoverRunner and TestkitRunner on real third-party apps' own test suites.

Every suite (``realsuite_recipes.RECIPES``) is set up from its pinned PyPI sdist into
the cache directory and run through one ``manage.py`` by both runners with the same
labels. Per suite: the outcomes of Django's and ours (serial, and ours ``--parallel 2``)
from ``-v 2`` runs must agree test by test; then five commands are timed interleaved
(Django and ours serial, Django and ours ``--parallel 2``, ours serial ``--cov``, and the
same ``--cov`` relaunched without the start-up hook), and the ``--parallel 2`` runs are
set against a true lower bound made of ours serial's class times (``realsuite_bound``).
``-v 2``
adds a CPU and phase accounting of one run of ours ``--parallel 2``, ``-v 3`` a cProfile
of its parent process. Run from the repository root: ``python bench/real_suites.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from realsuite_accounting import Accounting, account, profile_total, side_by_side, top_own
from realsuite_bound import Samples
from realsuite_outcomes import compare, parse_outcomes, ran_count, summary
from realsuite_recipes import RECIPES, Prepared, prepare
from timing import (
    BenchmarkError,
    Command,
    add_timing_arguments,
    capture,
    config_from_args,
    cpu_ratio,
    format_table,
    paired_ratio,
    results_as_data,
    run_benchmark,
    scrub_environment,
    write_json,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = REPO_ROOT / "bench" / "out" / "real_suites"
DJANGO = "django.test.runner.DiscoverRunner"
OURS = "django_testkit.TestkitRunner"
SCRUBBED_PREFIXES = ("TESTKIT_", "COVERAGE_", "COV_CORE_")
SCRUBBED_NAMES = ("DJANGO_SETTINGS_MODULE", "PYTHONDONTWRITEBYTECODE", "PYTEST_ADDOPTS")
#: (numerator, denominator, label) of the ratios printed per suite.
RATIOS = (
    ("ours-serial", "django-serial", "ours/Django serial"),
    ("ours-par2", "django-par2", "ours/Django --parallel 2"),
    ("ours-cov", "ours-serial", "ours --cov/ours"),
    ("ours-cov-relaunch", "ours-serial", "ours --cov, relaunched/ours"),
)

SHAPE_PROBE = """
import json, sys, django
from django.conf import settings
from django.test import TestCase, TransactionTestCase
from django.test.runner import DiscoverRunner
django.setup()
classes, transaction, used, tests = set(), set(), set(), 0
def walk(suite):
    for item in suite:
        yield from (walk(item) if hasattr(item, "__iter__") else [item])
for test in walk(DiscoverRunner(verbosity=0).build_suite(sys.argv[1:])):
    tests += 1
    cls = type(test)
    classes.add(cls)
    if issubclass(cls, TransactionTestCase) and not issubclass(cls, TestCase):
        transaction.add(cls)
    dbs = getattr(cls, "databases", ())
    used.update(settings.DATABASES if dbs == "__all__" else dbs)
print(json.dumps({"tests": tests, "classes": len(classes),
    "transaction_test_case_classes": len(transaction),
    "aliases": sorted(settings.DATABASES), "aliases_used_by_tests": sorted(used)}))
"""


def manage(suite: Prepared, runner: str, *extra: str) -> list[str]:
    return [
        str(suite.python), "manage.py", "test", *suite.recipe.labels,
        "--noinput", "--testrunner", runner, *extra,
    ]  # fmt: skip


def durations_file(suite: Prepared, cache: Path) -> Path:
    return cache / "durations" / f"{suite.recipe.name}.json"


def probe_shape(suite: Prepared) -> dict[str, Any]:
    argv = [str(suite.python), "-c", SHAPE_PROBE, *suite.recipe.labels]
    env = {**suite.env(REPO_ROOT), "DJANGO_SETTINGS_MODULE": suite.recipe.settings}
    done = capture(Command("shape", argv, suite.project, env), timeout=300)
    if done.returncode:
        raise BenchmarkError(f"shape probe failed:\n{done.stderr[-2000:]}")
    shape: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return shape


def check_outcomes(suite: Prepared, cache: Path, timeout: float) -> tuple[int, int, list[str]]:
    """Run -v 2 once each; return Django's exit status, its test count and the mismatches.

    Ours ``--parallel 2`` here is also the untimed run that records the durations.
    """
    env = suite.env(REPO_ROOT)
    durations = ("--durations-file", str(durations_file(suite, cache)))
    runs = {
        "django": manage(suite, DJANGO, "-v", "2"),
        "ours": manage(suite, OURS, "-v", "2"),
        "ours --parallel 2": manage(suite, OURS, "-v", "2", "--parallel", "2", *durations),
    }
    done = {name: capture(Command(name, argv, suite.project, env), timeout)
            for name, argv in runs.items()}  # fmt: skip
    outcomes = {name: parse_outcomes(run.stderr) for name, run in done.items()}
    base = done["django"]
    print(f"  outcomes (django, -v 2): {summary(outcomes['django'])}; exit {base.returncode}")
    mismatches: list[str] = []
    differing = {
        test
        for name in runs
        for test in set(outcomes["django"]) | set(outcomes[name])
        if outcomes["django"].get(test) != outcomes[name].get(test)
    }
    fragile = order_dependent(suite, differing, outcomes["django"], timeout)
    for name, run in done.items():
        if name == "django":
            continue
        if run.returncode != base.returncode and not set(fragile) >= differing:
            mismatches.append(f"exit status: django {base.returncode}, {name} {run.returncode}")
        if ran_count(run.stderr) != ran_count(base.stderr):
            mismatches.append(
                f"Ran N tests: django {ran_count(base.stderr)}, {name} {ran_count(run.stderr)}"
            )
        lines = compare(outcomes["django"], outcomes[name], ("django", name))
        mismatches += [line for line in lines if line.split(":", 1)[0] not in fragile]
    for test, reversed_outcome in sorted(fragile.items()):
        print(
            f"  order-dependent in the suite itself, not counted: {test} is "
            f"{outcomes['django'].get(test)} in Django's order, {reversed_outcome} under "
            "Django's own runner with --reverse"
        )
    count = ran_count(base.stderr)
    if count is None or not outcomes["django"]:
        mismatches.append("django's -v 2 run printed no test results")
    return base.returncode, count or 0, mismatches


def order_dependent(
    suite: Prepared, tests: set[str], django: dict[str, str], timeout: float
) -> dict[str, str]:
    """Those of ``tests`` that change outcome under Django's own runner when only the order
    changes (``--reverse``), with that outcome: the suite's isolation decides them."""
    if not tests:
        return {}
    argv = manage(suite, DJANGO, "-v", "2", "--reverse")
    run = capture(Command("django --reverse", argv, suite.project, suite.env(REPO_ROOT)), timeout)
    reversed_outcomes = parse_outcomes(run.stderr)
    return {
        test: reversed_outcomes.get(test, "(absent)")
        for test in tests
        if reversed_outcomes.get(test) != django.get(test)
    }


def timed_commands(
    suite: Prepared, cache: Path, status: int, tests: int, bound_samples: Samples
) -> list[Command]:
    env = suite.env(REPO_ROOT)
    durations = ("--durations-file", str(durations_file(suite, cache)))
    # Ours serial records its class times apart, for the --parallel 2 lower bound.
    serial_store = ("--durations-file", str(bound_samples.store))
    cov = ("--cov", suite.recipe.cov_source, "--cov-report", "term")
    argvs = {
        "django-serial": manage(suite, DJANGO),
        "ours-serial": manage(suite, OURS, *serial_store),
        "django-par2": manage(suite, DJANGO, "--parallel", "2"),
        "ours-par2": manage(suite, OURS, "--parallel", "2", *durations),
        "ours-cov": manage(suite, OURS, *cov),
    }
    # The same --cov without the start-up hook: the command starts again under coverage.
    argvs["ours-cov-relaunch"] = argvs["ours-cov"]
    extra_env = {"ours-cov-relaunch": {"TESTKIT_NO_STARTUP_HOOK": "1"}}
    expect = (f"Ran {tests} test",)
    return [
        Command(
            name,
            argv,
            suite.project,
            {**env, **extra_env.get(name, {})},
            expect_returncode=status,
            expect_output=expect,
            verify=bound_samples if name == "ours-serial" else None,
        )
        for name, argv in argvs.items()
    ]


def bench_suite(suite: Prepared, args: argparse.Namespace, cache: Path) -> dict[str, Any]:
    recipe = suite.recipe
    print(f"\n== {recipe.name} {recipe.version}: {recipe.shape}", flush=True)
    shape = probe_shape(suite)
    print(
        f"  {shape['tests']} tests in {shape['classes']} classes, "
        f"{shape['transaction_test_case_classes']} TransactionTestCase classes; aliases "
        f"{', '.join(shape['aliases'])} "
        f"(used by tests: {', '.join(shape['aliases_used_by_tests'])})"
    )
    durations_file(suite, cache).unlink(missing_ok=True)
    durations_file(suite, cache).parent.mkdir(parents=True, exist_ok=True)
    status, tests, mismatches = check_outcomes(suite, cache, args.timeout)
    if mismatches:
        print(f"  OUTCOME MISMATCHES ({len(mismatches)}):")
        for line in mismatches:
            print(f"    {line}")
    else:
        print("  outcomes match: django serial = ours serial = ours --parallel 2")
    config = config_from_args(args)
    bound_samples = Samples(cache / "durations" / f"{recipe.name}-serial.json")
    results = run_benchmark(
        timed_commands(suite, cache, status, tests, bound_samples),
        config,
        progress=lambda message: print(f"  {message}", flush=True),
    )
    print()
    print(format_table(results, "django-serial"))
    by_name = {result.command.name: result for result in results}
    suite_ratios = {label: by_name[a].median / by_name[b].median for a, b, label in RATIOS}
    for a, b, label in RATIOS:
        paired, cpu = paired_ratio(by_name[a], by_name[b]), cpu_ratio(by_name[a], by_name[b])
        print(
            f"  {label}: {suite_ratios[label]:.3f} (paired per round "
            f"{paired if paired is None else f'{paired:.3f}'}; CPU "
            f"{cpu if cpu is None else f'{cpu:.3f}'})"
        )
    data = results_as_data(results, "django-serial", config)
    data["bound"] = parallel_bound(bound_samples, by_name)
    data.update(
        suite=recipe.name, package=recipe.pin, shape=shape, exit_status=status,
        mismatches=mismatches, ratios=suite_ratios, labels=list(recipe.labels),
    )  # fmt: skip
    if args.verbosity >= 2:
        accounting(suite, args, cache, data)
    return data


def parallel_bound(bound_samples: Samples, by_name: dict[str, Any]) -> dict[str, float]:
    """Print and return the --parallel 2 runs against a true lower bound."""
    bound = bound_samples.bound()
    django, ours = by_name["django-par2"], by_name["ours-par2"]
    print(
        f"  lower bound for --parallel 2 (ours-serial's class times and fixed cost, minimum "
        f"over its {len(bound_samples.fixed)} runs): fixed {bound.fixed:.3f}s + max(longest "
        f"class {bound.longest:.3f}s, total {bound.total:.3f}s / 2) = {bound.seconds:.3f}s"
    )
    # The bound is made of minima: the fastest parallel run is its like; the median adds
    # the machine's noise.
    ratios = {
        name: f"{result.minimum / bound.seconds:.3f} ({result.median / bound.seconds:.3f})"
        for name, result in (("django", django), ("ours", ours))
    }
    print(
        f"  --parallel 2 / bound, fastest run (median): django {ratios['django']}, ours "
        f"{ratios['ours']}, goal ours <= 1.05; the bound is "
        f"{bound.seconds / django.minimum:.3f} of Django's fastest run (ours <= 0.9 x Django "
        "is due where that is <= 0.9)"
    )
    return {
        "fixed": bound.fixed, "longest": bound.longest, "total": bound.total,
        "seconds": bound.seconds,
        "django_par2_min": django.minimum / bound.seconds,
        "ours_par2_min": ours.minimum / bound.seconds,
        "django_par2_median": django.median / bound.seconds,
        "ours_par2_median": ours.median / bound.seconds,
    }  # fmt: skip


#: Runs of each runner in the side-by-side accounting (-v 2), alternating.
ACCOUNTING_ROUNDS = 3


def accounting(
    suite: Prepared, args: argparse.Namespace, cache: Path, data: dict[str, Any]
) -> None:
    extra = ("-v", "2", "--timing", "--parallel", "2")
    argvs = {
        "django": manage(suite, DJANGO, *extra),
        "ours": manage(suite, OURS, *extra, "--durations-file", str(durations_file(suite, cache))),
    }
    print(
        f"\n  accounting of --parallel 2 (-v 2 --timing), median of {ACCOUNTING_ROUNDS} runs "
        "of each, alternating:"
    )
    runs: dict[str, list[Accounting]] = {name: [] for name in argvs}
    for round_number in range(ACCOUNTING_ROUNDS):
        order = list(argvs) if round_number % 2 == 0 else list(reversed(argvs))
        for name in order:
            runs[name].append(
                account(argvs[name], suite.project, suite.env(REPO_ROOT), args.timeout)
            )
    for line in side_by_side(runs):
        print(f"  {line}")
    data["accounting"] = {name: [run.as_data() for run in done] for name, done in runs.items()}
    argv = argvs["ours"]
    profiles = cache / "profiles" / suite.recipe.name
    shutil.rmtree(profiles, ignore_errors=True)
    profiled = [argv[0], str(REPO_ROOT / "bench" / "profile_run.py"), str(profiles), *argv[1:]]
    subprocess.run(profiled, cwd=suite.project, env={**os.environ,
                   **suite.env(REPO_ROOT)}, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=args.timeout, check=False)  # fmt: skip
    count = 25 if args.verbosity >= 3 else 12
    parent = profiles / "parent.prof"
    workers = sorted(profiles.glob("worker-*.prof"), key=profile_total, reverse=True)
    shown = [("the parent", parent), *(("the busiest worker", path) for path in workers[:1])]
    for title, path in shown:
        if path.exists():
            print(f"\n  cProfile of {title} ({path}), top {count} by own time:")
            print(top_own(path, count))
    data["profiles"] = [str(path) for path in (parent, *workers)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="append", choices=sorted(RECIPES), help="repeatable")
    parser.add_argument("--list", action="store_true", help="list the suites and exit")
    parser.add_argument("--python", type=Path, default=Path(sys.executable))
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--setup-only", action="store_true", help="set up the suites and exit")
    parser.add_argument("-v", "--verbosity", type=int, choices=(1, 2, 3), default=1)
    add_timing_arguments(parser, repeat=3)
    args = parser.parse_args(argv)
    if args.list:
        for recipe in RECIPES.values():
            print(f"{recipe.name:<16} {recipe.pin:<30} {recipe.shape}")
        return 0
    cache = args.cache.resolve()
    scrubbed = scrub_environment(SCRUBBED_PREFIXES, SCRUBBED_NAMES)
    chosen = [RECIPES[name] for name in (args.suite or RECIPES)]
    print(f"python {args.python}; cache {cache}; repo {REPO_ROOT}"
          + (f"; unset for the runs: {', '.join(scrubbed)}" if scrubbed else ""))  # fmt: skip
    suites = [prepare(recipe, args.python, cache) for recipe in chosen]
    if args.setup_only:
        for suite in suites:
            print(f"{suite.recipe.name}: {suite.project} (python {suite.python})")
        return 0
    report: list[dict[str, Any]] = []
    try:
        for suite in suites:
            report.append(bench_suite(suite, args, cache))
    except BenchmarkError as exc:
        print(f"BENCHMARK FAILED: {exc}", file=sys.stderr)
        return 1
    if args.json:
        write_json(args.json, {"benchmark": "real_suites", "suites": report})
        print(f"wrote {args.json}")
    mismatched = [data["suite"] for data in report if data["mismatches"]]
    if mismatched:
        print(f"outcomes differ between the runners in: {', '.join(mismatched)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
