"""The bookkeeping of ``--rerun-failures``: labels, re-run outcomes, the summary's count,
the flaky store and the JUnit elements; no process is started."""

from __future__ import annotations

import io
import json
import unittest
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from django_testkit.junit import Case, Recorder, document
from django_testkit.parallel.flaky import (
    Attempt,
    attempts_from_junit,
    collect,
    mark_junit,
    record_flaky,
)
from django_testkit.parallel.reruns import Summary, rerun


class Sample(unittest.TestCase):
    __test__ = False  # material for the tests below

    def test_a(self) -> None: ...

    def test_b(self) -> None: ...


def result_with(*failing: tuple[str, Any]) -> unittest.TestResult:
    result = unittest.TestResult()
    for kind, test in failing:
        getattr(result, f"{kind}s").append((test, f"Traceback: {test.id()} {kind}"))
    return result


def test_labels_are_test_ids_and_the_class_of_a_fixture_error() -> None:
    holder = unittest.suite._ErrorHolder(f"setUpClass ({__name__}.Sample)")  # type: ignore[attr-defined]
    result = result_with(
        ("failure", Sample("test_a")), ("error", holder), ("error", Sample("test_a"))
    )
    found = collect(result)
    assert [(item.label, item.first_kind, len(item.entries)) for item in found] == [
        (f"{__name__}.Sample.test_a", "failure", 2),
        (f"{__name__}.Sample", "error", 1),
    ]


JUNIT = b"""<testsuites><testsuite>
<testcase classname="app.tests.T" name="test_ok" />
<testcase classname="app.tests.T" name="test_bad">
<failure type="AssertionError" message="no">trace</failure></testcase>
<testcase classname="app.tests.U" name="setUpClass">
<error type="RuntimeError" message="x">t2</error></testcase>
<testcase classname="app.tests.V" name="test_1" />
<testcase classname="app.tests.V" name="test_2"><skipped message="later" /></testcase>
</testsuite></testsuites>"""


def test_a_rerun_report_says_how_each_label_ended() -> None:
    labels = ["app.tests.T.test_ok", "app.tests.T.test_bad", "app.tests.U", "app.tests.V", "gone"]
    ended = attempts_from_junit(JUNIT, labels)
    assert ended["app.tests.T.test_ok"] == Attempt(True)
    assert ended["app.tests.T.test_bad"] == Attempt(
        False, "failure", "AssertionError", "no", "trace"
    )
    assert ended["app.tests.U"] == Attempt(False, "error", "RuntimeError", "x", "t2")
    assert ended["app.tests.V"] == Attempt(True)  # a skip is no failure
    assert not ended["gone"].passed


def _runner(flaky_fails: bool = False) -> Any:
    return SimpleNamespace(config=SimpleNamespace(flaky_fails=flaky_fails))


def test_flaky_entries_leave_the_result_and_failing_ones_run_every_round() -> None:
    a, b = Sample("test_a"), Sample("test_b")
    result = result_with(("failure", a), ("error", b))
    calls: list[list[str]] = []

    def run(runner: Any, labels: list[str], number: int) -> dict[str, Attempt]:
        calls.append(labels)
        return {
            label: Attempt(label.endswith("test_a") and number == 2, "failure") for label in labels
        }

    done = rerun(_runner(), result, 3, run)
    assert calls == [[a.id(), b.id()], [a.id(), b.id()], [b.id()]]
    assert [(item.label, item.flaky, len(item.attempts)) for item in done] == [
        (a.id(), True, 2),
        (b.id(), False, 3),
    ]
    assert result.failures == []
    assert [entry[0] for entry in result.errors] == [b]
    kept = result_with(("failure", a))
    rerun(_runner(flaky_fails=True), kept, 1, lambda *_: {a.id(): Attempt(True)})
    assert len(kept.failures) == 1


def test_the_summary_counts_flaky_tests_after_unittests_own_counts() -> None:
    for writes, expected in [
        (["OK", "\n"], "OK (flaky=2)\n"),
        (["OK", " (skipped=1)", "\n"], "OK (skipped=1, flaky=2)\n"),
        (["FAILED", " (failures=1)", "\n"], "FAILED (failures=1, flaky=2)\n"),
    ]:
        out = io.StringIO()
        stream = Summary(out, lambda: 2)
        for text in ["OK", "\n", "Ran 3 tests in 0.1s", "\n", "\n", *writes]:
            stream.write(text)
        # "OK" before the "Ran" line is a test's own output: left alone.
        assert out.getvalue() == "OK\nRan 3 tests in 0.1s\n\n" + expected
    quiet = io.StringIO()
    stream = Summary(quiet, lambda: 0)
    for text in ["Ran 1 test in 0.1s", "\n", "OK", "\n"]:
        stream.write(text)
    assert quiet.getvalue() == "Ran 1 test in 0.1s\nOK\n"


def test_the_flaky_store_counts_each_test(tmp_path: Path) -> None:
    path = tmp_path / "flaky.json"
    path.write_text("not json")
    item = collect(result_with(("failure", Sample("test_a"))))[0]
    item.attempts.append(Attempt(True))
    record_flaky(path, [item])
    record_flaky(path, [item])
    data = json.loads(path.read_text())
    assert data["format"] == 1
    assert data["tests"][Sample("test_a").id()]["count"] == 2


def test_junit_gets_surefires_rerun_elements(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path)
    a, b = Sample("test_a"), Sample("test_b")
    for test in (a, b):
        recorder.cases[test.id()] = Case(
            "Sample", test.id(), outcome="failure", kind="AssertionError", message="m", text="t"
        )
    items = collect(result_with(("failure", a), ("failure", b)))
    items[0].attempts = [Attempt(False, "error", "E", "m2", "t2"), Attempt(True)]
    items[1].attempts = [Attempt(False, "failure", "AssertionError", "m", "t3")]
    mark_junit(recorder, items, flaky_fails=False)
    assert recorder.cases[a.id()].outcome == ""
    assert [tag for tag, *_ in recorder.cases[a.id()].reruns] == ["flakyFailure", "flakyError"]
    assert [tag for tag, *_ in recorder.cases[b.id()].reruns] == ["rerunFailure"]
    text = document(recorder, {}, "x").decode()
    assert '<flakyError message="m2" type="E">' in text
    assert "<stackTrace>t3</stackTrace>" in text
