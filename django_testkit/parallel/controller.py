"""One parallel run from start to end: the loop that keeps workers busy and acts on what they say.

Each worker owns a clone slot for the whole run and pulls the next unit when
it is free; each kind of message it sends has one ``_on_<kind>`` method here.
A worker that dies (or overruns ``--timeout``) becomes an error on the test it
was running (see :mod:`.outcomes`), and a fresh worker takes over its slot.
Signals only set flags; the loop acts on them between messages.
"""

from __future__ import annotations

import time
from multiprocessing.connection import wait
from typing import Any

from django_testkit.interrupts import Terminated, signals_call
from django_testkit.leftovers import KILL_GRACE
from django_testkit.parallel.handles import (
    WorkerHandle,
    death_report,
    describe_exit,
    kill_overrunning,
    start_worker,
    stop_workers,
)
from django_testkit.parallel.ledger import INTERRUPTED, Ledger
from django_testkit.parallel.outcomes import Outcomes
from django_testkit.parallel.poolspec import PoolContext, PoolError, Schedule, Span
from django_testkit.parallel.progress import Progress
from django_testkit.parallel.protocol import (
    FROM_WORKER,
    Batch,
    Interrupted,
    Leftover,
    Ready,
    UnitDone,
    dispatch_table,
)
from django_testkit.parallel.scheduling import Unit, estimate_durations
from django_testkit.parallel.worker import WorkerSetup

#: Units expected to take less than this get the next unit sent behind them.
PREFETCH_BELOW = 0.25
#: How long ``--failfast`` lets running tests finish before stopping their workers.
FAILFAST_GRACE = 2.0
#: A slot whose worker dies this many times in a row before it is ready stops the run.
MAX_START_FAILURES = 2
#: Units are held in reserve behind a short one until this much work waits there.
RESERVE_AHEAD = 0.05
#: While every worker has work for at least this long, the loop waits this long before
#: reading what they sent, so that many messages cost one wake-up (workers write
#: into the pipe without waking anyone; nothing written is ever lost).
COALESCE = 0.01
_TICK = 0.25


def _first_first(context: PoolContext, units: list[Unit]) -> list[Unit]:
    """The strategy's order, with ``--failed-first`` units first inside each group."""
    order = context.strategy.order(units, context.durations)
    if not context.first:
        return order
    return sorted(order, key=lambda unit: (unit.group, unit.key not in context.first))


