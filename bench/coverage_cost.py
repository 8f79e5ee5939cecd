#!/usr/bin/env python
"""Coverage inside ``manage.py test`` vs Django's documented way vs pytest-cov (2 workers).

Four commands, timed interleaved by ``timing.py`` (whole-process wall time, one
untimed warm-up, then ``--rounds`` rounds), on two projects:

``ours``
    ``manage.py test --cov --cov-report term --parallel 2`` with ``TestkitRunner``:
    relaunched under coverage before Django sets up, every worker measured, the data
    combined into ``.coverage`` and reported.
``django-documented``
    Django's own runner (``DiscoverRunner``) under ``coverage run --concurrency
    multiprocessing,thread --parallel-mode ... manage.py test --parallel 2``, then
    ``coverage combine`` and ``coverage report``, timed as one ``sh -c '... && ... &&
    ...'``. coverage refuses ``--source`` on the command line together with
    ``multiprocessing`` concurrency, so source and omit come from the run's rcfile.
``pytest-stack``
    ``pytest -n 2 --cov=<project> --cov-report=term -p no:cacheprovider -q`` with
    pytest-django, pytest-xdist and pytest-cov (every other installed pytest plugin is
    blocked with ``-p no:NAME``) and ``DJANGO_SETTINGS_MODULE`` set.
``ours-nocov``
    ``manage.py test --parallel 2`` with ``TestkitRunner``, no coverage.

The rcfile of the other two gives the source and omit list ours uses by default (the
project directory; ``django_testkit.cov.measure.default_omit()``: tests, migrations,
settings, ``manage.py``, wsgi/asgi, virtualenvs), asked of the interpreter under test,
so that all three measure the same files; the ``TOTAL`` lines of the three reports are
compared at the end.

Projects: ``example`` is a copy of ``example_project/`` (no ``.coverage``, ``htmlcov``
or ``.testkit`` lands in the repository); ``generated`` is a ``projectgen`` suite of 60
classes x 5 tests (``SimpleTestCase`` and ``TestCase`` alternating, one row written per
``TestCase`` test) whose tests run ``--logic-rounds`` rounds of plain-Python functions
spread over four source modules: little CPU per line, many lines, which is what a line
tracer pays for. Every command runs in its own copy of the project, so data files and
recorded durations never mix. The example's pytest runs also load a tiny plugin (from
the scratch directory, outside the measured source) that imports
``django.contrib.auth.middleware`` once Django is set up: ``manage.py test`` runs the
system checks, whose admin checks import it before any test, and three of the
example's ``TransactionTestCase`` tests (``available_apps`` without auth) depend on
that; pytest-django runs no checks.

Checks: every run must exit 0 and report the expected number of tests (``Ran N tests
in`` and ``OK``, or ``N passed``), the coverage runs must print a ``TOTAL`` line and
leave a ``.coverage`` data file with measured files and no ``.coverage.*`` fragments
(the file is removed after each run, so every run has to write its own), and
``ours-nocov`` must not write one. ``TESTKIT_*``, ``COVERAGE_*``, ``COV_CORE_*``,
``EXAMPLE_*``, ``BENCH_TEST_RUNNER``, ``DJANGO_SETTINGS_MODULE``, ``PYTEST_ADDOPTS``
and ``PYTHONDONTWRITEBYTECODE`` are removed from the environment; each command sets
what it needs.

Printed: the medians, ours/django-documented and ours/pytest-stack (goal <= 1.0 each)
and the line-coverage overhead ours/ours-nocov (goal <= 1.3 on Python >= 3.12; printed
for information on older Pythons), with the Python, Django and coverage versions, the
coverage core ours chose (from the ``Coverage: measuring ...`` line of an untimed ``-v
2`` run) and the core ``coverage run`` and pytest-cov use by default.

Run from the repository root: ``python bench/coverage_cost.py [--python PATH] [--rounds N]
[--project example|generated|both] [--json out.json]``. The bench process itself never
imports coverage or Django; everything that needs them runs under ``--python``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parallel import load
from projectgen import (
    DEFAULT_RUNNER,
    DISCOVER_RUNNER,
    RUNNER_ENV,
    SuiteShape,
    render_project,
    render_pytest_config,
    write_project,
)
from timing import (
    BenchmarkError,
    Captured,
    Command,
    CommandResult,
    add_timing_arguments,
    capture,
    config_from_args,
    format_table,
    ratios,
    results_as_data,
    run_benchmark,
    scratch_directory,
    scrub_environment,
    write_json,
)

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_PROJECT = REPO / "example_project"
WORKERS = 2
OURS = "ours"
DOCUMENTED = "django-documented"
PYTEST_STACK = "pytest-stack"
NOCOV = "ours-nocov"
COMMANDS = (OURS, DOCUMENTED, PYTEST_STACK, NOCOV)
COVERAGE_COMMANDS = (OURS, DOCUMENTED, PYTEST_STACK)
GOAL_VS_DOCUMENTED = 1.0
GOAL_VS_PYTEST = 1.0
GOAL_OVERHEAD = 1.3
OVERHEAD_GOAL_PYTHON = (3, 12)
PROJECTS = ("example", "generated")
#: Removed from os.environ (and so from every run): the caller's shell must not change
#: what is measured, or how.
SCRUBBED_ENV_PREFIXES = ("TESTKIT_", "COVERAGE_", "COV_CORE_", "EXAMPLE_")
SCRUBBED_ENV_NAMES = (
    RUNNER_ENV,
    "DJANGO_SETTINGS_MODULE",
    "PYTEST_ADDOPTS",
    "PYTHONDONTWRITEBYTECODE",
)
#: The pytest plugins the pytest-stack runs load; every other installed one is blocked.
PYTEST_DISTRIBUTIONS = ("pytest-django", "pytest-xdist", "pytest-cov")
PYTEST_MODULES = ("pytest", "pytest_django", "xdist", "pytest_cov")
DATA_FILE = ".coverage"
#: Not copied from example_project/: what earlier runs there may have left.
EXAMPLE_LEFTOVERS = (
    ".coverage",
    ".coverage.*",
    ".testkit",
    "htmlcov",
    "coverage.xml",
    "coverage.json",
    "coverage.lcov",
    "__pycache__",
    "*.sqlite3",
)
EXAMPLE_PLUGIN = "bench_example_pytest"
EXAMPLE_PLUGIN_PY = '''\
"""Loaded with -p by bench/coverage_cost.py's pytest-stack runs of the example project."""

