"""Unit tests of outcome events: record with EventResult, pickle, replay, compare with serial.

No processes: the "worker" and the "parent" are two results in this process, and
every event goes through pickle on the way, as it does between processes.
"""

from __future__ import annotations

import io
import pickle
import re
import sys
import threading
import unittest
from typing import Any

import pytest

from django_testkit.parallel import results
from django_testkit.parallel.protocol import (
    AddDuration,
    AddError,
    AddSuccess,
    Batch,
    Holder,
    StartTest,
    StopTest,
)
from django_testkit.parallel.replay import RemoteException, replay, with_replay
from django_testkit.parallel.results import EventResult


class Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.lock = threading.Lock()


class Sample(unittest.TestCase):
    __test__ = False  # run by the tests below, not collected by pytest

    def test_pass(self) -> None:
        pass

    def test_fail_with_output(self) -> None:
        print("said before failing")
        self.assertEqual(1, 2)  # noqa: PT009 (a unittest failure, on purpose)

    def test_chained(self) -> None:
        try:
            {}["key"]
        except KeyError as exc:
            raise ValueError("lookup") from exc

    def test_unpicklable(self) -> None:
        raise Unpicklable()

    def test_subtests(self) -> None:
        for value in (1, 2):
            with self.subTest(value=value, lock=threading.Lock()):
                self.assertEqual(value, 1)  # noqa: PT009
        with self.subTest():
            self.fail("bare")

    def test_skip(self) -> None:
        self.skipTest("why not")

    @unittest.expectedFailure
    def test_expected(self) -> None:
        self.fail("known")

    @unittest.expectedFailure
    def test_unexpected(self) -> None:
        pass


class BrokenClass(unittest.TestCase):
    __test__ = False

    @classmethod
    def setUpClass(cls) -> None:
        raise RuntimeError("class setup failed")

    def test_never(self) -> None:
        pass


def _tests(case: type[unittest.TestCase]) -> list[Any]:
    return list(unittest.defaultTestLoader.loadTestsFromTestCase(case))


def _serial(tests: list[Any], buffer: bool) -> unittest.TextTestResult:
    result = unittest.TextTestResult(
        unittest.runner._WritelnDecorator(io.StringIO()),
        True,
        2,
    )
    result.buffer = buffer
    unittest.TestSuite(tests).run(result)
    return result


def _record(tests: list[Any], buffer: bool = False) -> list[Any]:
    """Run ``tests`` in an EventResult; the events it sent, each through pickle."""
    messages: list[Any] = []
    worker = EventResult(
        lambda message: messages.append(pickle.loads(pickle.dumps(message))), tests, buffer=buffer
    )
    unittest.TestSuite(tests).run(worker)
    worker.flush()
    assert all(isinstance(message, Batch) for message in messages)
    return [event for message in messages for event in message.events]


def _replayed(tests: list[Any], buffer: bool) -> unittest.TextTestResult:
    events = _record(tests, buffer)
    resultclass = with_replay(unittest.TextTestResult)
    parent = resultclass(unittest.runner._WritelnDecorator(io.StringIO()), True, 2)
    parent.buffer = buffer
    for event in events:
        replay(parent, tests, event)
    return parent  # type: ignore[no-any-return]


def _summary(result: unittest.TestResult) -> dict[str, Any]:
    def texts(pairs: list[tuple[Any, str]]) -> list[tuple[str, str]]:
        return sorted((str(test), text) for test, text in pairs)

    return {
        "ran": result.testsRun,
        "errors": texts(result.errors),
        "failures": texts(result.failures),
        "skipped": texts(result.skipped),
        "expected": sorted(str(test) for test, _ in result.expectedFailures),
        "unexpected": sorted(str(test) for test in result.unexpectedSuccesses),
    }


def _without_addresses(summary: dict[str, Any]) -> str:
    return re.sub(r" at 0x[0-9a-f]+", "", repr(summary))


