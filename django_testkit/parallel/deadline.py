"""``--timeout`` without workers: a test that overruns is stopped in this process.

A serial run (or a ``--parallel`` run left with a single class) runs its tests in
the main thread. Each test, and the class fixtures between tests, gets a
deadline. When it passes, SIGALRM raises :class:`TestTimedOut` in the test,
wherever it is (``time.sleep``, a lock, a socket, a loop in Python): the test
errors with the traceback of where it was, and the run goes on.

Code blocked outside Python with the signal held off cannot be stopped that way.
A watchdog thread waits one grace period longer, then gives up: it prints where
every thread is, the results so far, tears the test databases down and ends the
run with status 1. When even the watchdog cannot run (C code holding the GIL),
``faulthandler`` prints the stacks and ends the process one more grace later.
"""

from __future__ import annotations

import contextlib
import faulthandler
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from django_testkit import leftovers
from django_testkit.parallel import stacks


class TestTimedOut(Exception):
    """A test ran longer than ``--timeout``: stopped where it was, or its worker was."""

    __test__ = False


class Deadline:
    """The per-test deadline of one in-process run (a context manager around it)."""

    def __init__(
        self,
        timeout: float,
        end_run: Callable[[str], None],
        grace: float = leftovers.KILL_GRACE,
        verbosity: int = 1,
    ) -> None:
        self.timeout = timeout
        self.grace = grace
        self.verbosity = verbosity
        #: Called by the watchdog with the report of a test it could not stop; never returns.
        self.end_run = end_run
        #: The run's result and the test running now (set by :func:`with_deadline`).
        self.result: Any = None
        self.test: Any = None
        self.what = ""
        self._started = 0.0
        self._closed = False
        self._wake = threading.Condition()
        self._watchdog: threading.Thread | None = None
        self._signals = threading.current_thread() is threading.main_thread()
        self._previous: Any = None
        self.connections: list[Any] = []

    def __enter__(self) -> Deadline:
        from django.db import connections

        #: This thread's database connections (the watchdog closes them to tear down).
        self.connections = list(connections.all())
        if self._signals:
            self._previous = signal.signal(signal.SIGALRM, self._on_alarm)
        self._watchdog = threading.Thread(target=self._watch, name="testkit-deadline", daemon=True)
        self._watchdog.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.disarm()
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._watchdog is not None:
            self._watchdog.join()
        if self._signals:
            signal.signal(signal.SIGALRM, self._previous or signal.SIG_DFL)

    def arm(self, what: str, test: Any = None) -> None:
        """Start a new deadline for ``what`` (a test, or the fixtures after one)."""
        with self._wake:
            self._started = time.monotonic()
            self.what = what
            self.test = test
            self._wake.notify()
        if self._signals:
            # A test may have set its own SIGALRM handler (and timer): ours is back.
            signal.signal(signal.SIGALRM, self._on_alarm)
            signal.setitimer(signal.ITIMER_REAL, self.timeout)
        faulthandler.dump_traceback_later(self.timeout + 3 * self.grace, exit=True)

    def disarm(self) -> None:
        if self._signals:
            signal.setitimer(signal.ITIMER_REAL, 0)
        faulthandler.cancel_dump_traceback_later()
        with self._wake:
            self._started = 0.0

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        started = self._started
        # A timer set for an earlier deadline may go off just after a new one began.
        if started and time.monotonic() - started >= self.timeout * 0.99:
            raise TestTimedOut(
                f"ran longer than --timeout {self.timeout:g}s and was stopped in this "
                "process; the traceback shows where it was."
            )

    def _watch(self) -> None:
        with self._wake:
            while not self._closed:
                if not self._started:
                    self._wake.wait()
                    continue
                left = self._started + self.timeout + self.grace - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                break
            else:
                return
        self.end_run(self.report())

    def report(self) -> str:
        """What the run says about a test it could not stop, with where every thread is."""
        with tempfile.TemporaryFile("w+") as dump:
            faulthandler.dump_traceback(dump, all_threads=True)
            dump.seek(0)
            where = stacks.trim(
                dump.read(), stacks.this_interpreter(), everything=self.verbosity >= 3
            )
        return (
            f"{self.what} ran longer than --timeout {self.timeout:g}s and could not be "
            f"stopped: it is blocked outside Python (SIGALRM had no effect in "
            f"{self.grace:g}s more). Where it was:\n{where}"
        )