import pytest


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    # manage.py test runs the system checks, and the admin checks import the auth
    # middleware before any test runs; the example's TransactionTestCase classes whose
    # available_apps leave out auth rely on that. pytest-django runs no checks.
    import django.contrib.auth.middleware  # noqa: F401
'''
TOTAL_LINE = re.compile(r"^TOTAL\s+(\d+)\s+(\d+)\s+(\d+(?:\.\d+)?)%", re.MULTILINE)
CORE_LINE = re.compile(r"^Coverage: measuring .* core (\w+)\)", re.MULTILINE)
DEBUG_CORE_LINE = re.compile(r"^\s*core:\s*(\S+)", re.MULTILINE)
#: coverage's --debug=sys names of its cores -> the names of its ``core`` setting.
CORE_NAMES = {"CTracer": "ctrace", "PyTracer": "pytrace", "SysMonitor": "sysmon"}
FOUND_LINE = re.compile(r"^Found (\d+) test", re.MULTILINE)
PROBE_SCRIPT = """\
import importlib.metadata as md, importlib.util, json, sys
info = {"python": sys.version.split()[0], "version_info": list(sys.version_info[:3])}
for name in ("Django", "coverage", "django-testkit", %(dists)s):
    try:
        info[name] = md.version(name)
    except md.PackageNotFoundError:
        info[name] = None
info["missing_modules"] = [m for m in %(modules)r if importlib.util.find_spec(m) is None]
info["pytest_plugins"] = sorted(
    {(e.name, (e.dist.metadata["Name"] or "").lower() if e.dist else "")
     for e in md.entry_points(group="pytest11")}
)
print(json.dumps(info))
"""
OMIT_SCRIPT = """\
import json, sys
from pathlib import Path
from django_testkit.cov.measure import default_omit
print(json.dumps(default_omit(Path(sys.argv[1]), sys.argv[2])))
"""

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Target:
    """The interpreter under test and what it has installed."""

    python: str
    info: Mapping[str, Any]

    @property
    def version(self) -> tuple[int, ...]:
        return tuple(self.info["version_info"])

    @property
    def missing_pytest(self) -> list[str]:
        return list(self.info["missing_modules"])

    @property
    def blocked_plugins(self) -> list[str]:
        return sorted(
            {
                name
                for name, dist in self.info["pytest_plugins"]
                if dist not in PYTEST_DISTRIBUTIONS
            }
        )


@dataclass(frozen=True)
class ProjectSpec:
    """A project to copy per command: its files, settings and runner variable."""

    name: str
    settings_module: str
    runner_env: str
    write: Callable[[Path], None]
    description: str
    tests: int | None = None  # None: learned from the untimed -v 2 run
    pytest_plugin: bool = False


@dataclass
class Totals:
    """The ``TOTAL`` line of each coverage run of one command: (statements, missed)."""

    seen: dict[str, set[tuple[int, int]]] = field(default_factory=dict)

    def add(self, name: str, statements: int, missed: int) -> None:
        self.seen.setdefault(name, set()).add((statements, missed))


def query_target(python: str, cwd: Path) -> Target:
    """Versions and pytest plugins of ``python`` (run in ``cwd``, away from bench/)."""
    dists = ", ".join(repr(name) for name in ("pytest", *PYTEST_DISTRIBUTIONS))
    script = PROBE_SCRIPT % {"dists": dists, "modules": PYTEST_MODULES}
    done = subprocess.run(
        [python, "-c", script], cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchmarkError(f"{python} cannot be queried:\n{done.stderr.strip()}")
    info = json.loads(done.stdout)
    for name in ("Django", "coverage", "django-testkit"):
        if not info[name]:
            raise BenchmarkError(f"{python} has no {name} installed")
    return Target(python, info)


def default_omit(target: Target, project: Path, settings_file: Path) -> list[str]:
    """``django_testkit.cov.measure.default_omit()`` as the interpreter under test computes it."""
    done = subprocess.run(
        [target.python, "-c", OMIT_SCRIPT, str(project), str(settings_file)],
        cwd=project.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchmarkError(f"default_omit() failed under {target.python}:\n{done.stderr}")
    return [str(pattern) for pattern in json.loads(done.stdout)]


def write_rcfile(path: Path, project: Path, omit: Sequence[str]) -> Path:
    """A .coveragerc measuring ``project`` without ``omit``, as ours does by default."""
    lines = ["[run]", "source =", f"    {project}", "omit ="]
    lines += [f"    {pattern}" for pattern in omit]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ran_text(tests: int) -> str:
    return f"Ran {tests} test{'s' if tests != 1 else ''} in"


def data_file_rows(path: Path) -> int:
    """How many measured files a coverage data file (SQLite) holds."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(connection.execute("select count(*) from file").fetchone()[0])
    finally:
        connection.close()


def coverage_verifier(name: str, project: Path, totals: Totals) -> Callable[[Captured], list[str]]:
    """Check a coverage run's report and data file, record its TOTAL, remove the file."""

    def verify(run: Captured) -> list[str]:
        problems: list[str] = []
        match = TOTAL_LINE.search(run.stdout)
        if match is None:
            problems.append("printed no TOTAL line on stdout")
        else:
            totals.add(name, int(match[1]), int(match[2]))
        data = project / DATA_FILE
        if not data.is_file():
            problems.append(f"left no {DATA_FILE} in {project}")
        else:
            try:
                if data_file_rows(data) == 0:
                    problems.append(f"{data} holds no measured files")
            except sqlite3.Error as exc:
                problems.append(f"{data} is not coverage data ({exc})")
            data.unlink()
        fragments = sorted(path.name for path in project.glob(f"{DATA_FILE}.*"))
        if fragments:
            problems.append(f"left data fragments {fragments}")
        return problems

    return verify


def nocov_verifier(project: Path) -> Callable[[Captured], list[str]]:
    def verify(run: Captured) -> list[str]:
        leftovers = sorted(path.name for path in project.glob(f"{DATA_FILE}*"))
        return [f"wrote coverage data {leftovers} without --cov"] if leftovers else []

    return verify


def manage_test(target: Target, *extra: str) -> list[str]:
    return [target.python, "manage.py", "test", *extra, "--parallel", str(WORKERS), "--noinput"]


def build_commands(
    target: Target,
    spec: ProjectSpec,
    copies: Mapping[str, Path],
    rcfiles: Mapping[str, Path],
    tests: int,
    plugin_dir: Path,
    totals: Totals,
) -> list[Command]:
    """The four commands, each in its own copy of the project."""
    ran = (ran_text(tests), "\nOK")
    ours_env = {spec.runner_env: DEFAULT_RUNNER}
    commands = [
        Command(
            OURS,
            manage_test(target, "--cov", "--cov-report", "term"),
            copies[OURS],
            ours_env,
            expect_output=(*ran, "TOTAL"),
            verify=coverage_verifier(OURS, copies[OURS], totals),
        )
    ]
    python = shlex.quote(target.python)
    rcfile = shlex.quote(str(rcfiles[DOCUMENTED]))
    coverage = f"{python} -m coverage"
    test = " ".join(shlex.quote(part) for part in manage_test(target)[1:])
    script = (
        f"{coverage} run --rcfile={rcfile} --concurrency=multiprocessing,thread "
        f"--parallel-mode {test} && {coverage} combine --rcfile={rcfile} && "
        f"{coverage} report --rcfile={rcfile}"
    )
    commands.append(
        Command(
            DOCUMENTED,
            ["sh", "-c", script],
            copies[DOCUMENTED],
            {spec.runner_env: DISCOVER_RUNNER},
            expect_output=(*ran, "TOTAL"),
            verify=coverage_verifier(DOCUMENTED, copies[DOCUMENTED], totals),
        )
    )
    if PYTEST_STACK in copies:
        project = copies[PYTEST_STACK]
        pytest = [target.python, "-m", "pytest", "-n", str(WORKERS), f"--cov={project}"]
        pytest += [f"--cov-config={rcfiles[PYTEST_STACK]}", "--cov-report=term"]
        pytest += ["-p", "no:cacheprovider", "-q"]
        for name in target.blocked_plugins:
            pytest += ["-p", f"no:{name}"]
        env = {"DJANGO_SETTINGS_MODULE": spec.settings_module}
        if spec.pytest_plugin:
            pytest += ["-p", EXAMPLE_PLUGIN]
            env["PYTHONPATH"] = os.pathsep.join(
                filter(None, [str(plugin_dir), os.environ.get("PYTHONPATH", "")])
            )
        commands.append(
            Command(
                PYTEST_STACK,
                pytest,
                project,
                env,
                expect_output=(f"\n{tests} passed", "TOTAL"),
                verify=coverage_verifier(PYTEST_STACK, project, totals),
            )
        )
    commands.append(
        Command(
            NOCOV,
            manage_test(target),
            copies[NOCOV],
            ours_env,
            expect_output=ran,
            verify=nocov_verifier(copies[NOCOV]),
        )
    )
    return commands


def example_spec() -> ProjectSpec:
    def write(dest: Path) -> None:
        shutil.copytree(EXAMPLE_PROJECT, dest, ignore=shutil.ignore_patterns(*EXAMPLE_LEFTOVERS))

    return ProjectSpec(
        name="example",
        settings_module="config.settings",
        runner_env="EXAMPLE_TEST_RUNNER",
        write=write,
        description="a copy of example_project/ (SQLite, 4 aliases)",
        pytest_plugin=True,
    )


def generated_shape(args: argparse.Namespace) -> SuiteShape:
    return SuiteShape(
        classes=args.classes,
        tests_per_class=args.tests_per_class,
        classes_per_module=10,
        base_mix=("SimpleTestCase", "TestCase"),
        assertions=3,
        db_writes=1,
        logic_modules=args.logic_modules,
        logic_functions=12,
        logic_rounds=args.logic_rounds,
    )


def generated_spec(shape: SuiteShape) -> ProjectSpec:
    files = {**render_project(shape), **render_pytest_config()}

    def write(dest: Path) -> None:
        write_project(files, dest)

    return ProjectSpec(
        name="generated",
        settings_module="benchproject.settings",
        runner_env=RUNNER_ENV,
        write=write,
        description=(
            f"projectgen: {shape.classes} classes x {shape.tests_per_class} tests "
            "(SimpleTestCase/TestCase, 1 row per TestCase test), each running "
            f"{shape.logic_rounds} rounds of {shape.logic_functions} functions in each of "
            f"{shape.logic_modules} source modules"
        ),
        tests=shape.total_tests,
    )


def probe_ours(
    target: Target, spec: ProjectSpec, project: Path, timeout: float
) -> tuple[str, int]:
    """One untimed ``-v 2`` run of ours: the core it reports and how many tests it found."""
    command = Command(
        f"{OURS} -v 2",
        manage_test(target, "--cov", "--cov-report", "term", "-v", "2"),
        project,
        {spec.runner_env: DEFAULT_RUNNER},
    )
    run = capture(command, timeout)
    output = run.stdout + run.stderr
    core, found = CORE_LINE.search(output), FOUND_LINE.search(output)
    if run.returncode != 0 or core is None or found is None:
        raise BenchmarkError(
            f"the untimed `{' '.join(command.argv[1:])}` run in {project} exited "
            f"{run.returncode}; core line found: {core is not None}, test count found: "
            f"{found is not None}\n--- tail of its output ---\n"
            + "\n".join(output.rstrip().splitlines()[-30:])
        )
    return core[1], int(found[1])


def probe_coverage_run_core(target: Target, rcfile: Path, workdir: Path) -> str:
    """The core ``coverage run`` (and so pytest-cov) picks by default with ``rcfile``."""
    script = workdir / "noop_probe.py"
    script.write_text("pass\n", encoding="utf-8")
    argv = [target.python, "-m", "coverage", "run", f"--rcfile={rcfile}"]
    argv += ["--concurrency=multiprocessing,thread", f"--data-file={workdir / 'probe.cov'}"]
    argv += ["--debug=sys", str(script)]
    done = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, check=False)
    match = DEBUG_CORE_LINE.search(done.stdout + done.stderr)
    return CORE_NAMES.get(match[1], match[1]) if match else "unknown"


def ratio_line(label: str, value: float, goal: float, applies: bool, note: str = "") -> str:
    verdict = ("met" if value <= goal else "NOT met") if applies else note
    return f"  {label:<32} {value:>6.3f}   goal <= {goal:.2f}: {verdict}"


def run_project(
    spec: ProjectSpec,
    target: Target,
    workdir: Path,
    args: argparse.Namespace,
    progress: Progress,
) -> dict[str, Any]:
    config = config_from_args(args)
    base = workdir / spec.name
    base.mkdir()
    names = [name for name in COMMANDS if name != PYTEST_STACK or not target.missing_pytest]
    copies: dict[str, Path] = {}
    for name in [*names, "probe"]:
        spec.write(base / name)
        copies[name] = (base / name).resolve()
    rcfiles: dict[str, Path] = {}
    for name in (DOCUMENTED, PYTEST_STACK, "probe"):
        if name in copies:
            project = copies[name]
            settings_file = project / Path(*spec.settings_module.split(".")).with_suffix(".py")
            omit = default_omit(target, project, settings_file)
            rcfiles[name] = write_rcfile(base / f"{name}.coveragerc", project, omit)
    plugin_dir = workdir / "plugins"
    plugin_dir.mkdir(exist_ok=True)
    (plugin_dir / f"{EXAMPLE_PLUGIN}.py").write_text(EXAMPLE_PLUGIN_PY, encoding="utf-8")

    core, found = probe_ours(target, spec, copies.pop("probe"), config.timeout)
    tests = spec.tests if spec.tests is not None else found
    if found != tests:
        raise BenchmarkError(f"{spec.name}: ours found {found} tests, expected {tests}")
    default_core = probe_coverage_run_core(target, rcfiles["probe"], base)
    print(
        f"== {spec.name}: {spec.description}; {tests} tests, --parallel {WORKERS}; "
        f"{config.warmup} warm-up + {config.repeat} rounds",
        flush=True,
    )
    print(
        f"   coverage core: ours {core} (its -v 2 line); coverage run / pytest-cov "
        f"{default_core} (coverage's default, --debug=sys)",
        flush=True,
    )
    totals = Totals()
    commands = build_commands(target, spec, copies, rcfiles, tests, plugin_dir, totals)
    results: list[CommandResult] = run_benchmark(commands, config, progress)
    to_documented = ratios(results, DOCUMENTED)
    medians = {result.command.name: result.median for result in results}
    print()
    print(format_table(results, DOCUMENTED))
    print("ratios of medians:")
    versus_documented = medians[OURS] / medians[DOCUMENTED]
    print(ratio_line(f"{OURS} / {DOCUMENTED}", versus_documented, GOAL_VS_DOCUMENTED, True))
    goals: dict[str, Any] = {f"{OURS}/{DOCUMENTED}": versus_documented <= GOAL_VS_DOCUMENTED}
    versus_pytest = None
    if PYTEST_STACK in medians:
        versus_pytest = medians[OURS] / medians[PYTEST_STACK]
        print(ratio_line(f"{OURS} / {PYTEST_STACK}", versus_pytest, GOAL_VS_PYTEST, True))
        goals[f"{OURS}/{PYTEST_STACK}"] = versus_pytest <= GOAL_VS_PYTEST
    overhead = medians[OURS] / medians[NOCOV]
    applies = target.version[:2] >= OVERHEAD_GOAL_PYTHON
    python = ".".join(map(str, target.version[:2]))
    wanted = ".".join(map(str, OVERHEAD_GOAL_PYTHON))
    print(
        ratio_line(
            f"{OURS} / {NOCOV} (overhead)",
            overhead,
            GOAL_OVERHEAD,
            applies,
            note=f"for information (the goal applies to Python >= {wanted}; this is {python})",
        )
    )
    goals[f"{OURS}/{NOCOV}"] = overhead <= GOAL_OVERHEAD if applies else None
    report_totals(totals, [name for name in COVERAGE_COMMANDS if name in medians])
    return results_as_data(
        results,
        DOCUMENTED,
        config,
        {
            "project": spec.name,
            "description": spec.description,
            "tests": tests,
            "python": target.python,
            "versions": {
                key: value for key, value in target.info.items() if key != "pytest_plugins"
            },
            "core": {"ours": core, "coverage_default": default_core},
            "ratios": {
                f"{OURS}/{DOCUMENTED}": versus_documented,
                f"{OURS}/{PYTEST_STACK}": versus_pytest,
                f"{OURS}/{NOCOV}": overhead,
                **{f"{name}/{DOCUMENTED}": value for name, value in to_documented.items()},
            },
            "goals_met": goals,
            "totals": {name: sorted(seen) for name, seen in totals.seen.items()},
        },
    )


def report_totals(totals: Totals, names: Sequence[str]) -> None:
    """Print each coverage command's TOTAL (statements, missed); flag runs that disagree."""
    parts = []
    for name in names:
        seen = sorted(totals.seen.get(name, ()))
        text = ", ".join(f"{statements} stmts / {missed} missed" for statements, missed in seen)
        parts.append(f"{name} {text or 'none'}")
    print(f"reported TOTAL: {'; '.join(parts)}")
    statements = {pair[0] for name in names for pair in totals.seen.get(name, ())}
    if len(statements) > 1:
        print("ODD: the coverage commands did not measure the same statements")
    if any(len(totals.seen.get(name, ())) > 1 for name in names):
        print("ODD: a command's total changed between its runs")


def measured_commit() -> str:
    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" + local changes" if git("status", "--porcelain", "django_testkit") else "")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Coverage in manage.py test vs coverage run + DiscoverRunner vs pytest-cov."
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter to run every command with (default: this one, %(default)s)",
    )
    parser.add_argument(
        "--project", choices=(*PROJECTS, "both"), default="both", help="(default: %(default)s)"
    )
    parser.add_argument(
        "--rounds",
        dest="repeat",
        type=int,
        metavar="N",
        default=argparse.SUPPRESS,
        help="timed rounds, same as --repeat (5)",
    )
    parser.add_argument("--classes", type=int, default=60, help="generated classes (%(default)s)")
    parser.add_argument(
        "--tests-per-class", type=int, default=5, help="generated tests per class (%(default)s)"
    )
    parser.add_argument(
        "--logic-modules", type=int, default=4, help="generated source modules (%(default)s)"
    )
    parser.add_argument(
        "--logic-rounds",
        type=int,
        default=100,
        help="rounds of every logic function per generated test (%(default)s)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch projects and print their path"
    )
    add_timing_arguments(parser, repeat=5)
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.classes < 1 or args.tests_per_class < 1:
        parser.error("--rounds, --classes and --tests-per-class must be >= 1")
    if args.logic_modules < 1 or args.logic_rounds < 1:
        parser.error("--logic-modules and --logic-rounds must be >= 1")
    python = os.path.abspath(args.python)  # not resolved: a venv's python is a symlink
    projects = PROJECTS if args.project == "both" else (args.project,)

    def progress(message: str) -> None:
        print(f"  {message}", flush=True)

    scrubbed = scrub_environment(SCRUBBED_ENV_PREFIXES, SCRUBBED_ENV_NAMES)
    data: dict[str, Any] = {"benchmark": "coverage", "projects": {}}
    try:
        with scratch_directory("bench-coverage-", args.keep) as workdir:
            target = query_target(python, workdir)
            info = target.info
            print(
                f"python {python} ({info['python']}); Django {info['Django']}; coverage "
                f"{info['coverage']}; django-testkit {measured_commit()}; {os.cpu_count()} "
                f"CPUs; --parallel {WORKERS}; {load()}"
                + (f"; unset for the runs: {', '.join(scrubbed)}" if scrubbed else ""),
                flush=True,
            )
            if target.missing_pytest:
                print(
                    f"pytest-stack skipped: {', '.join(target.missing_pytest)} not importable "
                    f"by {python} (pip install pytest-django pytest-xdist pytest-cov)"
                )
            else:
                print(
                    f"pytest {info['pytest']}, pytest-django {info['pytest-django']}, "
                    f"pytest-xdist {info['pytest-xdist']}, pytest-cov {info['pytest-cov']}"
                    + (
                        f"; blocked: {', '.join(target.blocked_plugins)}"
                        if target.blocked_plugins
                        else ""
                    ),
                    flush=True,
                )
            for name in projects:
                spec = (
                    example_spec() if name == "example" else generated_spec(generated_shape(args))
                )
                data["projects"][name] = run_project(spec, target, workdir, args, progress)
                print(f"({load()} after the {name} project)\n", flush=True)
    except BenchmarkError as exc:
        print(f"BENCHMARK FAILED: {exc}", file=sys.stderr)
        return 1
    if args.json:
        write_json(args.json, data)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
