"""Work units and the order a parallel pool dispatches them in: pure, no Django.

A unit is the tests of one TestCase class; it is never split across workers,
because class-level fixtures (``setUpClass``, ``setUpTestData``) run once per
class. A strategy turns the units, in Django's order, into a dispatch order;
the pool hands the next unit of that order to whichever worker is free.

The ``duration`` strategy is longest-processing-time-first (LPT) inside each of
Django's ordering groups: starting the long units early keeps one long unit from
being the last thing a run waits for. The helpers below simulate that greedy
pool, for ETAs and to check orders against the lower bound.
"""

from __future__ import annotations

import heapq
import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Protocol

from django_testkit.exceptions import ConfigurationError
from django_testkit.options import SCHEDULES
from django_testkit.records import record

#: Seconds per test assumed when no unit has a recorded duration. Only the
#: ratio between units matters for ordering; the absolute value feeds ETAs.
DEFAULT_SECONDS_PER_TEST = 0.01


@record
class Unit:
    """The tests of one TestCase class, as the scheduler sees them.

    ``key`` is a stable identity across runs (module and qualified name of the
    class) under which durations are recorded; ``index`` is the unit's 0-based
    position in Django's order; ``group`` is Django's ordering group (lower runs
    first); ``tests`` is how many tests the unit holds (at least one).
    """

    key: str
    index: int
    group: int
    tests: int

    def __post_init__(self) -> None:
        if self.tests < 1:
            raise ValueError(
                f"unit {self.key!r} has {self.tests} tests; a unit holds at least one"
            )
        if self.index < 0:
            raise ValueError(f"unit {self.key!r} has index {self.index}; indexes start at 0")


def _recorded(durations: Mapping[str, float], key: str) -> float | None:
    """The usable recorded duration of ``key``, or None when there is none."""
    value = durations.get(key)
    if value is None or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def estimate_durations(units: Sequence[Unit], durations: Mapping[str, float]) -> dict[str, float]:
    """Return the seconds each unit is expected to take, by unit key.

    A unit with a recorded duration (finite and >= 0) is expected to take that
    long. Any other unit is expected to take its number of tests times the
    median seconds per test of the units that have a recorded duration; when
    none has, times ``DEFAULT_SECONDS_PER_TEST``.
    """
    recorded = {unit.key: _recorded(durations, unit.key) for unit in units}
    per_test = [
        seconds / unit.tests for unit in units if (seconds := recorded[unit.key]) is not None
    ]
    # The median, not the mean: one slow class (a live server, a big fixture)
    # should not make every new class look slow.
    seconds_per_test = statistics.median(per_test) if per_test else DEFAULT_SECONDS_PER_TEST
    estimates: dict[str, float] = {}
    for unit in units:
        seconds = recorded[unit.key]
        estimates[unit.key] = seconds if seconds is not None else unit.tests * seconds_per_test
    return estimates


class Strategy(Protocol):
    """Turns units in Django's order into the order the pool dispatches them in."""

    name: str

    def order(self, units: Sequence[Unit], durations: Mapping[str, float]) -> list[Unit]:
        """Return every unit exactly once, in dispatch order."""
        ...


class DiscoveryStrategy:
    """Dispatch in Django's own order (by ``index``), ignoring durations."""

    name = "discovery"

    def order(self, units: Sequence[Unit], durations: Mapping[str, float]) -> list[Unit]:
        """Return the units sorted by ``index``."""
        return sorted(units, key=lambda unit: unit.index)


class DurationStrategy:
    """Dispatch longest first within each of Django's ordering groups."""

    name = "duration"

    def order(self, units: Sequence[Unit], durations: Mapping[str, float]) -> list[Unit]:
        """Return the units by ``group`` ascending, then estimated seconds descending.

        Ties keep Django's order (``index``), so the result is deterministic.
        Groups are never interleaved: Django runs e.g. ``TestCase`` classes
        before ``TransactionTestCase`` ones because the latter may leave data
        behind, and that promise must hold in parallel too.
        """
        estimates = estimate_durations(units, durations)
        return sorted(units, key=lambda unit: (unit.group, -estimates[unit.key], unit.index))


#: The strategy behind each of the schedules ``--schedule`` offers (options.SCHEDULES).
_STRATEGIES: dict[str, Strategy] = {
    "duration": DurationStrategy(),
    "discovery": DiscoveryStrategy(),
}
_DESCRIPTIONS = {
    "duration": "longest first, from recorded durations",
    "discovery": "Django's order",
}


def strategy_for(name: str) -> Strategy:
    """Return the strategy called ``name``.

    Raises ``ConfigurationError`` with one line naming the bad value and the
    valid names when there is no such strategy.
    """
    try:
        return _STRATEGIES[name]
    except KeyError:
        choices = " or ".join(f"{known!r} ({_DESCRIPTIONS[known]})" for known in SCHEDULES)
        raise ConfigurationError(
            f"--schedule {name!r} is not a schedule; use {choices}."
        ) from None


def _check_workers(workers: int) -> None:
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")


def remaining_seconds(
    pending: Sequence[Unit],
    running: Mapping[int, float],
    estimates: Mapping[str, float],
    workers: int,
) -> float:
    """Return the seconds until a pool of ``workers`` finishes, as simulated.

    ``running`` maps a busy worker's slot to the seconds it still needs for its
    current unit; slots not in it are free now. Each unit of ``pending`` goes,
    in order, to the worker that becomes free first. The result is when the
    last worker finishes (0 when nothing is running or pending).
    """
    _check_workers(workers)
    # A unit running past its estimate has no meaningful negative remainder:
    # its worker is simply busy now.
    free_at = [max(0.0, seconds) for seconds in running.values()]
    free_at.extend([0.0] * max(0, workers - len(free_at)))
    heapq.heapify(free_at)
    for unit in pending:
        heapq.heapreplace(free_at, free_at[0] + estimates[unit.key])
    return max(free_at, default=0.0)
