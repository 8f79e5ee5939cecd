"""A parallel run's bookkeeping: units queued and done, what each worker runs, what did not run.

Pure: no process, no pipe. The controller tells it what happened (a unit was
sent, a test started, a worker died) and asks it what follows (which tests did
not run, what is left to do, how long that should take).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from django_testkit.parallel.poolspec import NotRun
from django_testkit.parallel.protocol import AddSkip, StartTest, StopTest, TestEvent
from django_testkit.parallel.scheduling import Unit, remaining_seconds
from django_testkit.records import field, record

INTERRUPTED = "the run was interrupted"
#: How much slower than estimated units run in this run: recorded ones, then guessed ones.
Paces = tuple[float, float]


@record(frozen=False)
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
        recorded: Collection[str] = (),
    ) -> None:
        self.tests, self.keys, self.estimates = tests, keys, estimates
        #: Units whose estimate is a recorded duration (the others are guessed from size).
        self.recorded = frozenset(recorded)
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
        paces = self.paces()
        left = {
            slot: max(self.expected(unit, paces) - elapsed, 0.0)
            for slot, (unit, elapsed) in running.items()
        }
        return self._simulate(left, workers, paces)

    def _simulate(self, busy: Mapping[int, float], workers: int, paces: Paces) -> float:
        pending = [Unit(self.keys[index], index, 0, self.size(index)) for index in self.queue]
        expected = {self.keys[index]: self.expected(index, paces) for index in self.queue}
        return remaining_seconds(pending, busy, expected, max(workers, 1))

    def paces(self) -> Paces:
        """The pace of units with a recorded estimate, then of the others."""
        return self.pace(recorded=True), self.pace(recorded=False)

    def pace(self, recorded: bool) -> float:
        """Measured over estimated seconds of the units finished so far, among those whose
        estimate was ``recorded`` (or guessed from their size): 1.0 until one finished."""
        finished = [key for key in self.measured if (key in self.recorded) == recorded]
        estimated = sum(self.estimates.get(key, 0.0) for key in finished)
        if not finished or estimated <= 0:
            return 1.0
        return min(max(sum(self.measured[key] for key in finished) / estimated, 0.05), 20.0)

    def expected(self, index: int, paces: Paces) -> float:
        """Seconds unit ``index`` should take: its estimate corrected by this run's pace."""
        return self.estimate(index) * paces[0 if self.keys[index] in self.recorded else 1]

    def left_of(self, work: Assignment, now: float, paces: Paces) -> float:
        """Seconds the unit ``work`` runs still needs: its expected time less what it has
        run; past that, its own pace so far over the tests it has not finished."""
        if work.unit is None:
            return 0.0
        elapsed = now - work.unit_started
        left = self.expected(work.unit, paces) - elapsed
        finished = len(work.started) - (work.current is not None)
        if left <= 0 and finished > 0:
            left = elapsed * (work.size - finished) / finished
        return max(left, 0.0)

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
        """Seconds until the run ends: what each live worker's running unit and reserve
        still need, then the queue shared out among them."""
        paces = self.paces()
        busy = {
            slot: self.left_of(work, now, paces)
            + sum(self.expected(index, paces) for index in work.reserved)
            for slot, work in assignments.items()
            if work.unit is not None
        }
        return self._simulate(busy, len(assignments), paces)
