"""Test outcomes as picklable events: recorded in a worker, replayed in the parent.

A worker runs its tests with :class:`EventResult`, which turns every call
unittest makes on a result into an event tuple and sends it at once. The
parent feeds each event to its own result with :func:`replay`, so the run's
output, counts and ``suite_result`` are those of a serial run.

Events (``ref`` is the test's index in its unit, or ``("holder", text)`` for
class- and module-level fixtures, which unittest reports on a stand-in):

``("startTest", i)``, ``("stopTest", i, extra)``, ``("addSuccess", i)``,
``("addUnexpectedSuccess", i)``, ``("addDuration", i, seconds)``,
``("addSkip", ref, reason, extra)``, ``("addError", ref, error, extra)``,
``("addFailure", i, error, extra)``, ``("addExpectedFailure", i, error, extra)``,
``("addSubTest", i, subtest, error_or_None, extra)``.

``extra`` carries what the worker captured since the previous event: output
under ``--buffer`` and SQL under ``--debug-sql``.
"""

from __future__ import annotations

import io
import logging
import pickle
import sys
import unittest
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, cast

from tblib import pickling_support  # type: ignore[import-untyped]

Event = tuple[Any, ...]
Send = Callable[[Event], None]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

_SQL_LOGGER = "django.db.backends"
#: unittest's marker for "subTest() without a message"; it must stay that very object.
_SENTINEL: object = unittest.case._subtest_msg_sentinel  # type: ignore[attr-defined]
_STDOUT_LINE: str = unittest.result.STDOUT_LINE
_STDERR_LINE: str = unittest.result.STDERR_LINE


class RemoteException(Exception):
    """Stands in for an exception that could not be carried from a worker intact."""


@dataclass(frozen=True)
class RemoteError:
    """An exception from a worker: pickled with its traceback, and as unittest printed it."""

    pickled: bytes | None
    type_name: str
    message: str
    #: unittest's text for it in the worker (chained exceptions, source lines, carets).
    text: str


@dataclass(frozen=True)
class Extra:
    stdout: str = ""
    stderr: str = ""
    #: Query log records (as dicts) under ``--debug-sql``, formatted by the parent's handler.
    sql: tuple[dict[str, Any], ...] = ()


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
_FLUSH_AT = frozenset({"stopTest", "addError", "addFailure"})


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
        self._batch: list[Event] = []
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

    def _send(self, event: Event) -> None:
        """Queue an event; a test's events go in one message when it stops.

        Failures and class-level events go at once, so that a worker that dies
        later cannot take them with it.
        """
        self._batch.append(event)
        failed = event[0] in _FLUSH_AT or (event[0] == "addSubTest" and event[3] is not None)
        if failed or isinstance(event[1], tuple):
            self.flush()

    def flush(self) -> None:
        if self._batch:
            batch, self._batch = self._batch, []
            self._send_now(("batch", batch))

    def _ref(self, test: Any) -> Any:
        index = self._index.get(id(test))
        return ("holder", str(test)) if index is None else index

    def _extra(self) -> Extra:
        out = err = ""
        stdout_buffer = getattr(self, "_stdout_buffer", None)
        stderr_buffer = getattr(self, "_stderr_buffer", None)
        if self.buffer and stdout_buffer is not None and stderr_buffer is not None:
            all_out, all_err = stdout_buffer.getvalue(), stderr_buffer.getvalue()
            out, err = all_out[self._sent_out[0] :], all_err[self._sent_out[1] :]
            self._sent_out = (len(all_out), len(all_err))
        sql = tuple(self._sql)
        self._sql.clear()
        return Extra(out, err, sql)

    def _error(self, err: ExcInfo, test: Any) -> RemoteError:
        buffer, self.buffer = self.buffer, False
        try:
            text: str = cast(Any, self)._exc_info_to_string(err, test)
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
        self._mirrorOutput = False
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
        self._send(("startTest", self._ref(test)))

    def stopTest(self, test: Any) -> None:
        extra = self._extra()
        if self._sql_handler is not None:
            logging.getLogger(_SQL_LOGGER).removeHandler(self._sql_handler)
            self._sql_handler = None
        self._mirrorOutput = False
        super().stopTest(test)
        self._send(("stopTest", self._ref(test), extra))

    def addSuccess(self, test: Any) -> None:
        super().addSuccess(test)
        self._send(("addSuccess", self._ref(test)))

    def addUnexpectedSuccess(self, test: Any) -> None:
        super().addUnexpectedSuccess(test)
        self._send(("addUnexpectedSuccess", self._ref(test)))

    def addDuration(self, test: Any, elapsed: float) -> None:
        self._send(("addDuration", self._ref(test), elapsed))

    def addSkip(self, test: Any, reason: str) -> None:
        super().addSkip(test, reason)
        self._send(("addSkip", self._ref(test), reason, self._extra()))

    def addError(self, test: Any, err: Any) -> None:
        error = self._error(err, test)
        super().addError(test, err)
        self._send(("addError", self._ref(test), error, self._extra()))

    def addFailure(self, test: Any, err: Any) -> None:
        error = self._error(err, test)
        super().addFailure(test, err)
        self._send(("addFailure", self._ref(test), error, self._extra()))

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        error = self._error(err, test)
        super().addExpectedFailure(test, err)
        self._send(("addExpectedFailure", self._ref(test), error, self._extra()))

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        error = None if err is None else self._error(err, test)
        super().addSubTest(test, subtest, err)
        message = subtest._message
        described = None if message is _SENTINEL else _picklable(message)
        params = {key: _picklable(value) for key, value in subtest.params.items()}
        extra = self._extra()
        self._send(("addSubTest", self._ref(test), (described, params), error, extra))


def _qualified(exc_type: type[BaseException]) -> str:
    module = exc_type.__module__
    name = exc_type.__qualname__
    return name if module in {"builtins", "__main__"} else f"{module}.{name}"


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


def replay(result: Any, tests: Sequence[Any], event: Event) -> None:
    """Feed one worker event to ``result`` as if the test had run here."""
    name, ref = event[0], event[1]
    if isinstance(ref, tuple):
        holder = unittest.suite._ErrorHolder(ref[1])  # type: ignore[attr-defined]
        if getattr(result, "_newline", None) is False:
            # Every replayed test ends its line; Python 3.11's "expected failure" status
            # does not record that, and a class-level error would lose its name.
            result._newline = True
        # unittest captures output around class fixtures too (--buffer).
        _call(result, "_setupStdout")
        try:
            _write_extra(result, event[-1])
            if name == "addSkip":
                result.addSkip(holder, event[2])
            else:
                result.addError(holder, _err(result, event[2]))
        finally:
            _call(result, "_restoreStdout")
        return
    test = tests[ref]
    if name == "startTest":
        result.startTest(test)
    elif name == "stopTest":
        _write_extra(result, event[2])
        result.stopTest(test)
    elif name in {"addSuccess", "addUnexpectedSuccess"}:
        getattr(result, name)(test)
    elif name == "addDuration":
        _call(result, "addDuration", test, event[2])
    elif name == "addSkip":
        _write_extra(result, event[3])
        result.addSkip(test, event[2])
    elif name in {"addError", "addFailure", "addExpectedFailure"}:
        _write_extra(result, event[3])
        getattr(result, name)(test, _err(result, event[2]))
    elif name == "addSubTest":
        (message, params), error, extra = event[2], event[3], event[4]
        if message is None:
            message = _SENTINEL
        subtest = unittest.case._SubTest(test, message, params)  # type: ignore[attr-defined]
        _write_extra(result, extra)
        result.addSubTest(test, subtest, None if error is None else _err(result, error))
