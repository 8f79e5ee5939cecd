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

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from django_testkit import _compat
from django_testkit.files import MISSING, REGULAR, kind_of, write_text
from django_testkit.parallel.failures import identify

FLAKY_FILE = "flaky.json"
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


@dataclass
class Attempt:
    """How one re-run of one label ended: passed, or the element's tag and its details."""

    passed: bool
    kind: str = ""  # "failure" or "error"
    type: str = ""
    message: str = ""
    text: str = ""


@dataclass
class Rerun:
    """A label (a test id, or a class or module whose fixture errored) and its entries."""

    label: str
    #: The result's entries ``(test, text[, queries])`` this label accounts for.
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    #: "failure" or "error": how it first failed.
    first_kind: str = "failure"
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def flaky(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].passed


def label_of(test: Any) -> str:
    """What to run again for a failed test: its id (a subtest's test), or the class or
    module whose fixture errored."""
    return identify(test)[0]


def collect(result: Any) -> list[Rerun]:
    """The labels to run again, in the order they first failed."""
    found: dict[str, Rerun] = {}
    for kind, entries in (("failure", result.failures), ("error", result.errors)):
        for entry in entries:
            label = label_of(entry[0])
            rerun = found.setdefault(label, Rerun(label, first_kind=kind))
            rerun.entries.append(entry)
    return list(found.values())


def _ending(case: ElementTree.Element) -> Attempt:
    for child in case:
        if child.tag in ("failure", "error"):
            return Attempt(
                False, child.tag, child.get("type", ""), child.get("message", ""), child.text or ""
            )
    return Attempt(True)


def attempts_from_junit(report: bytes, labels: Iterable[str]) -> dict[str, Attempt]:
    """How each label ended in a re-run's JUnit report (a label with no test: failed)."""
    cases = list(ElementTree.fromstring(report).iter("testcase"))
    ended: dict[str, Attempt] = {}
    for label in labels:
        mine = [
            case
            for case in cases
            if f"{case.get('classname')}.{case.get('name')}" == label
            or (case.get("classname") or "").startswith(label + ".")
            or case.get("classname") == label
        ]
        endings = [_ending(case) for case in mine]
        failed = [ending for ending in endings if not ending.passed]
        if failed:
            ended[label] = failed[0]
        elif endings:
            ended[label] = Attempt(True)
        else:
            ended[label] = Attempt(False, "error", "NotRun", "the re-run ran no test of it")
    return ended


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
        if not report.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
            why = f"the re-run process ended with status {done.returncode} ({last})"
            return {label: Attempt(False, "error", "RerunFailed", why, why) for label in labels}
        return attempts_from_junit(report.read_bytes(), labels)


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


def listing(reruns: list[Rerun], times: int) -> list[str]:
    """The lines after the summary: each flaky test with its first failure."""
    flaky = [item for item in reruns if item.flaky]
    if not flaky:
        return []
    count = len(flaky)
    lines = [
        f"Flaky: {count} test{'s' if count > 1 else ''} failed, then passed when run again "
        f"in a fresh process (--rerun-failures {times}):"
    ]
    for item in flaky:
        first = item.entries[0]
        lines += ["=" * 70, f"FLAKY: {item.label} (passed on re-run {len(item.attempts)})"]
        lines += ["-" * 70, str(first[1]).rstrip()]
    return lines


def record_flaky(path: Path | None, reruns: list[Rerun]) -> None:
    """Count each flaky test in ``flaky.json`` (beside the durations store)."""
    flaky = [item.label for item in reruns if item.flaky]
    if path is None or not flaky:
        return
    tests: dict[str, Any] = {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("tests"), dict):
            tests = data["tests"]
    except (OSError, ValueError, RecursionError):
        pass
    today = time.strftime("%Y-%m-%d")
    for label in flaky:
        entry = tests.get(label)
        count = entry.get("count") if isinstance(entry, dict) else None
        tests[label] = {"count": (count if isinstance(count, int) else 0) + 1, "last": today}
    document = {"format": 1, "tests": dict(sorted(tests.items()))}
    write_text(path, json.dumps(document, indent=2) + "\n")


def flaky_path(durations_file: Path) -> Path | None:
    """``flaky.json`` beside a durations store that is a file (or none yet)."""
    try:
        kind = kind_of(durations_file)
    except OSError:
        return None
    return durations_file.with_name(FLAKY_FILE) if kind in (MISSING, REGULAR) else None


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


def mark_junit(recorder: Any, reruns: list[Rerun], flaky_fails: bool) -> None:
    """Surefire's elements on the re-run tests' cases: ``flakyFailure``/``flakyError`` for
    each failure of a test that passed in the end, ``rerunFailure``/``rerunError`` for each
    re-run of one that kept failing."""
    for item in reruns:
        keys = {
            str((getattr(entry[0], "test_case", None) or entry[0]).id()) for entry in item.entries
        }
        for key in keys:
            case = recorder.cases.get(key)
            if case is None:
                continue
            failed = [attempt for attempt in item.attempts if not attempt.passed]
            if item.flaky:
                first = ("flaky" + (case.outcome or item.first_kind).capitalize(), case.kind)
                elements = [(*first, case.message, case.text)]
                elements += [
                    ("flaky" + a.kind.capitalize(), a.type, a.message, a.text) for a in failed
                ]
                if not flaky_fails:
                    case.outcome = ""
            else:
                elements = [
                    ("rerun" + a.kind.capitalize(), a.type, a.message, a.text) for a in failed
                ]
            case.reruns = elements
