"""SIGTERM (what CI sends when a job is cancelled) ends the run like a second Ctrl-C.

Python's default for SIGTERM is to die on the spot, skipping every ``finally``:
test databases and clone files would be left behind. While the run is in
progress, SIGTERM instead raises :class:`Terminated` in the main process, so
teardown runs on the way out, and the process then exits with status 143.
Child processes that inherited the handler (forked workers) die from SIGTERM
as usual.

A run of ``manage.py test`` that Ctrl-C stopped ends the same way: the results of
the finished tests, teardown, and exit status 130, without the traceback of where
the main process happened to be. A ``KeyboardInterrupt`` that code raised (a test,
say) still propagates as it does under Django's runner.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

#: The exit status of a process ended by SIGTERM, by the shell's convention.
TERMINATED_EXIT_STATUS = 128 + signal.SIGTERM
#: The exit status of a process ended by Ctrl-C (SIGINT), by the same convention.
INTERRUPTED_EXIT_STATUS = 128 + signal.SIGINT


class Terminated(KeyboardInterrupt):
    """Raised in the main process when it receives SIGTERM during a run.

    A ``KeyboardInterrupt``, because unittest lets only that one through a
    running test; once the run has unwound (and torn down), it becomes an
    exit with status 143.
    """


#: Whether Ctrl-C (or SIGTERM) reached this run: set by the handlers of this module.
_signalled = [False]


def _note_signal() -> None:
    _signalled[0] = True


def _from_command_line() -> bool:
    """Whether this process is ``manage.py test`` (or ``django-admin test``) itself."""
    return len(sys.argv) > 1 and sys.argv[1] == "test"


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` in this process while the block runs, and
    end a command-line run that Ctrl-C stopped with status 130 instead of a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()
    received: list[int] = []
    _signalled[0] = False

    def on_int(signum: int, frame: FrameType | None) -> None:
        if os.getpid() == owner:
            _note_signal()
        signal.default_int_handler(signum, frame)

    def handler(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != owner:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        if received:
            # Already stopping: let the cleanup that is under way finish.
            return
        received.append(signum)
        print("\nTerminated (SIGTERM): stopping and cleaning up.", file=sys.stderr)
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_int)
    try:
        yield
    except Terminated:
        raise SystemExit(TERMINATED_EXIT_STATUS) from None
    except KeyboardInterrupt:
        if _signalled[0] and _from_command_line():
            raise SystemExit(INTERRUPTED_EXIT_STATUS) from None
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        if previous_int is signal.default_int_handler:
            signal.signal(signal.SIGINT, previous_int)


@contextmanager
def signals_call(on_signal: Callable[[bool], None]) -> Iterator[None]:
    """Ctrl-C and SIGTERM call ``on_signal(now)`` (now: SIGTERM) instead of raising.

    The parallel pool decides itself what an interrupt means: a handler only
    records it, and the pool acts between two events, never halfway through one.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()

    def on_int(signum: int, frame: FrameType | None) -> None:
        if os.getpid() == owner:
            _note_signal()
            on_signal(False)

    def on_term(signum: int, frame: FrameType | None) -> None:
        if os.getpid() == owner:
            _note_signal()
            on_signal(True)

    previous = signal.signal(signal.SIGINT, on_int), signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


def print_results_so_far(result: Any) -> None:
    """Print what unittest prints at the end of a run, for the tests that finished
    before an interrupt cut the run short (unittest itself prints nothing then)."""
    result.printErrors()
    stream = result.stream
    stream.writeln(result.separator2)
    count = result.testsRun
    stream.writeln(f"Ran {count} test{'' if count == 1 else 's'} before the run was interrupted")
    stream.writeln()
    counts = [
        ("failures", len(result.failures)),
        ("errors", len(result.errors)),
        ("skipped", len(result.skipped)),
        ("expected failures", len(result.expectedFailures)),
        ("unexpected successes", len(result.unexpectedSuccesses)),
    ]
    details = ", ".join(f"{name}={number}" for name, number in counts if number)
    stream.writeln(f"INTERRUPTED ({details})" if details else "INTERRUPTED")
    stream.flush()


@contextmanager
def results_survive_interrupts(runner: Any) -> Iterator[None]:
    """While the block runs ``runner.run_suite``, remember the result unittest makes, and
    print the finished tests' results if a second Ctrl-C or SIGTERM cuts the run short."""
    made: list[Any] = []
    original = runner.test_runner

    class RecordingRunner(original):  # type: ignore[valid-type,misc]
        # unittest's documented hook for the result a run uses (see _compat.OVERRIDDEN).
        def _makeResult(self) -> Any:
            made.append(super()._makeResult())
            return made[-1]

    runner.test_runner = RecordingRunner
    try:
        yield
    except KeyboardInterrupt:
        if made:
            print_results_so_far(made[-1])
        raise
    finally:
        runner.test_runner = original
