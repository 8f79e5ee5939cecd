"""A parallel run's bookkeeping: units queued and done, what each worker runs, what did not run.

Pure: no process, no pipe. The controller tells it what happened (a unit was
sent, a test started, a worker died) and asks it what follows (which tests did
not run, what is left to do, how long that should take).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django_testkit.parallel.poolspec import NotRun
from django_testkit.parallel.protocol import AddSkip, StartTest, StopTest, TestEvent
from django_testkit.parallel.scheduling import Unit, remaining_seconds

INTERRUPTED = "the run was interrupted"


@dataclass
class Assignment:
    """What one worker is doing: its unit, the test running inside it, what has started."""

    #: The unit being run (its index), its number of tests, the test running now.
    unit: int | None = None
    size: int = 0
    current: int | None = None
    started: set[int] = field(default_factory=set)
    #: Units sent to it that wait behind the running one.
    reserved: deque[int] = field(default_factory=deque)
    #: Events of the running test, replayed once it stops.
    pending: list[TestEvent] = field(default_factory=list)
    unit_started: float = 0.0

    def begin_unit(self, index: int, size: int) -> None:
        self.unit, self.size, self.current = index, size, None
        self.started = set()
        self.unit_started = time.monotonic()

    def finish_unit(self) -> None:
        self.unit, self.current = None, None

    def note(self, event: TestEvent) -> None:
        """Track which test runs now (events are replayed before this is called)."""
        if isinstance(event, StartTest) and isinstance(event.ref, int):
            self.current = event.ref
            self.started.add(event.ref)
        elif isinstance(event, StopTest):
            self.current = None
        elif isinstance(event, AddSkip) and isinstance(event.ref, int) and self.current is None:
            # Python 3.12+ reports a decorator skip without starting the test.
            self.started.add(event.ref)

    def started_all(self) -> bool:
        return len(self.started) == self.size

    def unstarted(self, current: int | None, include_current: bool) -> list[int]:
        """Tests of the unit that never started; ``current`` (running now) first if asked."""
        pending = [
            index for index in range(self.size) if index not in self.started and index != current
        ]
        if include_current and current is not None:
            pending.insert(0, current)
        return pending


class Ledger:
    """The run's units: what is queued, what each finished unit measured, what was lost."""

    def __init__(
        self,
        tests: Sequence[Sequence[Any]],
        keys: Sequence[str],
        order: Iterable[int],
        estimates: Mapping[str, float],
        *,
        not_run: list[NotRun] | None = None,
        measured: dict[str, float] | None = None,
        lost: list[str] | None = None,
    ) -> None:
        self.tests, self.keys, self.estimates = tests, keys, estimates
        self.queue = deque(order)
        self.not_run: list[NotRun] = [] if not_run is None else not_run
        self.measured: dict[str, float] = {} if measured is None else measured
        #: Units whose coverage data a dying worker took with it.
        self.lost: list[str] = [] if lost is None else lost

    def size(self, index: int) -> int:
        return len(self.tests[index])

    def estimate(self, index: int | None) -> float:
        return 0.0 if index is None else self.estimates.get(self.keys[index], 0.0)

    def take(self) -> int:
        """The next unit in line (the queue must not be empty)."""
        return self.queue.popleft()

    def put_back(self, indices: Sequence[int]) -> None:
        """Units a worker took but will not run: first in line again, in their order."""
        self.queue.extendleft(reversed(indices))

    def drop_queue(self, reason: str | None) -> None:
        """Nothing more is dispatched; with a ``reason``, the queued units count as not run."""
        if reason is not None:
            self.skip_units(self.queue, reason)
        self.queue.clear()

    def skip_units(self, indices: Iterable[int], reason: str) -> None:
        for index in indices:
            self.not_run += [NotRun(test.id(), reason) for test in self.tests[index]]

    def skip_tests(self, unit: int, indices: Iterable[int], reason: str) -> None:
        self.not_run += [NotRun(self.tests[unit][index].id(), reason) for index in indices]

    def unit_done(self, index: int, seconds: float, complete: bool) -> None:
        """A unit ended; its time counts for the durations store only if every test ran."""
        if complete:
            self.measured[self.keys[index]] = seconds

    def lose(self, reason: str, unit: int) -> None:
        self.lost.append(f"{reason} in {self.keys[unit]}")

    def remaining(self, running: Mapping[int, tuple[int, float]], workers: int) -> float:
        """Seconds left, from ``running`` (slot -> unit, seconds it has run) and the queue."""
        left = {
            slot: max(self.estimate(unit) - elapsed, 0.0)
            for slot, (unit, elapsed) in running.items()
        }
        pending = [Unit(self.keys[index], index, 0, self.size(index)) for index in self.queue]
        return remaining_seconds(pending, left, self.estimates, max(workers, 1))

    def held(self, work: Assignment, now: float) -> float:
        """Seconds of work a worker holds: what is left of its unit, and its reserve."""
        if work.unit is None:
            return 0.0
        left = max(self.estimate(work.unit) - (now - work.unit_started), 0.0)
        return left + sum(self.estimate(index) for index in work.reserved)

    def all_hold(self, assignments: Iterable[Assignment], seconds: float, now: float) -> bool:
        """Whether every worker (at least one) holds ``seconds`` of work or more."""
        assignments = list(assignments)
        return bool(assignments) and all(
            work.unit is not None and self.held(work, now) >= seconds for work in assignments
        )

    def remaining_for(self, assignments: Mapping[int, Assignment], now: float) -> float:
        """Seconds until the run ends, from what each slot's worker runs and the queue."""
        running = {
            slot: (work.unit, now - work.unit_started)
            for slot, work in assignments.items()
            if work.unit is not None
        }
        return self.remaining(running, len(assignments))
