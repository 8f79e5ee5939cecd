"""The parent's record of test outcomes: each test's events replayed whole, deaths as errors."""

from __future__ import annotations

from typing import Any

from django_testkit import _compat
from django_testkit.parallel.handles import WorkerHandle
from django_testkit.parallel.ledger import Ledger
from django_testkit.parallel.progress import Progress
from django_testkit.parallel.protocol import AddSuccess, StartTest, StopTest, TestEvent
from django_testkit.parallel.replay import replay


class Outcomes:
    """Feeds the run's result from the workers' events, in an order a serial run could print.

    A test's events are held until it stops and replayed together, so that two
    workers' tests never interleave in the output.
    """

    def __init__(
        self,
        result: Any,
        tests: list[list[Any]],
        keys: list[str],
        ledger: Ledger,
        progress: Progress,
    ) -> None:
        self.result, self.tests, self.keys = result, tests, keys
        self.ledger, self.progress = ledger, progress

    def event(self, worker: WorkerHandle, event: TestEvent) -> None:
        worker.note(event)
        self.progress.event(event)
        if isinstance(event, StartTest):
            worker.pending = [event]
        elif worker.pending:
            worker.pending.append(event)
            if isinstance(event, StopTest):
                self.flush(worker)
        else:
            replay(self.result, self.tests[worker.unit or 0], event)

    def flush(self, worker: WorkerHandle) -> None:
        pending, worker.pending = worker.pending, []
        for event in pending:
            replay(self.result, self.tests[worker.unit or 0], event)

    def catch_up(self, worker: WorkerHandle) -> None:
        """A worker that ended mid-unit: the tests it finished but had not reported passed.

        A worker sends anything but a pass at once and holds passes back; tests run
        in order, and shared memory says how many finished.
        """
        if worker.unit is None or worker.pending:
            # A test the parent holds part of is the last one the worker reported.
            return
        for index in range(worker.finished_tests()):
            if index not in worker.started:
                for event in (StartTest(index), AddSuccess(index), StopTest(index, None)):
                    self.event(worker, event)

    def not_run(self, worker: WorkerHandle, reason: str, include_current: bool = False) -> None:
        """The worker's tests that had not started are listed as not run, with ``reason``."""
        if worker.unit is not None:
            self.ledger.skip_tests(worker.unit, worker.unstarted_tests(include_current), reason)

    def death(self, worker: WorkerHandle, error: BaseException, reason: str) -> None:
        """The worker died mid-unit: an error on its test (or its class), the rest not run."""
        unit = worker.unit or 0
        tests, key = self.tests[unit], self.keys[unit]
        if worker.unit is not None:
            self.ledger.lose(reason, worker.unit)
        current = worker.in_flight()
        if current is not None:
            test = tests[current]
            if worker.current is None:
                # Its start never reached us: the worker died before sending it.
                self.result.startTest(test)
                worker.started.add(current)
            self.flush(worker)
            self.result.addError(test, (type(error), error, None))
            self.result.stopTest(test)
            self.progress.event(StopTest(current, None), failed=True)
        else:
            phase = "setUpClass" if not worker.started else "tearDownClass"
            holder = _compat.error_holder(f"{phase} ({key})")
            self.result.addError(holder, (type(error), error, None))
        self.not_run(worker, reason)
