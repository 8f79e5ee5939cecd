"""A run imports only what it uses: no coverage.py without measuring, no pool without workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

NEW_MODULES = textwrap.dedent(
    """
    import importlib, json, sys
    before = set(sys.modules)
    importlib.import_module(sys.argv[1])
    print(json.dumps(sorted(set(sys.modules) - before)))
    """
)


def new_modules(module: str) -> list[str]:
    """The modules that importing ``module`` loads, in a fresh interpreter."""
    # Not measured by coverage's own start-up hook (a .pth file that these variables arm).
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_PROCESS_")}
    out = subprocess.run(
        [sys.executable, "-c", NEW_MODULES, module],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    modules: list[str] = json.loads(out)
    return modules


@pytest.fixture(scope="module")
def imported() -> list[str]:
    return new_modules("django_testkit.runner")


def _measuring(modules: list[str]) -> list[str]:
    return [name for name in modules if name == "coverage" or name.startswith("coverage.")]


def test_the_runner_does_not_import_coverage(imported: list[str]) -> None:
    assert _measuring(imported) == []
    ours = [name for name in imported if name.startswith("django_testkit.cov.")]
    # Only the light entry: verdicts and thresholds are for runs that measure.
    assert sorted(ours) == ["django_testkit.cov.lifecycle"]


def test_the_runner_does_not_import_the_worker_pool(imported: list[str]) -> None:
    pool = {
        "django_testkit.parallel.controller",
        "django_testkit.parallel.handles",
        "django_testkit.parallel.worker",
        "django_testkit.parallel.protocol",
        "django_testkit.parallel.replay",
        "django_testkit.parallel.results",
        "django_testkit.parallel.ledger",
        "django_testkit.parallel.progress",
        "django_testkit.parallel.context",
        "django_testkit.parallel.poolspec",
        "django_testkit.parallel.scheduling",
        "django_testkit.parallel.durations",
        "django_testkit.databases.workers",
        "django_testkit.databases.fingerprint",
        # Only database builders in child processes talk over pipes.
        "multiprocessing.connection",
    }
    assert sorted(pool & set(imported)) == []


def test_workers_without_coverage_do_not_import_it() -> None:
    # The parent's pool and the worker's code, as a parallel run without --cov loads them.
    assert _measuring(new_modules("django_testkit.parallel.controller")) == []
