#!/usr/bin/env python
"""Serial runs of Django's DiscoverRunner and TestkitRunner counted in instructions.

Wall and CPU times of a one-second run move by 10 % and more on a shared 2-core
machine, which hides the few percent a serial run may cost. ``valgrind --tool=callgrind``
counts the instructions the interpreter executes instead: the same count for the same
program and inputs, whatever else the machine does, so one run of each is a figure
that reproduces. What it does not see: time spent waiting (disk, sleeps, the kernel),
and instructions are not all equally fast.

Suites: the generated ~2,000-test project of ``runner_overhead.py`` and the real
suites of ``real_suites.py`` (set up in the same cache). Each runs serially, with its
bytecode already cached (one untimed run of each runner first), ``PYTHONDONTWRITEBYTECODE``
and ``TESTKIT_*`` unset. Printed per suite: both counts, ours / Django, and the test
count both reported. Run from the repository root: ``python bench/instructions.py
[--suite generated --suite django-filter ...]``; about 50x a run's own time under
valgrind (2-3 minutes per real suite and runner).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from projectgen import generate_project
from realsuite_recipes import RECIPES, prepare
from runner_overhead import overhead_shape
from timing import BenchmarkError, scratch_directory, scrub_environment

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = REPO_ROOT / "bench" / "out" / "real_suites"
RUNNERS = {
    "django": "django.test.runner.DiscoverRunner",
    "ours": "django_testkit.TestkitRunner",
}
GOAL = 1.03
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")
RAN = re.compile(r"^Ran (\d+) tests? in", re.MULTILINE)
GENERATED = "generated"
#: simple-history (~20 s serial) takes half an hour under valgrind: only when asked for.
SLOW = ("simple-history",)


def count(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float
) -> tuple[int, str]:
    """Instructions ``argv`` executes (child processes not followed) and its ``Ran`` count."""
    subprocess.run(argv, cwd=cwd, env={**env}, capture_output=True, timeout=timeout, check=False)
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        cwd=cwd,
        env={**env},
        capture_output=True,
        text=True,
        timeout=timeout * 60,
        check=False,
    )
    collected, ran = COLLECTED.search(done.stderr), RAN.search(done.stderr)
    if collected is None or ran is None:
        raise BenchmarkError(f"{argv} under valgrind printed no count:\n{done.stderr[-2000:]}")
    return int(collected[1]), ran[1]


def compare(name: str, argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> float:
    figures = {}
    for runner, path in RUNNERS.items():
        figures[runner] = count([*argv, "--testrunner", path], cwd, env, timeout=600)
    (django, ran_django), (ours, ran_ours) = figures["django"], figures["ours"]
    if ran_django != ran_ours:
        raise BenchmarkError(f"{name}: Django ran {ran_django} tests, ours {ran_ours}")
    ratio = ours / django
    print(
        f"{name:<16} {ran_django:>5} tests  django {django / 1e9:7.3f} G  "
        f"ours {ours / 1e9:7.3f} G  ours/django {ratio:.4f}",
        flush=True,
    )
    return ratio


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    choices = [GENERATED, *RECIPES]
    parser.add_argument(
        "--suite",
        action="append",
        choices=choices,
        help="repeatable (default: all but simple-history)",
    )
    parser.add_argument("--python", type=Path, default=Path(sys.executable))
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--tests", type=int, default=2000, help="size of the generated suite")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 1
    scrubbed = scrub_environment(("TESTKIT_", "COVERAGE_"), ("PYTHONDONTWRITEBYTECODE",))
    print(
        f"python {args.python}; serial runs, instructions counted by callgrind"
        + (f"; unset for the runs: {', '.join(scrubbed)}" if scrubbed else ""),
        flush=True,
    )
    ratios = {}
    try:
        for name in args.suite or [name for name in choices if name not in SLOW]:
            if name == GENERATED:
                with scratch_directory("bench-instructions-", keep=False) as workdir:
                    project = generate_project(overhead_shape(args.tests), workdir / "project")
                    manage = [str(args.python), "manage.py", "test", "--noinput"]
                    ratios[name] = compare(name, manage, project, dict(os.environ))
                continue
            suite = prepare(RECIPES[name], args.python, args.cache)
            manage = [str(suite.python), "manage.py", "test", *suite.recipe.labels, "--noinput"]
            env = {**os.environ, **suite.env(REPO_ROOT)}
            ratios[name] = compare(name, manage, suite.project, env)
    except (BenchmarkError, subprocess.TimeoutExpired) as error:
        print(f"BENCHMARK FAILED: {error}", file=sys.stderr)
        return 1
    worst = max(ratios.values())
    print(f"goal: ours/django <= {GOAL} on every suite -> {'met' if worst <= GOAL else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
