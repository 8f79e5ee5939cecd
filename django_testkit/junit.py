"""``--junit-xml PATH``: the run's outcomes as one JUnit XML file, for CI systems to read.

A result class wrapper (:func:`with_junit`) notes each test as its outcome is
reported, in the process that prints it: serially as tests run, with workers as
their events are replayed. Times are what the test took where it ran (the
duration unittest or the worker measured, else start to stop here). Every test is
one ``testcase``: ``classname``, ``name``, ``file``, ``line``, ``time`` in
seconds, and a ``failure``, ``error`` or ``skipped`` element with the message
and the full traceback text the console shows (captured output included under
``--buffer``). Failed subtests make their test a failure that names them; a
class or module fixture that errored is a ``testcase`` of its own; a test that
did not run because its worker died is an error. The file is written atomically;
characters XML cannot hold are written as ``\\xNN`` escapes.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import re
import socket
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from django_testkit import _compat

#: Characters XML 1.0 cannot hold, even escaped.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: How unittest names a class or module fixture's stand-in: "setUpClass (app.tests.C)".
_FIXTURE = re.compile(r"^(?P<fixture>\w+) \((?P<name>[\w.]+)\)$")
#: Longest ``message`` attribute (the whole text is in the element's body).
MESSAGE_LENGTH = 1000


def _clean(text: str) -> str:
    return _FORBIDDEN.sub(lambda match: f"\\x{ord(match[0]):02x}", text)


@dataclass
class Case:
    """One ``testcase``: where the test is, how long it took, and how it ended."""

    classname: str
    name: str
    file: str = ""
    line: int = 0
    seconds: float = 0.0
    #: "" (passed), "failure", "error" or "skipped".
    outcome: str = ""
    kind: str = ""
    message: str = ""
    text: str = ""
    subtests: list[str] = field(default_factory=list)
    started: float = 0.0
    timed: bool = False
    #: Surefire's re-run elements: (tag, type, message, stack trace).
    reruns: list[tuple[str, str, str, str]] = field(default_factory=list)


def _where(owner: Any, attribute: str, project: Path) -> tuple[str, int]:
    """The file (relative to the project when inside it) and line of a method."""
    method = getattr(owner, attribute, None)
    method = getattr(method, "__func__", method)  # a classmethod, bound
    if method is None:
        return "", 0
    try:
        method = inspect.unwrap(method)
        path = inspect.getsourcefile(method) or ""
        line = method.__code__.co_firstlineno
    except (TypeError, AttributeError, OSError):
        return "", 0
    if path and os.path.isabs(path):
        with contextlib.suppress(ValueError):  # another drive (Windows)
            path = os.path.relpath(path, project)
        if path.startswith(".."):
            path = os.path.abspath(os.path.join(project, path))
    return path, line


def _class_named(classname: str) -> Any:
    module, _, name = classname.rpartition(".")
    return getattr(sys.modules.get(module), name, None)


def _names(test: Any) -> tuple[str, str]:
    test_id = str(test.id())
    fixture = _FIXTURE.match(test_id)
    if fixture:
        return fixture["name"], fixture["fixture"]
    classname, _, name = test_id.rpartition(".")
    return classname, name


def _summary(err: Any) -> tuple[str, str]:
    kind, value = err[0], err[1]
    name = getattr(kind, "__name__", str(kind))
    first = str(value).strip().splitlines()
    return name, (first[0] if first else name)[:MESSAGE_LENGTH]


class Recorder:
    """The cases of one run, in the order their tests were first reported."""

    def __init__(self, project: Path) -> None:
        self.project = project
        #: By test id: unittest lets go of a test object once it ran, and another may
        #: then get its ``id()``.
        self.cases: dict[str, Case] = {}
        self.started = time.time()

    def case(self, test: Any) -> Case:
        key = str(test.id())
        found = self.cases.get(key)
        if found is None:
            classname, name = _names(test)
            file, line = _where(_class_named(classname) or type(test), name, self.project)
            found = self.cases[key] = Case(classname, name, file, line)
        return found

    def outcome(self, test: Any, outcome: str, err: Any, text: str) -> None:
        case = self.case(test)
        case.outcome = outcome
        if err is not None:
            case.kind, case.message = _summary(err)
        case.text = text

    def not_run(self, items: Iterable[Any]) -> None:
        """Tests the run did not run (``NotRun``: ``test_id``, ``reason``): errors."""
        for item in items:
            classname, _, name = item.test_id.rpartition(".")
            message = f"not run: {item.reason}"
            file, line = _where(_class_named(classname), name, self.project)
            self.cases[item.test_id] = Case(
                classname, name, file, line, outcome="error", kind="NotRun", message=message
            )
            self.cases[item.test_id].text = message


def with_junit(base: type, recorder: Recorder) -> type:
    """``base`` also telling ``recorder`` about every test."""

    class JUnitResult(base):  # type: ignore[misc]
        def startTest(self, test: Any) -> None:
            recorder.case(test).started = time.perf_counter()
            super().startTest(test)

        def stopTest(self, test: Any) -> None:
            super().stopTest(test)
            case = recorder.case(test)
            if not case.timed and case.started:
                case.seconds = time.perf_counter() - case.started

        def addDuration(self, test: Any, elapsed: float) -> None:
            parent = getattr(super(), "addDuration", None)
            if parent is not None:
                parent(test, elapsed)
            case = recorder.case(test)
            case.seconds, case.timed = elapsed, True

        def addSuccess(self, test: Any) -> None:
            super().addSuccess(test)
            recorder.case(test)

        def addError(self, test: Any, err: Any) -> None:
            super().addError(test, err)
            recorder.outcome(test, "error", err, self.errors[-1][1] if self.errors else "")

        def addFailure(self, test: Any, err: Any) -> None:
            super().addFailure(test, err)
            recorder.outcome(test, "failure", err, self.failures[-1][1] if self.failures else "")

        def addSkip(self, test: Any, reason: str) -> None:
            super().addSkip(test, reason)
            recorder.outcome(test, "skipped", None, "")
            recorder.case(test).message = reason[:MESSAGE_LENGTH]

        def addExpectedFailure(self, test: Any, err: Any) -> None:
            super().addExpectedFailure(test, err)
            recorder.outcome(test, "skipped", None, "")
            recorder.case(test).message = "expected failure"

        def addUnexpectedSuccess(self, test: Any) -> None:
            super().addUnexpectedSuccess(test)
            recorder.outcome(test, "failure", None, "")
            case = recorder.case(test)
            case.kind, case.message = "UnexpectedSuccess", "unexpected success"

        def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
            super().addSubTest(test, subtest, err)
            if err is None:
                return
            case = recorder.case(test)
            problems = self.failures if issubclass(err[0], test.failureException) else self.errors
            text = problems[-1][1] if problems else ""
            described = _compat.subtest_description(subtest)
            case.subtests.append(f"{described}\n{text}")
            if case.outcome != "error":
                case.outcome = "failure"
                case.kind = "SubTestFailure"
            count = len(case.subtests)
            case.message = (
                f"{count} subtest{'s' if count > 1 else ''} failed: "
                + ", ".join(entry.split("\n", 1)[0] for entry in case.subtests)[:MESSAGE_LENGTH]
            )
            case.text = "\n".join(case.subtests)

    JUnitResult.__name__ = JUnitResult.__qualname__ = f"JUnit{base.__name__}"
    return JUnitResult


def document(recorder: Recorder, properties: Mapping[str, str], name: str) -> bytes:
    """The XML text of the run's report."""
    cases = list(recorder.cases.values())
    counts = {
        outcome: sum(case.outcome == outcome for case in cases)
        for outcome in ("failure", "error", "skipped")
    }
    total = sum(case.seconds for case in cases)
    stamp = datetime.fromtimestamp(recorder.started, UTC).isoformat(timespec="seconds")
    attributes = {
        "name": name,
        "tests": str(len(cases)),
        "failures": str(counts["failure"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["skipped"]),
        "time": f"{total:.3f}",
        "timestamp": stamp,
        "hostname": socket.gethostname(),
    }
    root = ElementTree.Element("testsuites", {k: attributes[k] for k in list(attributes)[:6]})
    suite = ElementTree.SubElement(root, "testsuite", attributes)
    listed = ElementTree.SubElement(suite, "properties")
    for key, value in properties.items():
        ElementTree.SubElement(listed, "property", {"name": key, "value": _clean(str(value))})
    for case in cases:
        element = ElementTree.SubElement(
            suite,
            "testcase",
            {
                "classname": _clean(case.classname),
                "name": _clean(case.name),
                "file": _clean(case.file),
                "line": str(case.line),
                "time": f"{case.seconds:.3f}",
            },
        )
        if case.outcome:
            detail = {"message": _clean(case.message)}
            if case.kind and case.outcome != "skipped":
                detail["type"] = _clean(case.kind)
            ElementTree.SubElement(element, case.outcome, detail).text = _clean(case.text) or None
        for tag, kind, message, trace in case.reruns:
            again = ElementTree.SubElement(
                element, tag, {"message": _clean(message[:MESSAGE_LENGTH]), "type": _clean(kind)}
            )
            ElementTree.SubElement(again, "stackTrace").text = _clean(trace) or None
    ElementTree.indent(root)
    text: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return text + b"\n"
