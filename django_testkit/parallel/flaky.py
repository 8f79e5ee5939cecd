"""The bookkeeping of flaky tests: what to run again, how each re-run ended, the listing
after the summary, ``flaky.json`` and the JUnit report's Surefire elements.

Pure but for :func:`record_flaky`, which writes the store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from django_testkit.files import MISSING, REGULAR, kind_of, read_regular, write_text
from django_testkit.parallel.failures import identify

FLAKY_FILE = "flaky.json"


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


def collect(result: Any) -> list[Rerun]:
    """The labels to run again, in the order they first failed."""
    found: dict[str, Rerun] = {}
    for kind, entries in (("failure", result.failures), ("error", result.errors)):
        for entry in entries:
            # A test's id (a subtest's test), or the class or module whose fixture errored.
            label = identify(entry[0])[0]
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
        data = json.loads(read_regular(path) or b"null")
        if isinstance(data, dict) and isinstance(data.get("tests"), dict):
            tests = data["tests"]
    except (ValueError, RecursionError):
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
