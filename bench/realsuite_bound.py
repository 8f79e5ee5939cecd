"""A true lower bound for a real suite's ``--parallel 2`` run.

Class times come from our serial runs, where no other test process competes for the
cores (a parallel run's recorded durations are inflated by the other worker): the timed
``ours-serial`` command records them into a store of its own, and :class:`Samples` reads
it after every run (warm-up and timed rounds, interleaved with the parallel runs, so the
machine's pace is the same). Each class keeps its minimum, and so does the fixed cost (a
run's wall time less its classes' times: start-up, test databases, teardown). No schedule
of these classes on ``workers`` workers, after the same fixed work, finishes before
``fixed + max(longest class, total / workers)``; forking workers and cloning databases are
extra work a parallel run must fit within its slack.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bounds import LowerBound
from timing import Captured


@dataclass
class Samples:
    """Class times and fixed costs of serial runs that record into ``store``."""

    store: Path
    units: dict[str, float] = field(default_factory=dict)
    fixed: list[float] = field(default_factory=list)

    def __call__(self, run: Captured) -> Sequence[str]:
        """A ``Command.verify`` hook: read what the run just recorded."""
        try:
            document = json.loads(self.store.read_text(encoding="utf-8"))
            measured = {str(k): float(v) for k, v in document["units"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            return [f"recorded no class durations in {self.store} ({exc})"]
        if not measured:
            return [f"{self.store} lists no classes"]
        self.fixed.append(run.wall - sum(measured.values()))
        for key, seconds in measured.items():
            self.units[key] = min(seconds, self.units.get(key, seconds))
        return []

    def bound(self) -> LowerBound:
        return LowerBound(dict(self.units), max(0.0, min(self.fixed)))
