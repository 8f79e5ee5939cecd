"""The parent's side of test events: each one fed to the run's result as if the test ran here.

The parent replays a worker's events (see :mod:`django_testkit.parallel.protocol`)
on its own result with :func:`replay`, one function per kind of event, so the
run's output, counts and ``suite_result`` are those of a serial run; errors are
printed with the text unittest gave them in the worker (:func:`with_replay`).
"""

from __future__ import annotations

import io
import logging
import pickle
import sys
import unittest
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from django_testkit import _compat
from django_testkit.parallel.protocol import (
    TEST_EVENTS,
    AddDuration,
    AddError,
    AddExpectedFailure,
    AddFailure,
    AddSkip,
    AddSubTest,
    AddSuccess,
    AddUnexpectedSuccess,
    Extra,
    Holder,
    RemoteError,
    StartTest,
    StopTest,
    TestEvent,
    dispatch_table,
)

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

#: unittest's marker for "subTest() without a message"; it must stay that very object.
_STDOUT_LINE: str = unittest.result.STDOUT_LINE
_STDERR_LINE: str = unittest.result.STDERR_LINE


class RemoteException(Exception):
    """Stands in for an exception that could not be carried from a worker intact."""


def rebuild_error(error: RemoteError) -> ExcInfo:
    """The worker's exception as an ``exc_info`` triple, or a stand-in that says what it was."""
    if error.pickled is not None:
        try:
            exc_type, value, tb = pickle.loads(error.pickled)
            return exc_type, value, tb
        except Exception:
            pass
    stand_in = RemoteException(f"{error.type_name}: {error.message}")
    return RemoteException, stand_in, None


class ReplayResultMixin:
    """Mixed into the parent's result class: prints replayed errors as the worker did."""

    _testkit_texts: dict[int, str]

    def _exc_info_to_string(self, err: Any, test: Any) -> str:
        text: str | None = getattr(self, "_testkit_texts", {}).get(id(err[1]))
        if text is None:
            return super()._exc_info_to_string(err, test)  # type: ignore[misc,no-any-return]
        if getattr(self, "buffer", False):
            # As unittest does: the test's captured output follows the traceback.
            out, errors = sys.stdout, sys.stderr
            if isinstance(out, io.StringIO) and out.getvalue():
                output = out.getvalue()
                text += _STDOUT_LINE % (output if output.endswith("\n") else output + "\n")
            if isinstance(errors, io.StringIO) and errors.getvalue():
                error = errors.getvalue()
                text += _STDERR_LINE % (error if error.endswith("\n") else error + "\n")
        return text


def with_replay(resultclass: type) -> type:
    """A subclass of ``resultclass`` that prints replayed errors exactly as the worker did."""
    if issubclass(resultclass, ReplayResultMixin):
        return resultclass
    return type(
        resultclass.__name__,
        (ReplayResultMixin, resultclass),
        {"__module__": resultclass.__module__},
    )


def _write_extra(result: Any, extra: Extra | None) -> None:
    if extra is None:
        return
    if extra.stdout or extra.stderr:
        out, err = sys.stdout, sys.stderr
        if getattr(result, "buffer", False) and isinstance(out, io.StringIO):
            out.write(extra.stdout)
            if isinstance(err, io.StringIO):
                err.write(extra.stderr)
        else:
            sys.stdout.write(extra.stdout)
            sys.stderr.write(extra.stderr)
    # Django's --debug-sql result formats the queries through the handler it added.
    handler = getattr(result, "handler", None)
    if extra.sql and isinstance(handler, logging.Handler):
        for state in extra.sql:
            handler.handle(logging.makeLogRecord(state))


def _err(result: Any, error: RemoteError) -> ExcInfo:
    err = rebuild_error(error)
    texts = getattr(result, "_testkit_texts", None)
    if texts is None:
        try:
            texts = result._testkit_texts = {}
        except AttributeError:
            return err
    texts.clear()
    texts[id(err[1])] = error.text
    return err


def _call(result: Any, name: str, *args: Any) -> None:
    method = getattr(result, name, None)
    if method is not None:
        method(*args)


def _replay_holder(result: Any, holder: Holder, event: TestEvent) -> None:
    stand_in = _compat.error_holder(holder.text)
    # Every replayed test ends its line, so that a class-level error keeps its name.
    _compat.end_pending_line(result)
    # unittest captures output around class fixtures too (--buffer).
    _compat.capture_output(result)
    try:
        if isinstance(event, AddSkip):
            _write_extra(result, event.extra)
            result.addSkip(stand_in, event.reason)
        elif isinstance(event, AddError):
            _write_extra(result, event.extra)
            result.addError(stand_in, _err(result, event.error))
    finally:
        _compat.release_output(result)


def _start(result: Any, test: Any, event: StartTest) -> None:
    result.startTest(test)


def _stop(result: Any, test: Any, event: StopTest) -> None:
    _write_extra(result, event.extra)
    result.stopTest(test)


def _success(result: Any, test: Any, event: AddSuccess) -> None:
    result.addSuccess(test)


def _unexpected_success(result: Any, test: Any, event: AddUnexpectedSuccess) -> None:
    result.addUnexpectedSuccess(test)


def _duration(result: Any, test: Any, event: AddDuration) -> None:
    _call(result, "addDuration", test, event.seconds)


def _skip(result: Any, test: Any, event: AddSkip) -> None:
    _write_extra(result, event.extra)
    result.addSkip(test, event.reason)


def _error(result: Any, test: Any, event: AddError) -> None:
    _write_extra(result, event.extra)
    result.addError(test, _err(result, event.error))


def _failure(result: Any, test: Any, event: AddFailure) -> None:
    _write_extra(result, event.extra)
    result.addFailure(test, _err(result, event.error))


def _expected_failure(result: Any, test: Any, event: AddExpectedFailure) -> None:
    _write_extra(result, event.extra)
    result.addExpectedFailure(test, _err(result, event.error))


def _subtest(result: Any, test: Any, event: AddSubTest) -> None:
    message, params = event.subtest
    if message is None:
        message = _compat.SUBTEST_NO_MESSAGE
    subtest = _compat.make_subtest(test, message, params)
    _write_extra(result, event.extra)
    error = event.error
    result.addSubTest(test, subtest, None if error is None else _err(result, error))


#: One replayer per kind of test event.
REPLAYERS: dict[type[Any], Callable[[Any, Any, Any], None]] = dispatch_table(
    {
        StartTest: _start,
        StopTest: _stop,
        AddSuccess: _success,
        AddUnexpectedSuccess: _unexpected_success,
        AddDuration: _duration,
        AddSkip: _skip,
        AddError: _error,
        AddFailure: _failure,
        AddExpectedFailure: _expected_failure,
        AddSubTest: _subtest,
    },
    TEST_EVENTS,
)


def replay(result: Any, tests: Sequence[Any], event: TestEvent) -> None:
    """Feed one worker event to ``result`` as if the test had run here."""
    ref = event.ref
    if isinstance(ref, Holder):
        _replay_holder(result, ref, event)
    else:
        REPLAYERS[type(event)](result, tests[ref], event)
