"""``--rerun-failures N``: failed tests run again in a fresh process; those that pass are flaky.

At the end of the run, before unittest prints its summary, every test that
failed or errored (a crashed worker's test included; an error of
``setUpClass``/``setUpModule`` re-runs its class or module) runs again in a new
``manage.py test`` process of its own, with its own test databases, up to N
times while it keeps failing. A test that passes is flaky: it leaves the
failures (unless ``FLAKY_FAILS``), the summary counts it (``OK (flaky=2)``), a
listing after the summary shows its first failure, the JUnit report has
Surefire's ``flakyFailure``/``rerunFailure`` elements, and ``flaky.json`` beside
the durations store counts it. Never under ``--failfast`` or ``--pdb``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from django_testkit import _compat
from django_testkit.parallel.flaky import (
    Attempt,
    Rerun,
    attempts_from_junit,
    collect,
    flaky_path,
    listing,
    mark_junit,
    record_flaky,
)

#: What a re-run process must not do, whatever the settings say (environment beats
#: settings; its own command line sets the rest).
CHILD_ENVIRONMENT = {
    "TESTKIT_RERUN_FAILURES": "0",
    "TESTKIT_COV": "0",
    "TESTKIT_NO_COV": "1",
    "TESTKIT_REUSE_DB": "0",
    "TESTKIT_SHARD": "",
    "TESTKIT_LAST_FAILED": "0",
    "TESTKIT_FAILED_FIRST": "0",
    "TESTKIT_ARTIFACTS": "",
    "TESTKIT_TIMELINE": "",
}


def _entry_point() -> list[str]:
    """How to start this command again: ``-m package`` or the script."""
    script = sys.argv[0]
    if os.path.basename(script) == "__main__.py":
        return ["-m", os.path.basename(os.path.dirname(os.path.abspath(script)))]
    return [script]


def child_command(runner: Any, labels: list[str], report: Path, suffix: str) -> list[str]:
    cls = type(runner)
    argv = [sys.executable, *_compat.interpreter_flags(), *_entry_point(), "test", "--noinput"]
    argv += ["--testrunner", f"{cls.__module__}.{cls.__qualname__}", "-v", "0"]
    argv += ["--junit-xml", str(report), "--db-suffix", suffix]
    if runner.config.timeout:
        argv += ["--timeout", str(runner.config.timeout)]
    if runner.buffer:
        argv.append("--buffer")
    return [*argv, *labels]


def run_again(runner: Any, labels: list[str], number: int) -> dict[str, Attempt]:
    """Run ``labels`` in a new process; how each ended."""
    own = runner.config.db_suffix
    suffix = f"{own}_rerun{os.getpid()}_{number}" if own else f"rerun{os.getpid()}_{number}"
    with tempfile.TemporaryDirectory(prefix="testkit-rerun-") as scratch:
        report = Path(scratch) / "junit.xml"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TESTKIT_COVERAGE", "COVERAGE_PROCESS"))
        }
        env.update(CHILD_ENVIRONMENT)
        env["TESTKIT_DURATIONS_FILE"] = str(Path(scratch) / "durations.json")
        command = child_command(runner, labels, report, suffix[:40])
        done = subprocess.run(
            command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
        )
        try:
            return attempts_from_junit(report.read_bytes(), labels)
        except (OSError, ElementTree.ParseError):
            last = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
            why = f"the re-run process ended with status {done.returncode} ({last})"
            return {label: Attempt(False, "error", "RerunFailed", why, why) for label in labels}


def rerun(
    runner: Any, result: Any, times: int, run: Callable[..., dict[str, Attempt]] = run_again
) -> list[Rerun]:
    """Run the failed tests again, up to ``times`` rounds; the reruns, flaky or not.

    Flaky tests' entries leave ``result.failures``/``errors`` unless ``FLAKY_FAILS``.
    """
    reruns = collect(result)
    waiting = list(reruns)
    for number in range(1, times + 1):
        if not waiting:
            break
        ended = run(runner, [item.label for item in waiting], number)
        for item in waiting:
            item.attempts.append(ended[item.label])
        waiting = [item for item in waiting if not item.flaky]
    if not runner.config.flaky_fails:
        gone = {id(entry) for item in reruns if item.flaky for entry in item.entries}
        result.failures[:] = [entry for entry in result.failures if id(entry) not in gone]
        result.errors[:] = [entry for entry in result.errors if id(entry) not in gone]
    return reruns


class Summary:
    """unittest's stream, with ``flaky=N`` added to the counts of its last line."""

    def __init__(self, stream: Any, flaky: Callable[[], int]) -> None:
        self._stream = stream
        self._flaky = flaky
        self._ran = False
        self._held: str | None = None

    def write(self, text: str) -> int:
        if self._held is not None:
            held, self._held = self._held, None
            count = self._flaky()
            if text.startswith(" (") and text.endswith(")"):
                return int(self._stream.write(f"{held}{text[:-1]}, flaky={count})"))
            return int(self._stream.write(f"{held} (flaky={count}){text}"))
        if self._ran and text in ("OK", "FAILED") and self._flaky():
            self._held = text  # its counts follow in the next write
            return len(text)
        if text.startswith("Ran "):
            self._ran = True
        return int(self._stream.write(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class WithReruns:
    """A suite that, once run, runs its failures again (before unittest's summary)."""

    def __init__(self, suite: Any, after: Callable[[Any], None]) -> None:
        self.suite = suite
        self.after = after

    def __call__(self, result: Any) -> Any:
        outcome = self.suite(result)
        if not getattr(result, "shouldStop", False):
            self.after(result)
        return outcome

    def countTestCases(self) -> int:
        return int(self.suite.countTestCases())


class Reruns:
    """``--rerun-failures`` for one run."""

    def __init__(self, runner: Any, times: int) -> None:
        self.runner = runner
        self.times = times
        self.done: list[Rerun] = []

    @classmethod
    def of(cls, runner: Any) -> Reruns | None:
        """The run's reruns; None when off (and one line when --failfast or --pdb turn it off)."""
        times = runner.config.rerun_failures
        if not times:
            return None
        off = "--failfast" if runner.failfast else "--pdb" if getattr(runner, "pdb", False) else ""
        if off:
            print(f"--rerun-failures is not applied under {off}.", file=sys.stderr)
            return None
        return cls(runner, times)

    def wrap(self, suite: Any) -> WithReruns:
        return WithReruns(suite, self.after)

    def stream(self, base: Any) -> Summary:
        return Summary(base, self.flaky)

    def flaky(self) -> int:
        return sum(item.flaky for item in self.done)

    def after(self, result: Any) -> None:
        self.done = rerun(self.runner, result, self.times)
        if self.runner.junit is not None:
            mark_junit(self.runner.junit, self.done, self.runner.config.flaky_fails)

    def report(self) -> None:
        """Print the flaky tests after the summary; count them in the flaky store."""
        for line in listing(self.done, self.times):
            print(line, file=sys.stderr)
        if self.runner.shard is None:
            from django_testkit.parallel.durations import durations_path

            try:
                record_flaky(flaky_path(durations_path(self.runner.config)), self.done)
            except OSError as exc:
                print(f"Could not record the flaky tests: {exc}", file=sys.stderr)
