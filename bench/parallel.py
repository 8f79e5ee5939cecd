#!/usr/bin/env python
"""Parallel test runs (2 workers): Django's pool vs TestkitRunner vs pytest-xdist.

Two phases, each timed interleaved by ``timing.py`` (whole-process wall time):

``skew``
    A generated SQLite project of 60 ``TestCase`` classes x 4 tests that burn CPU
    (``--skew-loops`` per test, or calibrated with ``--skew-seconds``) and write one
    row each; the *last* class in discovery order does 8x the work of the others.
    That is where dispatching classes in discovery order hurts most: one worker is
    left alone with the long class at the end. Commands: ``django``
    (``DiscoverRunner``, ``manage.py test --parallel 2``), ``testkit`` (the same with
    ``TestkitRunner``, which schedules longest-first from the durations its untimed
    warm-up run recorded in ``.testkit/durations.json``) and ``xdist`` (``pytest -n 2
    --dist loadscope`` with pytest-django). They are compared with a lower bound,
    ``max(longest unit, total unit time / 2) + fixed cost``. Unit (class) times come
    from two serial runs after the timed rounds (a ``DiscoverRunner`` whose result
    times each class, written into the project), the minimum of the two per class:
    measured while no other test process competes for the CPU, so no schedule on two
    workers can beat the bound (times measured inside a parallel run are inflated by
    the other worker, and a bound made of them was beaten). The fixed cost is the
    median wall time of a ``fixed`` command timed in the same rounds: a serial
    ``TestkitRunner`` run of one test that does nothing, in a copy of the project
    whose tests do no work (same settings, apps, migrations and modules; its own
    directory, so it never touches the timed project's durations file). That is
    what every run pays whatever the scheduling (interpreter and Django start-up,
    checks, test database creation and migrations, teardown); starting workers and
    cloning the database stay in the parallel runs' time, inside the goal's 10 %
    slack. Goals: testkit <= 1.10 x lower bound and testkit <= 0.85 x django.
    Without a usable durations file after the warm-up (a testkit that does not write
    one) the bound is skipped with one line saying so.

``overhead``
    2,000 trivial tests (200 classes x 10, ``SimpleTestCase`` and ``TestCase``
    alternating), ``--parallel 2``: django vs testkit (xdist for information).
    Goal: testkit/django <= 1.0.

Every run must exit 0 and report the expected number of tests (``Ran N tests`` and
``OK``, or ``N passed`` for pytest). ``TESTKIT_*``, ``DJANGO_SETTINGS_MODULE`` and
``PYTEST_ADDOPTS`` are removed from the environment of the runs, and the xdist runs
block every installed pytest plugin but pytest-django and pytest-xdist.

Run from the repository root: ``python bench/parallel.py [--phase skew] [--repeat 5]
[--json out.json]``; ``pip install -e '.[bench]'`` installs pytest-django and
pytest-xdist.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bounds import LowerBound
from project_templates import APP_LABEL
from projectgen import (
    DEFAULT_RUNNER,
    DISCOVER_RUNNER,
    RUNNER_ENV,
    SuiteShape,
    burn,
    generate_project,
)
from timing import (
    BenchmarkError,
    Command,
    CommandResult,
    TimingConfig,
    add_timing_arguments,
    config_from_args,
    format_table,
    ratios,
    results_as_data,
    run_benchmark,
    run_once,
    scratch_directory,
    scrub_environment,
    write_json,
)

PHASES = ("skew", "overhead")
WORKERS = 2
BASELINE = "django"
TESTKIT = "testkit"
XDIST = "xdist"
FIXED = "fixed"
BOUND_GOAL = 1.10  # testkit median / lower bound
SKEW_GOAL = 0.85  # testkit median / django median, skewed suite
OVERHEAD_GOAL = 1.0  # testkit median / django median, trivial tests
DURATIONS_FILE = Path(".testkit") / "durations.json"
#: Serial runs that measure the classes for the lower bound (the minimum is kept).
UNCONTENDED_RUNS = 2
DURATIONS_FORMAT = 1
#: Removed from os.environ (and so from every run) so the caller's shell cannot change
#: what is measured.
SCRUBBED_ENV_PREFIXES = ("TESTKIT_",)
#: (PYTHONDONTWRITEBYTECODE too: real runs import from cached bytecode.)
SCRUBBED_ENV_NAMES = ("DJANGO_SETTINGS_MODULE", "PYTEST_ADDOPTS", "PYTHONDONTWRITEBYTECODE")
#: The only pytest plugins the xdist runs load; every other installed one is blocked.
XDIST_DISTRIBUTIONS = frozenset({"pytest-django", "pytest-xdist"})
OVERHEAD_TESTS_PER_CLASS = 10
#: burn() loops per test of the skewed suite: 67 class-equivalents x 4 tests x 400k is
#: ~107M loops, 10-20 s of serial work on a 2-core VM doing 5-10M loops/s.
DEFAULT_SKEW_LOOPS = 400_000
#: The one test the ``fixed`` command runs (the first test of the first class).
FIXED_TEST_LABEL = f"{APP_LABEL}.tests.test_m000.Case0000.test_0000"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Context:
    """What every phase gets: where to write projects, options, timing, output."""

    workdir: Path
    args: argparse.Namespace
    config: TimingConfig
    progress: Progress
    with_xdist: bool


def loops_per_second(samples: int = 5, loops: int = 1_000_000) -> float:
    """How many ``burn()`` iterations this interpreter does per second (median of samples).

    The median, not the best, of runs about as long as a test's work: short or best-of
    samples overestimate the sustained speed of a busy 2-core VM.
    """
    seconds: list[float] = []
    for _ in range(samples):
        start = time.perf_counter()
        burn(loops)
        seconds.append(time.perf_counter() - start)
    return loops / statistics.median(seconds)


def skew_loops(classes: int, tests_per_class: int, factor: float, serial_seconds: float) -> int:
    """``cpu_loops`` per test for about ``serial_seconds`` of work in all, on this machine."""
    class_units = classes - 1 + factor
    return max(1, round(serial_seconds * loops_per_second() / (class_units * tests_per_class)))


def skew_shape(classes: int, tests_per_class: int, factor: float, loops: int) -> SuiteShape:
    """TestCase classes of ``loops`` CPU work per test; the last class does ``factor`` x."""
    return SuiteShape(
        classes=classes,
        tests_per_class=tests_per_class,
        classes_per_module=10,
        base_mix=("TestCase",),
        assertions=3,
        cpu_loops=loops,
        db_writes=1,
        skew={classes - 1: factor},
    )


def overhead_shape(tests: int) -> SuiteShape:
    """About ``tests`` trivial tests, 10 per class, SimpleTestCase and TestCase alternating."""
    return SuiteShape(
        classes=max(WORKERS, round(tests / OVERHEAD_TESTS_PER_CLASS)),
        tests_per_class=OVERHEAD_TESTS_PER_CLASS,
        classes_per_module=10,
        base_mix=("SimpleTestCase", "TestCase"),
        assertions=3,
    )


def missing_pytest_plugins() -> list[str]:
    """The modules the xdist command needs that this interpreter cannot import."""
    return [name for name in ("pytest_django", "xdist") if importlib.util.find_spec(name) is None]


def other_pytest_plugins() -> list[str]:
    """Installed pytest plugins (entry points) that pytest-django and pytest-xdist are not."""
    names = {
        entry.name
        for entry in importlib.metadata.entry_points(group="pytest11")
        if entry.dist is None or entry.dist.metadata["Name"].lower() not in XDIST_DISTRIBUTIONS
    }
    return sorted(names)


def parallel_commands(project: Path, tests: int, with_xdist: bool) -> list[Command]:
    """django, testkit and (optionally) xdist, each running all ``tests`` with 2 workers."""
    manage = [sys.executable, "manage.py", "test", "--parallel", str(WORKERS), "--noinput"]
    ran = (f"Ran {tests} tests", "\nOK")
    commands = [
        Command(BASELINE, manage, project, {RUNNER_ENV: DISCOVER_RUNNER}, expect_output=ran),
        Command(TESTKIT, manage, project, {RUNNER_ENV: DEFAULT_RUNNER}, expect_output=ran),
    ]
    if with_xdist:
        pytest = [sys.executable, "-m", "pytest", "-n", str(WORKERS), "--dist", "loadscope"]
        pytest += ["-p", "no:cacheprovider", "-q"]
        for name in other_pytest_plugins():
            pytest += ["-p", f"no:{name}"]
        commands.append(Command(XDIST, pytest, project, expect_output=(f"\n{tests} passed",)))
    return commands


def fixed_cost_command(project: Path) -> Command:
    """A serial TestkitRunner run of the one test ``FIXED_TEST_LABEL``."""
    argv = [sys.executable, "manage.py", "test", FIXED_TEST_LABEL, "--noinput"]
    return Command(
        FIXED, argv, project, {RUNNER_ENV: DEFAULT_RUNNER}, expect_output=("Ran 1 test in", "\nOK")
    )


#: Written into the skew project: a serial runner that times each TestCase class.
UNIT_TIMING_MODULE = "unit_timing"
UNIT_TIMES_ENV = "BENCH_UNIT_TIMES"
UNIT_TIMING_SOURCE = '''"""A serial DiscoverRunner that writes each class's seconds as JSON."""

