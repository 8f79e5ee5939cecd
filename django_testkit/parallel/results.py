"""The worker's side of test outcomes: every call unittest makes on a result, sent as an event.

A worker runs its tests with :class:`EventResult`, which turns every call
unittest makes on a result into one of the test events of
:mod:`django_testkit.parallel.protocol` and sends it. The parent feeds each
event to its own result (see :mod:`django_testkit.parallel.replay`), so the
run's output, counts and ``suite_result`` are those of a serial run.

Events go out as soon as they say anything but "passed": a failure, an error, a
skip, a subtest, captured output, a class-level fixture's event. Tests that simply
passed are held back and go out together, at most :data:`HOLD_PASSES` seconds
after the last message and at the end of the unit: one message per test would cost
the parent and the worker more than a short test does. What a worker that dies holds
back is not lost: it marks in shared memory how far its unit got (see
:mod:`django_testkit.parallel.worker`), and every test it finished without saying
anything else passed.
"""

from __future__ import annotations

import logging
import pickle
import time
import unittest
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from tblib import pickling_support  # type: ignore[import-untyped]

from django_testkit import _compat
from django_testkit.parallel.protocol import (
    AddDuration,
    AddError,
    AddExpectedFailure,
    AddFailure,
    AddSkip,
    AddSubTest,
    AddSuccess,
    AddUnexpectedSuccess,
    Batch,
    Extra,
    Holder,
    Ref,
    RemoteError,
    StartTest,
    StopTest,
    TestEvent,
)

Send = Callable[[Batch], None]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

_SQL_LOGGER = "django.db.backends"
#: unittest's marker for "subTest() without a message"; it must stay that very object.


class _Repr:
    """A value that could not be pickled, shown as it was (for subtest parameters)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _picklable(value: object) -> object:
    try:
        pickle.dumps(value)
    except Exception:
        return _Repr(repr(value))
    return value


#: Events sent at once, with whatever was queued before them.
#: What a plain pass consists of; any other event goes out at once.
_PLAIN = (StartTest, AddSuccess, AddDuration, StopTest)
#: Longest time passes are held back while tests keep passing (seconds).
HOLD_PASSES = 0.05


class _RecordKeeper(logging.Handler):
    """Keeps the query log records of the running test, in a form that pickles."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        state = {**record.__dict__, "exc_info": None, "exc_text": None}
        try:
            pickle.dumps(state)
        except Exception:
            # Keep what the line says; values that cannot travel become their repr.
            state = {
                key: value if _picklable(value) is value else repr(value)
                for key, value in state.items()
            }
            state.update(msg=record.getMessage(), args=None)
        self.records.append(state)


