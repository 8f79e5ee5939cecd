"""The child side of a parallel run: one worker process, one clone slot.

A worker prepares the same environment a serial run has (under ``spawn`` and
``forkserver`` it sets Django up and calls the runner's
``setup_test_environment`` again, so settings a subclass changes there reach
it), connects to its slot's databases, then runs the units the parent sends
until told to stop, streaming every outcome as it happens (see
:mod:`django_testkit.parallel.results`). It ignores Ctrl-C (the parent decides), exits
when the parent dies, and under ``--timeout`` a watchdog thread that needs no
GIL dumps every thread's stack and ends the process when a test overruns.
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import signal
import sys
import threading
import time
import unittest
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, TextIO

from django_testkit import leftovers
from django_testkit.databases import workers as dbworkers
from django_testkit.databases.mirrors import MirrorSharing, with_mirror_sharing
from django_testkit.keys import key_of
from django_testkit.parallel.protocol import (
    Batch,
    Interrupted,
    Leftover,
    Ready,
    RunUnit,
    Stop,
    ToWorker,
    UnitDone,
)
from django_testkit.parallel.results import EventResult
from django_testkit.records import field, record

#: How often a worker checks that its parent is still alive.
PARENT_CHECK_SECONDS = 0.5

if TYPE_CHECKING:
    from django_testkit.cov.measure import CoverageSpec


@record
class WorkerSetup:
    """Everything a worker needs; picklable for ``spawn`` and ``forkserver``."""

    start_method: str
    databases: dbworkers.WorkerDatabases
    #: The runner class and its keyword arguments, to rebuild its test environment.
    runner_class: type | None = None
    runner_kwargs: dict[str, Any] = field(default_factory=dict)
    failfast: bool = False
    buffer: bool = False
    debug_sql: bool = False
    mirrors: dict[str, str] = field(default_factory=dict)
    timeout: float = 0.0
    #: Where the watchdog writes stacks (one file per slot), when ``timeout`` is set.
    dump_dir: str = ""
    #: How to measure coverage (None: not at all).
    coverage: CoverageSpec | None = None
    #: Report each test's duration even where unittest does not (Python < 3.12), for
    #: the JUnit report.
    durations: bool = False


class _Watchdog:
    """Per-test deadline via faulthandler: dump all stacks, then exit, if it passes."""

    def __init__(self, timeout: float, path: str) -> None:
        self.timeout = timeout
        self.file: TextIO | None = open(path, "w") if timeout > 0 else None  # noqa: SIM115

    def arm(self) -> None:
        if self.file is not None:
            faulthandler.dump_traceback_later(self.timeout, exit=True, file=self.file)

    def disarm(self) -> None:
        if self.file is not None:
            faulthandler.cancel_dump_traceback_later()


class _WatchedResult(EventResult):
    """Arms the deadline per test and shows the parent, in shared memory, what runs now.

    ``state[0]`` is the running test's index + 1 (0: between tests),
    ``state[1]`` when the current deadline started (``time.monotonic()``, which
    every process on the machine shares) and ``state[2]`` how many of the unit's
    tests have finished (they run in order): a dead worker cannot tell, so this does.
    Whatever of those the parent has not heard of passed: passes alone are held back.
    """

    watchdog: _Watchdog
    state: Any
    #: The test started last (unittest has stopped it when a KeyboardInterrupt escapes).
    last_test: Any = None
    test_started = 0.0
    #: Send durations ourselves (unittest sends none before Python 3.12).
    report_durations = False

    def startTest(self, test: Any) -> None:
        self.last_test = test
        self.test_started = time.perf_counter()
        self.watchdog.arm()
        self.state[1] = time.monotonic()
        ref = self._ref(test)
        self.state[0] = float(ref + 1) if isinstance(ref, int) else 0.0
        super().startTest(test)

    def stopTest(self, test: Any) -> None:
        if self.report_durations:
            # What Python 3.12+ unittest reports itself (a little before stopTest).
            self.addDuration(test, time.perf_counter() - self.test_started)
        super().stopTest(test)
        self._finished(test)
        # Class teardown and the next class's setup get a deadline too.
        self.watchdog.arm()
        self.state[0] = 0.0
        self.state[1] = time.monotonic()

    def addSkip(self, test: Any, reason: str) -> None:
        super().addSkip(test, reason)
        # Python 3.12+ skips a decorated test without starting (or stopping) it.
        self._finished(test)

    def _finished(self, test: Any) -> None:
        ref = self._ref(test)
        if isinstance(ref, int) and ref + 1 > self.state[2]:
            self.state[2] = float(ref + 1)


class _ReleasingSuite(unittest.TestSuite):
    """A unit's suite that forgets what each test did the moment unittest drops the test.

    unittest releases a test object once it has run (``TestSuite._removeTestAtIndex``,
    private but kept since Python 3.4), and with it whatever the test kept in its
    attributes: objects that weakly connected signal receivers, for instance. A
    worker's test objects are also referenced elsewhere (the parent's suite, which a
    forked worker inherits, and the list the result indexes), so here each test's
    attributes go back to what they were before it ran, at that same moment.
    """

    def __init__(self, tests: list[Any]) -> None:
        super().__init__(tests)
        # (test, its attributes before it ran), until the test is released.
        self._before: list[tuple[Any, dict[str, Any]] | None] = [
            (test, dict(getattr(test, "__dict__", {}))) for test in tests
        ]

    def _removeTestAtIndex(self, index: int) -> None:
        super()._removeTestAtIndex(index)  # type: ignore[misc]
        pair = self._before[index] if index < len(self._before) else None
        if pair is not None:
            self._before[index] = None
            test, attributes = pair
            if hasattr(test, "__dict__"):
                test.__dict__.clear()
                test.__dict__.update(attributes)


def _measure(spec: CoverageSpec | None, slot: int) -> Any:
    if spec is None:
        return None
    # Imported only when measuring: workers of a run without coverage never load it.
    from django_testkit.cov import measure

    return measure.start(spec, f"worker-{slot}-{os.getpid()}")


def _exit_with_parent(parent: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        if os.getppid() != parent:
            os._exit(1)


def _prepare(setup: WorkerSetup, slot: int) -> None:
    fresh = setup.start_method != "fork"
    if fresh:
        import django

        django.setup()
        if setup.runner_class is not None:
            runner = setup.runner_class(**setup.runner_kwargs)
            runner.setup_test_environment()
    dbworkers.connect(setup.databases, slot, fresh_process=fresh)
    # After setup_test_environment, which installs unittest's own Ctrl-C handler.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _load(blob: bytes | None, units: Sequence[Sequence[Any]], index: int) -> list[Any]:
    if blob is None:
        return list(units[index])
    loaded = pickle.loads(blob)
    if loaded and isinstance(loaded[0], str):
        # Tests that could not be pickled travel as ids and are loaded again.
        loader = unittest.defaultTestLoader
        return [loader.loadTestsFromName(test_id) for test_id in loaded]
    return list(loaded)


def main(
    setup: WorkerSetup,
    slot: int,
    conn: Connection,
    stop_flag: Any,
    state: Any,
    units: Sequence[Sequence[Any]] = (),
) -> None:
    """Entry point of a worker process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    # Before Django is set up in a fresh process, so that its imports are measured.
    cov = _measure(setup.coverage, slot)
    _prepare(setup, slot)
    dump_path = os.path.join(setup.dump_dir, f"stack-{slot}.txt") if setup.dump_dir else ""
    watchdog = _Watchdog(setup.timeout, dump_path)
    own_durations = setup.durations and sys.version_info < (3, 12)
    resultclass: type = type(
        "WorkerResult",
        (_WatchedResult,),
        {"watchdog": watchdog, "state": state, "report_durations": own_durations},
    )
    if setup.mirrors:
        resultclass = with_mirror_sharing(resultclass, MirrorSharing(setup.mirrors))
    classes = None
    if setup.coverage is not None and (setup.coverage.contexts or setup.coverage.class_contexts):
        from django_testkit.cov.contexts import ClassContexts, with_contexts

        classes = ClassContexts(cov) if setup.coverage.class_contexts else None
        resultclass = with_contexts(
            resultclass, cov, tests=setup.coverage.contexts, classes=classes
        )

    def send(batch: Batch) -> None:
        conn.send(batch)

    conn.send(Ready(os.getpid()))
    # What runs between units; a unit's leftovers are what runs after it beyond this.
    baseline = leftovers.snapshot()
    while True:
        try:
            message: ToWorker = conn.recv()
        except EOFError:
            break
        if isinstance(message, Stop):
            break
        assert isinstance(message, RunUnit)
        index = message.unit
        if stop_flag.value:
            # The run is stopping: a unit sent in reserve is handed back unrun.
            conn.send(UnitDone(index, 0.0))
            continue
        tests = _load(message.blob, units, index)
        result = resultclass(
            send,
            tests,
            failfast=setup.failfast,
            buffer=setup.buffer,
            debug_sql=setup.debug_sql,
            should_stop=lambda: bool(stop_flag.value),
        )
        started = time.perf_counter()
        watchdog.arm()
        state[1] = time.monotonic()
        state[2] = 0.0
        interrupted = False
        if classes is not None and tests:
            classes.enter(key_of(tests[0]))
        try:
            _ReleasingSuite(tests).run(result)
        except KeyboardInterrupt:
            # Raised by a test (Ctrl-C never reaches a worker): an error of that test,
            # and the run stops as a serial one would. unittest skipped the class's
            # teardown, so this worker's state is unknown: it ends here.
            interrupted = True
            if result.last_test is not None:
                result.addError(result.last_test, sys.exc_info())
        finally:
            watchdog.disarm()
            if classes is not None:
                classes.ended()
        result.flush()
        left = leftovers.since(baseline)
        if left:
            _report_leftovers(conn, index, left)
            # Its children are killed; its threads, abandoned, are not reported again.
            baseline = leftovers.snapshot()
        if interrupted:
            conn.send(Interrupted(index))
            break
        if cov is not None:
            # A worker that dies later loses at most the unit it is running.
            from django_testkit.cov import measure

            measure.checkpoint(cov)
        conn.send(UnitDone(index, time.perf_counter() - started))
    _finish(cov)


def _finish(cov: Any) -> None:
    """Save coverage, close connections and flush, then end the process."""
    if cov is not None:
        cov.stop()
        cov.save()
    from django.db import connections

    connections.close_all()
    # Python's own exit would wait for threads a test left running; there is nothing
    # left to do, so end here whatever still runs (saving the data of a coverage that
    # ``coverage run`` started in this worker, which would have saved at exit).
    leftovers.exit_now(0)


def _report_leftovers(conn: Connection, index: int, left: leftovers.Leftovers) -> None:
    """Tell the parent what the unit left running, then kill the child processes."""
    what = left.describe()
    fate = []
    if left.children:
        fate.append("child processes killed")
    if left.threads:
        fate.append("threads abandoned when the worker exits")
    for pid in left.children:
        leftovers.kill_tree(pid)
    conn.send(Leftover(index, f"{what} ({', '.join(fate)})"))
