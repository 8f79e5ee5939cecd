"""One parallel run from start to end: the loop that dispatches units and replays results.

Each worker owns a clone slot for the whole run and pulls the next unit when
it is free. A test's events are replayed together once it stops. A worker
that dies (or overruns ``--timeout``) becomes an error on the test it was
running, its unit's other tests are listed as not run, and a fresh worker
takes over its slot. Signals only set flags; the loop acts on them between
events.
"""

from __future__ import annotations

import contextlib
import time
import unittest
from collections import deque
from multiprocessing.connection import wait
from typing import Any

from django_testkit import leftovers
from django_testkit.interrupts import Terminated, signals_call
from django_testkit.parallel.handles import (
    WorkerHandle,
    death_report,
    describe_exit,
    start_worker,
    stop_workers,
)
from django_testkit.parallel.progress import Progress
from django_testkit.parallel.results import replay
from django_testkit.parallel.scheduling import Unit, estimate_durations, remaining_seconds
from django_testkit.parallel.suite import NotRun, PoolContext, PoolError
from django_testkit.parallel.worker import WorkerSetup

#: How long an overrunning worker gets to dump its stacks before it is killed.
TIMEOUT_KILL_GRACE = 5.0
#: Units expected to take less than this get the next unit sent behind them.
PREFETCH_BELOW = 0.25
#: How long ``--failfast`` lets running tests finish before stopping their workers.
FAILFAST_GRACE = 2.0
#: How long a worker that was told to stop may take to exit before it is killed.
RETIRE_GRACE = 10.0
#: A slot whose worker dies this many times in a row before it is ready stops the run.
MAX_START_FAILURES = 2
_TICK = 0.25