class PoolRun:
    """The state of one parallel run: the workers, the ledger, and whether it is stopping."""

    def __init__(self, suite: Any, context: PoolContext, result: Any) -> None:
        self.suite, self.context, self.result = suite, context, result
        units = suite.units()
        self.tests = [list(subsuite) for subsuite in suite.subsuites]
        self.keys = [unit.key for unit in units]
        self.ledger = Ledger(
            self.tests,
            self.keys,
            (unit.index for unit in _first_first(context, units)),
            estimate_durations(units, context.durations),
            not_run=suite.not_run,
            measured=suite.measured,
            lost=suite.lost,
            recorded=[key for key in self.keys if key in context.durations],
        )
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
        self.outcomes = Outcomes(result, self.tests, self.keys, self.ledger, self.progress)
        #: One method per kind of message a worker sends.
        self.handlers = dispatch_table(
            {
                Ready: self._on_ready,
                UnitDone: self._on_unit_done,
                Interrupted: self._on_interrupted,
                Leftover: self._on_leftover,
                Batch: self._on_batch,
            },
            FROM_WORKER,
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

    @property
    def _hard_stop(self) -> bool:
        """Stopping for an interruption (not --failfast): unfinished work counts as not run."""
        return self.stopping in {"graceful", "now"}

    def execute(self, setup: WorkerSetup, blobs: dict[int, bytes]) -> None:
        """Run every unit; ``blobs`` are the pickled units fresh (non-fork) workers load."""
        self.setup, self.blobs = setup, blobs
        processes = min(self.suite.processes, len(self.ledger.queue))
        predicted = self.ledger.remaining({}, processes)
        started = time.monotonic()
        try:
            with signals_call(self.on_signal), self.progress:
                for slot in range(1, processes + 1):
                    self.workers[slot] = self._start(slot)
                self._loop()
        finally:
            stop_workers(list(self.workers.values()), now=True)
            self.suite.interrupted = self._hard_stop
        if not self.stopping:
            recorded = sum(key in self.context.durations for key in self.keys)
            self.suite.schedule = Schedule(
                processes, len(self.keys), recorded, predicted, time.monotonic() - started
            )
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
            waitables = [item for worker in self.workers.values() for item in worker.waitables()]
            for ready in wait(waitables, timeout=_TICK):
                owner = next((w for w in self.workers.values() if w.owns(ready)), None)
                if owner is not None:
                    self._service(owner)
            workers = self.workers.values()
            if not self.stopping and self.ledger.all_hold(workers, COALESCE, time.monotonic()):
                time.sleep(COALESCE)
            kill_overrunning(self.workers.values(), self.context.timeout)
            self._check_retired()
            self.progress.tick(lambda: self.ledger.remaining_for(self.workers, time.monotonic()))
        self._announce()

    def _announce(self) -> None:
        while self.announce:
            self.progress.say(self.announce.pop(0))

    def _maybe_stop(self) -> None:
        if self.result.shouldStop and not self.stopping:
            # --failfast (or a result stopped by its owner): stop soon, keep what finished.
            self.stopping = "failfast"
            self.stop_since = time.monotonic()
        if not self.stopping:
            return
        self.ledger.drop_queue(INTERRUPTED if self._hard_stop else None)
        for worker in self.workers.values():
            worker.stop_flag.value = 1
        for worker in list(self.workers.values()):
            if worker.unit is None and worker.ready:
                worker.retire()
        overdue = (
            self.stopping == "failfast" and time.monotonic() - self.stop_since > FAILFAST_GRACE
        )
        if self.stopping == "now" or overdue:
            stop_workers(list(self.workers.values()), now=True)
            for worker in list(self.workers.values()):
                self._service(worker)

    def _service(self, worker: WorkerHandle) -> None:
        """Handle what the worker sent; notice if it died."""
        for message in worker.received():
            self.handlers[type(message)](worker, message)
        if not worker.process.is_alive():
            worker.process.join()
            # What it sent between the last read and its end comes before its death.
            for message in worker.received():
                self.handlers[type(message)](worker, message)
            self._died(worker)

    def _on_ready(self, worker: WorkerHandle, message: Ready) -> None:
        worker.ready = True
        worker.start_failures = 0
        self._dispatch(worker)

    def _on_unit_done(self, worker: WorkerHandle, message: UnitDone) -> None:
        self.ledger.unit_done(message.unit, message.seconds, worker.started_all())
        self._span(worker, died=False)
        if self._hard_stop:
            # Tests a failed setUpClass skipped are not "not run": unittest is silent.
            self.outcomes.not_run(worker, INTERRUPTED)
        worker.finish_unit()
        if worker.reserved:
            following = worker.reserved.popleft()
            worker.begin_unit(following, self.ledger.size(following))
            self.progress.unit(worker.slot, self.keys[following])
        self._dispatch(worker)

    def _on_interrupted(self, worker: WorkerHandle, message: Interrupted) -> None:
        # A test raised KeyboardInterrupt: the worker reported it and ends; the run
        # stops as a serial one does, letting the other running tests finish.
        worker.stopped_by_us = True
        if not self.stopping:
            self.stopping = "graceful"
            self.announce.append(
                f"{self.keys[message.unit]} raised KeyboardInterrupt: letting running "
                "tests finish, then stopping."
            )

    def _on_leftover(self, worker: WorkerHandle, message: Leftover) -> None:
        self.progress.say(f"{self.keys[message.unit]} left running: {message.description}.")

    def _on_batch(self, worker: WorkerHandle, message: Batch) -> None:
        for event in message.events:
            self.outcomes.event(worker, event)

    def _dispatch(self, worker: WorkerHandle) -> None:
        """Keep the worker busy: a unit to run and, behind a short one, the next in line.

        Units held in reserve save a round trip per unit; only short units get
        them, and only up to ``RESERVE_AHEAD`` seconds of work, so that a worker
        never holds back much work another worker could do.
        """
        queue = self.ledger.queue
        if worker.unit is None and not (queue and not self.stopping):
            worker.retire()
            return
        while queue and not self.stopping:
            running = worker.unit is not None
            if running and self.ledger.estimate(worker.unit) > PREFETCH_BELOW:
                return
            held = sum(self.ledger.estimate(index) for index in worker.reserved)
            if worker.reserved and held >= RESERVE_AHEAD:
                return
            index = self.ledger.take()
            if not worker.send_unit(index, self.blobs.get(index)):
                # It has just died; the unit goes back first in line for the next worker.
                self.ledger.put_back([index])
                return
            if running:
                worker.reserved.append(index)
            else:
                worker.begin_unit(index, self.ledger.size(index))
                self.progress.unit(worker.slot, self.keys[index])

    def _check_retired(self) -> None:
        """Kill a worker that has no work and does not exit: nothing may hold the run."""
        now = time.monotonic()
        for worker in list(self.workers.values()):
            if worker.retiring and worker.unit is None and now - worker.retired_at > KILL_GRACE:
                self.progress.say(
                    f"Worker {worker.slot} (pid {worker.process.pid}) did not exit within "
                    f"{KILL_GRACE:g}s of finishing its work; killed it."
                )
                worker.kill()
                self._service(worker)

    def _span(self, worker: WorkerHandle, *, died: bool) -> None:
        if worker.unit is not None:
            key, pid = self.keys[worker.unit], worker.process.pid or 0
            span = Span(worker.slot, pid, key, worker.unit_started, time.monotonic(), died)
            self.suite.spans.append(span)

    def _died(self, worker: WorkerHandle) -> None:
        del self.workers[worker.slot]
        if worker.reserved:
            # Units sent behind the one it was running: another worker runs them.
            if self._hard_stop:
                self.ledger.skip_units(worker.reserved, INTERRUPTED)
            elif not self.stopping:
                self.ledger.put_back(list(worker.reserved))
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
        self.outcomes.catch_up(worker)
        if worker.unit is not None:
            self._span(worker, died=True)
        if worker.unit is not None and not (self.stopping == "now" or worker.stopped_by_us):
            report = death_report(worker, code, self.context.timeout, self.context.verbosity)
            self.outcomes.death(worker, *report)
        elif worker.unit is not None:
            # Stopped on purpose mid-test: that test counts as not run.
            worker.pending = []
            if self.stopping != "failfast":
                self.outcomes.not_run(worker, INTERRUPTED, include_current=True)
        if self.ledger.queue and not self.stopping:
            if self.context.refresh_slot is not None:
                # What the dead worker committed must not meet the next tests there.
                self.context.refresh_slot(worker.slot)
            self.workers[worker.slot] = self._start(worker.slot)