class EventResult(unittest.TestResult):
    """A worker's result: every outcome becomes an event passed to ``send``."""

    def __init__(
        self,
        send: Send,
        tests: Sequence[unittest.TestCase],
        *,
        failfast: bool = False,
        buffer: bool = False,
        debug_sql: bool = False,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self._stop_requested = should_stop
        self._stopped = False
        super().__init__()
        self.failfast = failfast
        self.buffer = buffer
        self._send_now = send
        self._batch: list[TestEvent] = []
        self._sent_at = time.monotonic()
        self._passing = True
        self._index = {id(test): index for index, test in enumerate(tests)}
        self._sent_out = (0, 0)
        self._sql: list[dict[str, Any]] = []
        self._sql_handler: logging.Handler | None = None
        self._debug_sql = debug_sql

    # unittest checks this between tests; the pool's stop request counts too.
    @property
    def shouldStop(self) -> bool:
        return self._stopped or self._stop_requested()

    @shouldStop.setter
    def shouldStop(self, value: bool) -> None:
        self._stopped = value

    def _send(self, event: TestEvent) -> None:
        """Queue an event: anything but a plain pass goes out at once, with what waits."""
        self._batch.append(event)
        plain = isinstance(event, _PLAIN) and not isinstance(event.ref, Holder)
        if plain and isinstance(event, StopTest) and event.extra is not None:
            plain = not any(event.extra)
        if isinstance(event, StartTest):
            self._passing = True
        if not plain:
            self._passing = False
            self.flush()
        elif isinstance(event, StopTest) and (
            not self._passing or time.monotonic() - self._sent_at >= HOLD_PASSES
        ):
            # The stop of a test that said more goes out too: only passes wait.
            self.flush()

    def flush(self) -> None:
        self._sent_at = time.monotonic()
        if self._batch:
            batch, self._batch = self._batch, []
            self._send_now(Batch(batch))

    def _ref(self, test: Any) -> Ref:
        index = self._index.get(id(test))
        return Holder(str(test)) if index is None else index

    def _extra(self) -> Extra:
        out = err = ""
        captured = _compat.buffered_output(self)
        if self.buffer and captured is not None:
            all_out, all_err = captured
            out, err = all_out[self._sent_out[0] :], all_err[self._sent_out[1] :]
            self._sent_out = (len(all_out), len(all_err))
        sql = tuple(self._sql)
        self._sql.clear()
        return Extra(out, err, sql)

    def _error(self, err: ExcInfo, test: Any) -> RemoteError:
        buffer, self.buffer = self.buffer, False
        try:
            text = _compat.exc_info_text(self, err, test)
        finally:
            self.buffer = buffer
        exc_type, value, tb = err
        try:
            pickling_support.install(value)
            pickled: bytes | None = pickle.dumps((exc_type, value, tb))
        except Exception:
            pickled = None
        return RemoteError(pickled, _qualified(exc_type), str(value), text)

    # The parent prints the captured output; the worker must not print it too.
    def _restoreStdout(self) -> None:
        _compat.stop_mirroring_output(self)
        super()._restoreStdout()  # type: ignore[misc]
        self._sent_out = (0, 0)

    def startTest(self, test: Any) -> None:
        super().startTest(test)
        self._sent_out = (0, 0)
        if self._debug_sql:
            self._sql.clear()
            self._sql_handler = _RecordKeeper(self._sql)
            logger = logging.getLogger(_SQL_LOGGER)
            logger.setLevel(logging.DEBUG)
            logger.addHandler(self._sql_handler)
        self._send(StartTest(self._ref(test)))

    def stopTest(self, test: Any) -> None:
        extra = self._extra()
        if self._sql_handler is not None:
            logging.getLogger(_SQL_LOGGER).removeHandler(self._sql_handler)
            self._sql_handler = None
        _compat.stop_mirroring_output(self)
        super().stopTest(test)
        self._send(StopTest(self._ref(test), extra))

    def addSuccess(self, test: Any) -> None:
        super().addSuccess(test)
        self._send(AddSuccess(self._ref(test)))

    def addUnexpectedSuccess(self, test: Any) -> None:
        super().addUnexpectedSuccess(test)
        self._send(AddUnexpectedSuccess(self._ref(test)))

    def addDuration(self, test: Any, elapsed: float) -> None:
        self._send(AddDuration(self._ref(test), elapsed))

    def addSkip(self, test: Any, reason: str) -> None:
        super().addSkip(test, reason)
        self._send(AddSkip(self._ref(test), reason, self._extra()))

    def addError(self, test: Any, err: Any) -> None:
        error = self._error(err, test)
        super().addError(test, err)
        self._send(AddError(self._ref(test), error, self._extra()))

    def addFailure(self, test: Any, err: Any) -> None:
        error = self._error(err, test)
        super().addFailure(test, err)
        self._send(AddFailure(self._ref(test), error, self._extra()))

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        error = self._error(err, test)
        super().addExpectedFailure(test, err)
        self._send(AddExpectedFailure(self._ref(test), error, self._extra()))

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        error = None if err is None else self._error(err, test)
        super().addSubTest(test, subtest, err)
        message = _compat.subtest_message(subtest)
        described = None if message is _compat.SUBTEST_NO_MESSAGE else _picklable(message)
        params = {key: _picklable(value) for key, value in subtest.params.items()}
        extra = self._extra()
        self._send(AddSubTest(self._ref(test), (described, params), error, extra))


def _qualified(exc_type: type[BaseException]) -> str:
    module = exc_type.__module__
    name = exc_type.__qualname__
    return name if module in {"builtins", "__main__"} else f"{module}.{name}"