class PoolRun:
    """The state of one parallel run: the queue, the workers, and whether it is stopping."""

    def __init__(self, suite: Any, context: PoolContext, result: Any) -> None:
        self.suite, self.context, self.result = suite, context, result
        units = suite.units()
        self.tests = [list(subsuite) for subsuite in suite.subsuites]
        self.keys = [unit.key for unit in units]
        self.queue = deque(unit.index for unit in context.strategy.order(units, context.durations))
        self.estimates = estimate_durations(units, context.durations)
        self.workers: dict[int, WorkerHandle] = {}
        #: "" (running), "failfast", "graceful" (Ctrl-C once) or "now" (twice, SIGTERM).
        self.stopping = ""
        self.stop_since = 0.0
        self.terminated = False
        #: Messages from signal handlers, printed by the loop (never inside a handler).
        self.announce: list[str] = []
        self.progress = Progress(
            result, sum(unit.tests for unit in units), context.verbosity, context.live
        )

    def on_signal(self, now: bool) -> None:
        if self.stopping == "now":
            return
        if now or self.stopping:
            self.stopping = "now"
            self.terminated = now
            self.announce.append(
                "Terminated (SIGTERM): stopping and cleaning up."
                if now
                else "Interrupted again: stopping the workers now and cleaning up."
            )
            return
        self.stopping = "graceful"
        self.announce.append(
            "Interrupted: letting running tests finish (Ctrl-C again to stop them now)."
        )

    def execute(self, setup: WorkerSetup, blobs: dict[int, bytes]) -> None:
        """Run every unit; ``blobs`` are the pickled units fresh (non-fork) workers load."""
        self.setup, self.blobs = setup, blobs
        processes = min(self.suite.processes, len(self.queue))
        try:
            with signals_call(self.on_signal), self.progress:
                for slot in range(1, processes + 1):
                    self.workers[slot] = self._start(slot)
                self._loop()
        finally:
            stop_workers(list(self.workers.values()), now=True)
            self.suite.interrupted = self.stopping in {"graceful", "now"}
        if self.terminated:
            raise Terminated
        if self.stopping == "now":
            raise KeyboardInterrupt

    def _start(self, slot: int, failures: int = 0) -> WorkerHandle:
        units = self.tests if self.context.start_method == "fork" else []
        return start_worker(self.context.start_method, self.setup, slot, units, failures)

    def _loop(self) -> None:
        while self.workers:
            self._announce()
            self._maybe_stop()
            waitables: list[Any] = []
            for worker in self.workers.values():
                waitables += [worker.conn, worker.process.sentinel]
            for ready in wait(waitables, timeout=_TICK):
                owner = next(
                    (w for w in self.workers.values() if ready in (w.conn, w.process.sentinel)),
                    None,
                )
                if owner is not None:
                    self._service(owner)
            self._check_timeouts()
            self._check_retired()
            self.progress.tick(self._remaining)
        self._announce()

    def _announce(self) -> None:
        while self.announce:
            self.progress.say(self.announce.pop(0))

    def _maybe_stop(self) -> None:
        if self.result.shouldStop and not self.stopping:
            # --failfast (or a result stopped by its owner): stop soon, keep what finished.
            self.stopping = "failfast"
            self.stop_since = time.monotonic()
        if self.stopping:
            if self.stopping != "failfast":
                for index in self.queue:
                    self.suite.not_run += [
                        NotRun(test.id(), "the run was interrupted") for test in self.tests[index]
                    ]
            self.queue.clear()
            self.setup_stop_flag()
            for worker in list(self.workers.values()):
                if worker.unit is None and worker.ready:
                    self._retire(worker)
            overdue = (
                self.stopping == "failfast" and time.monotonic() - self.stop_since > FAILFAST_GRACE
            )
            if self.stopping == "now" or overdue:
                stop_workers(list(self.workers.values()), now=True)
                for worker in list(self.workers.values()):
                    self._service(worker)

    def setup_stop_flag(self) -> None:
        for worker in self.workers.values():
            worker.stop_flag.value = 1

    def _service(self, worker: WorkerHandle) -> None:
        """Replay what the worker sent; notice if it died."""
        while True:
            try:
                if not worker.conn.poll():
                    break
                message = worker.conn.recv()
            except (EOFError, OSError):
                worker.process.join()
                break
            self._handle(worker, message)
        if not worker.process.is_alive():
            worker.process.join()
            self._died(worker)

    def _handle(self, worker: WorkerHandle, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ready":
            worker.ready = True
            worker.start_failures = 0
            self._dispatch(worker)
        elif kind == "unitDone":
            index = message[1]
            if worker.started_all():
                self.suite.measured[self.keys[index]] = message[2]
            if self.stopping and self.stopping != "failfast":
                # Tests a failed setUpClass skipped are not "not run": unittest is silent.
                self._not_run(worker, "the run was interrupted")
            worker.finish_unit()
            if worker.reserved:
                following = worker.reserved.popleft()
                worker.begin_unit(following, len(self.tests[following]))
                self.progress.unit(worker.slot, self.keys[following])
            self._dispatch(worker)
        elif kind == "interrupted":
            # A test raised KeyboardInterrupt: the worker reported it and ends; the run
            # stops as a serial one does, letting the other running tests finish.
            worker.stopped_by_us = True
            if not self.stopping:
                self.stopping = "graceful"
                self.announce.append(
                    f"{self.keys[message[1]]} raised KeyboardInterrupt: letting running "
                    "tests finish, then stopping."
                )
        elif kind == "leftover":
            self.progress.say(f"{self.keys[message[1]]} left running: {message[2]}.")
        elif kind == "batch":
            for event in message[1]:
                self._handle_event(worker, event)
        else:
            self._handle_event(worker, message)

    def _handle_event(self, worker: WorkerHandle, message: tuple[Any, ...]) -> None:
        worker.note(message)
        self.progress.event(message)
        # A test's events are replayed together, so that two workers' tests
        # never interleave in the output.
        if message[0] == "startTest":
            worker.pending = [message]
        elif worker.pending:
            worker.pending.append(message)
            if message[0] == "stopTest":
                self._flush(worker)
        else:
            replay(self.result, self.tests[worker.unit or 0], message)

    def _flush(self, worker: WorkerHandle) -> None:
        pending, worker.pending = worker.pending, []
        for message in pending:
            replay(self.result, self.tests[worker.unit or 0], message)

    def _dispatch(self, worker: WorkerHandle) -> None:
        """Keep the worker busy: a unit to run and, behind a short one, the next in line.

        The unit held in reserve saves a round trip per unit; only short units get
        one, so that a long unit never holds back work another worker could do.
        """
        if worker.unit is None and not (self.queue and not self.stopping):
            self._retire(worker)
            return
        while self.queue and not self.stopping and not worker.reserved:
            running = worker.unit is not None
            if running and self.estimates.get(self.keys[worker.unit or 0], 0.0) > PREFETCH_BELOW:
                return
            index = self.queue.popleft()
            try:
                worker.conn.send((index, self.blobs.get(index)))
            except OSError:
                # It has just died; the unit goes back first in line for the next worker.
                self.queue.appendleft(index)
                return
            if running:
                worker.reserved.append(index)
            else:
                worker.begin_unit(index, len(self.tests[index]))
                self.progress.unit(worker.slot, self.keys[index])

    def _retire(self, worker: WorkerHandle) -> None:
        if worker.retiring:
            return
        with contextlib.suppress(OSError):
            worker.conn.send(None)
        worker.retiring = True
        worker.retired_at = time.monotonic()

    def _check_retired(self) -> None:
        """Kill a worker that has no work and does not exit: nothing may hold the run."""
        now = time.monotonic()
        for worker in list(self.workers.values()):
            if worker.retiring and worker.unit is None and now - worker.retired_at > RETIRE_GRACE:
                self.progress.say(
                    f"Worker {worker.slot} (pid {worker.process.pid}) did not exit within "
                    f"{RETIRE_GRACE:g}s of finishing its work; killed it."
                )
                leftovers.kill_tree(worker.process.pid)
                worker.process.join()
                self._service(worker)

    def _died(self, worker: WorkerHandle) -> None:
        del self.workers[worker.slot]
        if worker.reserved:
            # Units sent behind the one it was running: another worker runs them.
            if self.stopping in {"graceful", "now"}:
                for index in worker.reserved:
                    self.suite.not_run += [
                        NotRun(test.id(), "the run was interrupted") for test in self.tests[index]
                    ]
            elif not self.stopping:
                self.queue.extendleft(reversed(worker.reserved))
            worker.reserved.clear()
        self.progress.unit(worker.slot, None)
        code = worker.process.exitcode
        if worker.retiring and worker.unit is None and code == 0:
            return
        if not worker.ready:
            if self.stopping:
                return
            if worker.start_failures + 1 >= MAX_START_FAILURES:
                raise PoolError(
                    f"Worker {worker.slot} could not start ({describe_exit(code)}); see its "
                    "output above. Run with --parallel 1 to see the problem in-process."
                )
            self.workers[worker.slot] = self._start(worker.slot, worker.start_failures + 1)
            return
        if worker.unit is not None and not (self.stopping == "now" or worker.stopped_by_us):
            self._report_death(worker, code)
        elif worker.unit is not None:
            # Stopped on purpose mid-test: that test counts as not run.
            worker.pending = []
            if self.stopping != "failfast":
                self._not_run(worker, "the run was interrupted", include_current=True)
        if self.queue and not self.stopping:
            if self.context.refresh_slot is not None:
                # What the dead worker committed must not meet the next tests there.
                self.context.refresh_slot(worker.slot)
            self.workers[worker.slot] = self._start(worker.slot)

    def _report_death(self, worker: WorkerHandle, code: int | None) -> None:
        tests = self.tests[worker.unit or 0]
        key = self.keys[worker.unit or 0]
        error, reason = death_report(worker, code, self.context.timeout)
        if worker.unit is not None:
            self.suite.lost.append(f"{reason} in {key}")
        current = worker.in_flight()
        if current is not None:
            test = tests[current]
            if worker.current is None:
                # Its start never reached us: the worker died before sending it.
                self.result.startTest(test)
                worker.started.add(current)
            self._flush(worker)
            self.result.addError(test, (type(error), error, None))
            self.result.stopTest(test)
            self.progress.event(("stopTest", current, None), failed=True)
        else:
            phase = "setUpClass" if not worker.started else "tearDownClass"
            holder = unittest.suite._ErrorHolder(f"{phase} ({key})")  # type: ignore[attr-defined]
            self.result.addError(holder, (type(error), error, None))
        self._not_run(worker, reason)

    def _not_run(self, worker: WorkerHandle, reason: str, include_current: bool = False) -> None:
        if worker.unit is None:
            return
        for index in worker.unstarted(include_current):
            self.suite.not_run.append(NotRun(self.tests[worker.unit][index].id(), reason))

    def _check_timeouts(self) -> None:
        limit = self.context.timeout
        if not limit:
            return
        now = time.monotonic()
        for worker in list(self.workers.values()):
            armed = max(worker.armed_at(), worker.unit_started)
            if worker.unit is not None and now - armed > limit + TIMEOUT_KILL_GRACE:
                worker.timed_out = True
                leftovers.kill_tree(worker.process.pid)

    def _remaining(self) -> float:
        running = {}
        now = time.monotonic()
        for slot, worker in self.workers.items():
            if worker.unit is not None:
                expected = self.estimates.get(self.keys[worker.unit], 0.0)
                running[slot] = max(expected - (now - worker.unit_started), 0.0)
        pending = [
            Unit(self.keys[index], index, 0, len(self.tests[index])) for index in self.queue
        ]
        return remaining_seconds(pending, running, self.estimates, max(len(self.workers), 1))
