"""Copy a fixture project to a temporary directory and run ``manage.py`` in it."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.support.outcomes import Outcomes, normalise, parse

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_PROJECT = REPO / "example_project"
EDGE_PROJECT = REPO / "tests" / "fixtures" / "edgecases"
DBSETUP_PROJECT = REPO / "tests" / "fixtures" / "dbsetup"
POOL_PROJECT = REPO / "tests" / "fixtures" / "pool"
COVERAGE_PROJECT = REPO / "tests" / "fixtures" / "coverage"
#: On ``PYTHONPATH`` first, its ``sitecustomize`` makes Django's next deprecations errors.
DEPRECATIONS_AS_ERRORS = Path(__file__).resolve().parent / "startup"

DISCOVER = "django.test.runner.DiscoverRunner"
TESTKIT = "django_testkit.TestkitRunner"

#: Every end-to-end run gets this long before it is killed and the test fails.
RUN_TIMEOUT = float(os.environ.get("TESTKIT_E2E_TIMEOUT", "300"))

_run_numbers = itertools.count(1)


@dataclass
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def outcomes(self) -> Outcomes:
        return parse(normalise(self.stderr))

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.args)}\nexit status {self.returncode}\n"
            f"--- stdout ---\n{self.stdout[-4000:]}\n--- stderr ---\n{self.stderr[-8000:]}"
        )


def copy_project(source: Path, destination: Path) -> Path:
    """Copy a fixture project, leaving out databases and caches from earlier runs."""
    shutil.copytree(
        source,
        destination,
        ignore=shutil.ignore_patterns("*.sqlite3", "__pycache__", ".testkit", ".coverage*"),
    )
    return destination


def coverage_leftovers(folder: Path) -> list[str]:
    """Fragments a coverage run must never leave: coverage's parallel files, our scratch dirs."""
    return sorted(
        path.name
        for path in folder.iterdir()
        if path.name.startswith((".coverage.", ".testkit-coverage-"))
    )


def run_manage(
    project: Path,
    *args: str,
    runner: str | None = None,
    backend: str = "sqlite",
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    script: str = "manage.py",
    deprecations_as_errors: bool = True,
) -> Run:
    """Run ``python manage.py ARGS`` in ``project`` and capture everything it printed.

    Each run gets its own database-name suffix so that runs on a shared server
    never collide, even when two test sessions run at once.
    """
    full_env = manage_environment(
        runner=runner, backend=backend, env=env, deprecations_as_errors=deprecations_as_errors
    )
    argv = [sys.executable, script, *args]
    try:
        completed = subprocess.run(
            argv,
            cwd=project,
            env=full_env,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"{' '.join(argv)} did not finish within {RUN_TIMEOUT:.0f}s in {project}"
        ) from exc
    return Run(argv, completed.returncode, completed.stdout, completed.stderr)


def manage_environment(
    runner: str | None = None,
    backend: str = "sqlite",
    env: dict[str, str] | None = None,
    deprecations_as_errors: bool = True,
) -> dict[str, str]:
    """The environment of a ``manage.py`` run: this one, minus the knobs of other runs.

    Every Python process started with it, and every process those start, runs with
    Django's next deprecations (``RemovedInNextVersionWarning``,
    ``RemovedAfterNextVersionWarning``) as errors, as Django's own suite does. Only a
    test that checks such a warning itself passes ``deprecations_as_errors=False``.
    """
    full_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EXAMPLE_", "DJANGO_TEST_PROCESSES", "TESTKIT_"))
    }
    full_env.update(
        EXAMPLE_DB=backend,
        EXAMPLE_DB_SUFFIX=f"_{os.getpid()}_{next(_run_numbers)}",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
    )
    if runner is not None:
        full_env["EXAMPLE_TEST_RUNNER"] = runner
    full_env.update(env or {})
    if deprecations_as_errors:
        # After the caller's env, which may set PYTHONPATH (the project, say) itself.
        inherited = full_env.get("PYTHONPATH", "")
        full_env["PYTHONPATH"] = os.pathsep.join(
            [str(DEPRECATIONS_AS_ERRORS), *([inherited] if inherited else [])]
        )
    return full_env


def run_tests(project: Path, *args: str, **kwargs: object) -> Run:
    """``manage.py test --noinput ARGS``."""
    return run_manage(project, "test", "--noinput", *args, **kwargs)  # type: ignore[arg-type]


def start_tests(
    project: Path,
    backend: str,
    env: dict[str, str],
    *args: str,
    deprecations_as_errors: bool = True,
) -> subprocess.Popen[str]:
    """Start ``manage.py test --noinput ARGS`` in its own process group, to signal it."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "test", "--noinput", *args],
        cwd=project,
        env=manage_environment(
            backend=backend, env=env, deprecations_as_errors=deprecations_as_errors
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_file(path: Path, process: subprocess.Popen[str]) -> None:
    """Wait until a test in ``process`` creates ``path``; fail if the run ends first."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            out, err = process.communicate()
            raise AssertionError(f"the waiting test never started:\n{out}\n{err}")
        time.sleep(0.1)


def interrupt_run(
    process: subprocess.Popen[str],
    started: Path,
    how: str,
    then: Callable[[], None] | None = None,
) -> str:
    """Once a test of ``process`` creates ``started``, interrupt the run; return its stderr.

    ``how``: ``"sigterm"`` (what CI sends the process on cancel), ``"ctrl-c"`` or
    ``"ctrl-c-twice"`` (SIGINT to the whole process group, as a terminal sends it).
    ``then`` runs after the signals. The group is killed if the run does not end.
    """
    try:
        wait_for_file(started, process)
        if how == "sigterm":
            process.send_signal(signal.SIGTERM)
        else:
            for _ in range(2 if how == "ctrl-c-twice" else 1):
                os.killpg(process.pid, signal.SIGINT)
                time.sleep(0.5)
        if then is not None:
            then()
        _, err = process.communicate(timeout=RUN_TIMEOUT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    return err