def with_deadline(base: type, deadline: Deadline) -> type:
    """``base`` with the deadline armed at each test and after it (class fixtures)."""

    class DeadlineResult(base):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            deadline.result = self

        def startTest(self, test: Any) -> None:
            deadline.arm(test.id(), test)
            super().startTest(test)

        def stopTest(self, test: Any) -> None:
            super().stopTest(test)
            deadline.arm(f"the class fixtures after {test.id()}")

    DeadlineResult.__name__ = DeadlineResult.__qualname__ = f"Deadline{base.__name__}"
    return DeadlineResult


def results_so_far(result: Any, test: Any, report: str) -> None:
    """Print what a run that is ended now has to say: its errors, failures and counts."""
    stream = getattr(result, "stream", None)
    if result is None or stream is None:
        print(report, file=sys.stderr)
        return
    if test is not None:
        result.errors.append((test, f"{TestTimedOut.__name__}: {report}"))
    stream.writeln()
    result.printErrors()
    stream.writeln(getattr(result, "separator2", "-" * 70))
    counts = [f"failures={len(result.failures)}"] if result.failures else []
    counts.append(f"errors={len(result.errors)}")
    ran = result.testsRun
    stream.writeln(f"Ran {ran} test{'' if ran == 1 else 's'} before the run was ended")
    stream.writeln()
    stream.writeln(f"FAILED ({', '.join(counts)})")
    if test is None:
        print(report, file=sys.stderr)
    stream.flush()


def bounded(action: Callable[[], None], seconds: float) -> str:
    """Run ``action`` in a thread for at most ``seconds``; what went wrong ("" if nothing)."""
    problems: list[str] = []

    def run() -> None:
        try:
            action()
        except Exception as exc:
            problems.append(str(exc) or type(exc).__name__)

    helper = threading.Thread(target=run, name="testkit-teardown", daemon=True)
    helper.start()
    helper.join(seconds)
    if helper.is_alive():
        return f"it did not finish in {seconds:g}s"
    return "; ".join(problems)


def close_raw(wrappers: list[Any]) -> None:
    """Close the driver connections of another thread's Django connections."""
    for wrapper in wrappers:
        raw = getattr(wrapper, "connection", None)
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.close()


def end_now() -> None:
    """End the process at once with status 1 (saving what coverage measured)."""
    sys.stdout.flush()
    sys.stderr.flush()
    leftovers.exit_now(1)


def for_run(runner: Any) -> contextlib.AbstractContextManager[Any]:
    """The deadline of ``runner``'s in-process run (none under ``--pdb``, with one line)."""
    if getattr(runner, "pdb", False):
        print("--timeout is not applied under --pdb.", file=sys.stderr)
        return contextlib.nullcontext()
    deadline = Deadline(
        runner.config.timeout,
        lambda report: end_stuck_run(runner, report),
        verbosity=runner.verbosity,
    )
    runner.deadline = deadline
    return deadline


def end_stuck_run(runner: Any, report: str) -> None:
    """End a run whose test ``--timeout`` could not stop (called by its watchdog)."""
    from django_testkit.databases.setup import TestDatabases, teardown_test_databases

    deadline: Deadline = runner.deadline
    results_so_far(deadline.result, deadline.test, report)
    databases = runner.databases
    if isinstance(databases, TestDatabases):
        stuck = deadline.connections

        def teardown() -> None:
            # The stuck thread's connections would keep a server from dropping them.
            close_raw(stuck)
            teardown_test_databases(databases)

        problem = bounded(teardown, leftovers.KILL_GRACE)
        if problem:
            print(
                f"The test databases could not be destroyed ({problem}); the next run "
                "replaces them (or run once with --create-db).",
                file=sys.stderr,
            )
    end_now()