@pytest.mark.parametrize("buffer", [False, True], ids=["plain", "buffer"])
@pytest.mark.parametrize("case", [Sample, BrokenClass])
def test_replay_gives_the_serial_result_text_for_text(
    case: type[unittest.TestCase], buffer: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    serial = _summary(_serial(_tests(case), buffer))
    replayed = _summary(_replayed(_tests(case), buffer))
    assert _without_addresses(replayed) == _without_addresses(serial)


def test_replayed_output_under_buffer_is_attached_to_the_failure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = _replayed(_tests(Sample), buffer=True)
    (text,) = [text for test, text in result.failures if "fail_with_output" in str(test)]
    assert text.endswith("\nStdout:\nsaid before failing\n")
    # unittest also prints a failing test's output once the test stops.
    assert "said before failing" in capsys.readouterr().out


def test_chained_exceptions_keep_both_tracebacks_and_carets() -> None:
    result = _replayed(_tests(Sample), buffer=False)
    (text,) = [text for test, text in result.errors if "chained" in str(test)]
    assert "KeyError: 'key'" in text
    assert "The above exception was the direct cause of the following exception:" in text
    assert 'raise ValueError("lookup") from exc' in text


def test_an_exception_that_cannot_be_pickled_arrives_as_a_stand_in() -> None:
    tests = _tests(Sample)
    errors = [event for event in _record(tests) if isinstance(event, AddError)]
    (error,) = [event.error for event in errors if "Unpicklable" in event.error.type_name]
    assert error.pickled is None
    assert error.type_name == "tests.test_replay.Unpicklable"
    parent = unittest.TestResult()
    replay(parent, tests, AddError(0, error, None))
    (_, text) = parent.errors[0]
    assert "RemoteException: tests.test_replay.Unpicklable: holds a lock" in text
    assert issubclass(RemoteException, Exception)


def test_subtests_without_a_message_are_named_as_serially() -> None:
    result = _replayed(_tests(Sample), buffer=False)
    names = sorted(str(test) for test, _ in result.failures if "subtests" in str(test))
    assert any(name.endswith("(<subtest>)") for name in names), names
    assert not any("<object object" in name for name in names), names


def test_a_tests_events_travel_in_one_message_and_failures_at_once() -> None:
    messages: list[Any] = []
    tests = _tests(Sample)
    worker = EventResult(messages.append, tests)
    unittest.TestSuite(tests[:1]).run(worker)  # test_chained: an error
    first = [type(event) for event in messages[0].events]
    assert first == [StartTest, AddError]
    # (Python 3.12+ adds the test's duration just before it stops.)
    assert [type(e) for e in messages[1].events if not isinstance(e, AddDuration)] == [StopTest]
    messages.clear()
    passing = [test for test in tests if test._testMethodName == "test_pass"]
    unittest.TestSuite(passing).run(worker)
    worker.flush()
    names = [type(e) for m in messages for e in m.events if not isinstance(e, AddDuration)]
    assert names == [StartTest, AddSuccess, StopTest]
    assert len(messages) <= 2  # the test, then anything unittest adds after stopTest


def _kinds(messages: list[Any]) -> list[type]:
    return [type(e) for m in messages for e in m.events if not isinstance(e, AddDuration)]


def test_passes_wait_and_go_out_with_the_next_message_that_says_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(results, "HOLD_PASSES", 3600.0)
    messages: list[Any] = []
    tests = _tests(Sample)
    passing = [test for test in tests if test._testMethodName == "test_pass"]
    failing = [test for test in tests if test._testMethodName == "test_chained"]
    worker = EventResult(messages.append, passing + failing)
    unittest.TestSuite(passing).run(worker)
    assert messages == []
    unittest.TestSuite(failing).run(worker)
    # In order, and the failing test's stop goes out at once too.
    assert _kinds(messages) == [StartTest, AddSuccess, StopTest, StartTest, AddError, StopTest]


def test_passes_go_out_once_the_hold_time_has_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(results, "HOLD_PASSES", 0.0)
    messages: list[Any] = []
    passing = [test for test in _tests(Sample) if test._testMethodName == "test_pass"]
    worker = EventResult(messages.append, passing)
    unittest.TestSuite(passing).run(worker)
    assert _kinds(messages) == [StartTest, AddSuccess, StopTest]


def test_should_stop_follows_the_pools_request() -> None:
    stop = {"now": False}
    result = EventResult(lambda event: None, [], should_stop=lambda: stop["now"])
    assert not result.shouldStop
    stop["now"] = True
    assert result.shouldStop
    other = EventResult(lambda event: None, [])
    other.stop()
    assert other.shouldStop


def test_class_level_errors_are_replayed_on_a_stand_in_with_the_class_name() -> None:
    result = _replayed(_tests(BrokenClass), buffer=True)
    assert [str(test) for test, _ in result.errors] == [
        "setUpClass (tests.test_replay.BrokenClass)"
    ]
    assert result.testsRun == 0
    assert sys.stdout is sys.__stdout__ or not isinstance(sys.stdout, io.StringIO)


def test_a_class_level_error_after_an_expected_failure_keeps_its_name() -> None:
    """In parallel runs any test may come before a class-level error; Python 3.11's
    "expected failure" status leaves unittest thinking the line is still open."""
    events = _record(_tests(Sample)) + _record(_tests(BrokenClass))
    expected = [
        e for e in events if not isinstance(e, AddDuration) and e.ref == 1
    ]  # test_expected
    holder = [e for e in events if isinstance(e.ref, Holder)]
    stream = io.StringIO()
    resultclass = with_replay(unittest.TextTestResult)
    parent = resultclass(unittest.runner._WritelnDecorator(stream), True, 2)
    tests = _tests(Sample)
    assert str(tests[1]).startswith("test_expected ")
    for event in [*expected, *holder]:
        replay(parent, tests, event)
    lines = stream.getvalue().splitlines()
    assert lines[-1] == "setUpClass (tests.test_replay.BrokenClass) ... ERROR", lines
