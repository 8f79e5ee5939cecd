"""What the runner gives a parallel run (its context), what stops one, what did not run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django_testkit.exceptions import TestkitError
from django_testkit.parallel.scheduling import Strategy
from django_testkit.records import field, record

if TYPE_CHECKING:
    from django_testkit.cov.measure import CoverageSpec
    from django_testkit.databases.workers import WorkerDatabases

__all__ = ["PoolContext", "PoolError"]


class PoolError(TestkitError):
    """The pool cannot go on (a worker cannot even start): one line, exit status 1."""


@record(frozen=False)
class PoolContext:
    """What the runner gives the pool once the databases are set up."""

    start_method: str
    strategy: Strategy
    durations: dict[str, float]
    make_databases: Callable[[Path], WorkerDatabases]
    runner_class: type | None = None
    runner_kwargs: dict[str, Any] = field(default_factory=dict)
    mirrors: dict[str, str] = field(default_factory=dict)
    timeout: float = 0.0
    debug_sql: bool = False
    reorder_by: tuple[type, ...] = ()
    verbosity: int = 1
    live: bool = False
    coverage: CoverageSpec | None = None
    #: Gives a slot clean databases again before a worker replaces one that died there.
    refresh_slot: Callable[[int], None] | None = None
    #: Workers report every test's duration (for the JUnit report).
    test_durations: bool = False
    #: Units dispatched first within their ordering group (``--failed-first``).
    first: frozenset[str] = frozenset()


@record
class Span:
    """One unit as a worker ran it (``time.monotonic()``), for the run's timeline."""

    slot: int
    pid: int
    key: str
    start: float
    end: float
    #: The worker died (crashed, or was stopped for a timeout) while running it.
    died: bool = False


@record(frozen=False)
class NotRun:
    """A test the run did not run, and why (listed after the summary)."""

    test_id: str
    reason: str


@record
class Schedule:
    """How long the schedule was expected to take, and how long the run took."""

    workers: int
    units: int
    #: Units whose time came from the durations store (the rest were estimated).
    recorded: int
    predicted: float
    took: float

    def line(self) -> str:
        ratio = f" ({self.took / self.predicted:.2f}x)" if self.predicted > 0 else ""
        return (
            f"Schedule: {self.units} classes on {self.workers} workers, "
            f"{self.recorded} with recorded durations; predicted {self.predicted:.1f}s, "
            f"took {self.took:.1f}s{ratio}."
        )
