"""The lower bound of a parallel run: ``fixed + max(longest unit, total / workers)``."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


def in_order_makespan(times: Sequence[float], workers: int) -> float:
    """Test time when units go, in the given order, to whichever worker is free first."""
    free_at = [0.0] * workers
    for seconds in times:
        heapq.heappush(free_at, heapq.heappop(free_at) + seconds)
    return max(free_at)


@dataclass(frozen=True)
class LowerBound:
    """``max(longest unit, total / workers) + fixed``: no schedule of these units beats it."""

    units: Mapping[str, float]
    fixed: float
    workers: int = 2

    @property
    def longest(self) -> float:
        return max(self.units.values())

    @property
    def total(self) -> float:
        return sum(self.units.values())

    @property
    def test_time(self) -> float:
        return max(self.longest, self.total / self.workers)

    @property
    def seconds(self) -> float:
        return self.test_time + self.fixed

    @property
    def discovery_order(self) -> float:
        """Test time of dispatching the units in discovery (= sorted label) order."""
        return in_order_makespan([self.units[name] for name in sorted(self.units)], self.workers)