import json
import os
import time
import unittest

from django.test.runner import DiscoverRunner


class _Timed(unittest.TextTestResult):
    # Each stretch between two stops goes to the class of the test that stopped: its
    # setUpClass (before its first test) included; the last class gets its teardown.
    def startTestRun(self):
        super().startTestRun()
        self.units, self.mark, self.last = {}, time.perf_counter(), None

    def stopTest(self, test):
        super().stopTest(test)
        now = time.perf_counter()
        key = f"{type(test).__module__}.{type(test).__qualname__}"
        self.units[key] = self.units.get(key, 0.0) + now - self.mark
        self.mark, self.last = now, key

    def stopTestRun(self):
        if self.last is not None:
            self.units[self.last] += time.perf_counter() - self.mark
        super().stopTestRun()
        with open(os.environ["BENCH_UNIT_TIMES"], "w") as out:
            json.dump(self.units, out)


class UnitTimingRunner(DiscoverRunner):
    def get_resultclass(self):
        return _Timed
'''


def uncontended_unit_times(project: Path, runs: int, timeout: float) -> dict[str, float]:
    """Each class's seconds in a serial run (no other test process competes for the CPU),
    the minimum over ``runs`` runs: a true lower bound on what the class needs."""
    (project / "benchproject" / f"{UNIT_TIMING_MODULE}.py").write_text(UNIT_TIMING_SOURCE)
    out = project / "unit-times.json"
    command = Command(
        "unit-times",
        [sys.executable, "manage.py", "test", "--noinput"],
        project,
        {
            RUNNER_ENV: f"benchproject.{UNIT_TIMING_MODULE}.UnitTimingRunner",
            UNIT_TIMES_ENV: str(out),
        },
        expect_output=("\nOK",),
    )
    best: dict[str, float] = {}
    for _ in range(runs):
        run_once(command, timeout)
        for key, seconds in json.loads(out.read_text()).items():
            best[key] = min(seconds, best.get(key, seconds))
    return best


def read_unit_times(path: Path, expected_units: int) -> tuple[dict[str, float] | None, str]:
    """The unit -> seconds map of a durations file, or None and why it cannot be used."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"the testkit warm-up wrote no {DURATIONS_FILE}"
    except (OSError, ValueError) as exc:
        return None, f"{path} is unreadable ({exc})"
    units = data.get("units") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("format") != DURATIONS_FORMAT:
        return None, f"{path} is not in format {DURATIONS_FORMAT}"
    if not isinstance(units, dict) or not all(
        isinstance(seconds, int | float) and seconds >= 0 for seconds in units.values()
    ):
        return None, f"{path} has no valid 'units' map"
    if len(units) != expected_units:
        return None, f"{path} lists {len(units)} units, expected {expected_units} classes"
    return {str(name): float(seconds) for name, seconds in units.items()}, ""

    def as_data(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "longest_unit": self.longest,
            "total_unit_time": self.total,
            "fixed_cost": self.fixed,
            "workers": self.workers,
            "discovery_order_test_time": self.discovery_order,
            "units": dict(self.units),
        }


def warm_up(commands: Sequence[Command], config: TimingConfig, progress: Progress) -> None:
    """``config.warmup`` untimed runs of every command, as ``run_benchmark`` does them."""
    for warm in range(config.warmup):
        for command in commands:
            seconds = run_once(command, config.timeout)
            progress(f"warm-up {warm + 1}/{config.warmup}: {command.name} {seconds:.3f}s")


def goal_line(label: str, value: float, goal: float) -> str:
    return f"goal: {label} <= {goal:.2f} -> {value:.3f} {'met' if value <= goal else 'NOT met'}"


def skew_phase(ctx: Context) -> dict[str, Any]:
    args, config = ctx.args, ctx.config
    classes, per_class, factor = args.skew_classes, args.skew_tests_per_class, args.skew_factor
    loops = args.skew_loops
    if args.skew_seconds is not None:
        loops = skew_loops(classes, per_class, factor, args.skew_seconds)
    shape = skew_shape(classes, per_class, factor, loops)
    project = generate_project(shape, ctx.workdir / "skew", pytest_config=True)
    idle = replace(shape, cpu_loops=0, db_writes=0, skew={})
    fixed_project = generate_project(idle, ctx.workdir / "skew-fixed")
    commands = parallel_commands(project, shape.total_tests, ctx.with_xdist)
    commands.append(fixed_cost_command(fixed_project))
    if config.warmup < 1:
        print("skew: --warmup raised to 1 (testkit needs one run to record durations)")
        config = replace(config, warmup=1)
    calibrated = "" if args.skew_seconds is None else f" (~{args.skew_seconds:g}s serial here)"
    print(
        f"== skew: {shape.total_tests} tests in {shape.classes} TestCase classes, "
        f"{shape.cpu_loops} loops{calibrated} + {shape.db_writes} write per test, class "
        f"{shape.classes - 1} does {factor:g}x; {config.warmup} warm-up + {config.repeat} "
        "rounds",
        flush=True,
    )
    durations = project / DURATIONS_FILE
    warm_up(commands, config, ctx.progress)
    warm_units, why = read_unit_times(durations, shape.classes)
    results = run_benchmark(commands, replace(config, warmup=0), ctx.progress)
    # Unit times for the bound come from serial runs: measured while two workers share
    # two cores, a class takes longer than it needs, and the "bound" would not be one.
    serial_units = uncontended_unit_times(project, UNCONTENDED_RUNS, config.timeout)
    if warm_units is not None and serial_units.keys() != warm_units.keys():
        warm_units, why = None, "the serial timing run saw other classes than testkit's"

    by_name = {result.command.name: result for result in results}
    fixed = by_name[FIXED]
    timed = [result for result in results if result is not fixed]
    to_django = ratios(timed, BASELINE)
    print()
    print(format_table(timed, BASELINE))
    print(f"fixed cost ({FIXED_TEST_LABEL}, serial testkit, no work): {fixed.median:.3f}s")
    extra: dict[str, Any] = {
        "shape": {
            "classes": shape.classes,
            "tests": shape.total_tests,
            "cpu_loops": shape.cpu_loops,
            "loops_calibrated": args.skew_seconds is not None,
            "skew": {str(index): times for index, times in shape.skew.items()},
            "serial_seconds_target": args.skew_seconds,
        },
        "goals": {"testkit_vs_django": SKEW_GOAL, "testkit_vs_lower_bound": BOUND_GOAL},
    }
    if warm_units is None:
        print(f"lower bound cannot be computed: {why}")
        extra["lower_bound"] = None
    else:
        bound = LowerBound(serial_units, fixed.median)
        print(
            f"lower bound: max(longest unit {bound.longest:.3f}s, total {bound.total:.3f}s / "
            f"{WORKERS}) + fixed {bound.fixed:.3f}s = {bound.seconds:.3f}s (unit times: the "
            f"minimum of {UNCONTENDED_RUNS} serial runs; the same classes took "
            f"{sum(warm_units.values()):.3f}s in all in testkit's parallel warm-up)"
        )
        print(f"{'command':<8}  {'median':>8}  {'/django':>7}  {'/bound':>7}")
        for result in timed:
            name = result.command.name
            print(
                f"{name:<8}  {result.median:>7.3f}s  {to_django[name]:>7.3f}  "
                f"{result.median / bound.seconds:>7.3f}"
            )
        in_order = bound.fixed + bound.discovery_order
        print(
            f"(for reference: these units dispatched in discovery order, as Django does, "
            f"would take {in_order:.3f}s with the same fixed cost; testkit/django at the "
            f"bound would be {bound.seconds / in_order:.3f})"
        )
        bound_ratio = by_name[TESTKIT].median / bound.seconds
        print(goal_line("testkit/bound", bound_ratio, BOUND_GOAL))
        extra["lower_bound"] = bound.as_data()
        extra["testkit_vs_lower_bound"] = bound_ratio
        extra["goal_lower_bound_met"] = bound_ratio <= BOUND_GOAL
    print(goal_line("testkit/django", to_django[TESTKIT], SKEW_GOAL))
    extra["goal_django_met"] = to_django[TESTKIT] <= SKEW_GOAL
    return results_as_data(results, BASELINE, config, extra)


def overhead_phase(ctx: Context) -> dict[str, Any]:
    config = ctx.config
    shape = overhead_shape(ctx.args.overhead_tests)
    project = generate_project(shape, ctx.workdir / "overhead", pytest_config=True)
    commands = parallel_commands(project, shape.total_tests, ctx.with_xdist)
    print(
        f"== overhead: {shape.total_tests} trivial tests in {shape.classes} classes "
        f"(SimpleTestCase/TestCase), --parallel {WORKERS}; {config.warmup} warm-up + "
        f"{config.repeat} rounds",
        flush=True,
    )
    results: list[CommandResult] = run_benchmark(commands, config, ctx.progress)
    ratio = ratios(results, BASELINE)[TESTKIT]
    print()
    print(format_table(results, BASELINE))
    print(goal_line("testkit/django", ratio, OVERHEAD_GOAL))
    extra = {
        "tests": shape.total_tests,
        "goal_testkit_vs_django": OVERHEAD_GOAL,
        "goal_met": ratio <= OVERHEAD_GOAL,
    }
    return results_as_data(results, BASELINE, config, extra)


def load() -> str:
    """The machine's load averages: other work on the machine skews every timing."""
    if not hasattr(os, "getloadavg"):  # pragma: no cover - non-POSIX
        return "load average unknown"
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Parallel test runs (2 workers): DiscoverRunner vs TestkitRunner vs xdist."
    )
    parser.add_argument(
        "--phase",
        action="append",
        choices=PHASES,
        help="phase to run (repeatable; default: all of %(choices)s)",
    )
    parser.add_argument(
        "--skew-classes", type=int, default=60, help="classes of the skewed suite (%(default)s)"
    )
    parser.add_argument(
        "--skew-tests-per-class", type=int, default=4, help="its tests per class (%(default)s)"
    )
    parser.add_argument(
        "--skew-factor",
        type=float,
        default=8.0,
        help="work of its last class, x the others (%(default)s)",
    )
    work = parser.add_mutually_exclusive_group()
    work.add_argument(
        "--skew-loops",
        type=int,
        default=DEFAULT_SKEW_LOOPS,
        help="burn() loops per test (%(default)s: about 15 s of serial work at 7M loops/s)",
    )
    work.add_argument(
        "--skew-seconds",
        type=float,
        help="instead, calibrate the loops on this machine for this much serial work",
    )
    parser.add_argument(
        "--overhead-tests", type=int, default=2000, help="trivial tests, 10 a class (%(default)s)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the generated projects and print their path"
    )
    add_timing_arguments(parser, repeat=5)
    args = parser.parse_args(argv)
    config = config_from_args(args)
    if args.skew_classes < WORKERS or args.skew_tests_per_class < 1 or args.overhead_tests < 1:
        parser.error(
            "need --skew-classes >= 2, --skew-tests-per-class >= 1, --overhead-tests >= 1"
        )
    seconds = 1.0 if args.skew_seconds is None else args.skew_seconds
    if args.skew_factor <= 0 or args.skew_loops < 1 or seconds <= 0:
        parser.error("--skew-factor, --skew-loops and --skew-seconds must be positive")
    phases = [phase for phase in PHASES if phase in (args.phase or PHASES)]

    def progress(message: str) -> None:
        print(f"  {message}", flush=True)

    scrubbed = scrub_environment(SCRUBBED_ENV_PREFIXES, SCRUBBED_ENV_NAMES)
    print(
        f"python {sys.executable}; {os.cpu_count()} CPUs; --parallel {WORKERS}; {load()}"
        + (f"; unset for the runs: {', '.join(scrubbed)}" if scrubbed else ""),
        flush=True,
    )
    missing = missing_pytest_plugins()
    if missing:
        print(f"xdist skipped: {', '.join(missing)} not installed (pip install -e '.[bench]')")
    elif blocked := other_pytest_plugins():
        print(f"xdist runs block the other installed pytest plugins: {', '.join(blocked)}")
    phase_runs = {"skew": skew_phase, "overhead": overhead_phase}
    data: dict[str, Any] = {"benchmark": "parallel", "phases": {}}
    try:
        with scratch_directory("bench-parallel-", args.keep) as workdir:
            ctx = Context(workdir, args, config, progress, with_xdist=not missing)
            for phase in phases:
                data["phases"][phase] = phase_runs[phase](ctx)
                print(f"({load()} after the {phase} phase)\n", flush=True)
    except BenchmarkError as exc:
        print(f"BENCHMARK FAILED: {exc}", file=sys.stderr)
        return 1
    if args.json:
        write_json(args.json, data)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
