"""Durations of test classes in a run without workers, for the durations store.

A worker times each unit (class) it runs; a serial run has no units, so its result
notes when each test stops. A class's time runs from the stop of the last test of
the class before it (so its own setup, ``setUpClass`` and ``setUpTestData``, belongs
to it) to the stop of its own last test; the classes' times add up to the run's. A
class seen twice (not contiguous) adds up. One check per test: whether its class is
the one before.
"""

from __future__ import annotations

import time
from typing import Any

from django_testkit.keys import class_key


class ClassClock:
    """Seconds per class key, measured as tests stop in one process."""

    def __init__(self) -> None:
        self.measured: dict[str, float] = {}
        #: Every class measured (a dict for its order and quick lookups).
        self.keys: dict[str, None] = {}
        #: (key, start, end) of each stretch of a class, in ``time.monotonic()``.
        self.spans: list[tuple[str, float, float]] = []
        self._class: type | None = None
        self._since = time.monotonic()
        self._last_stop = 0.0

    def stopped(self, test: Any) -> None:
        now = time.monotonic()
        cls = type(test)
        if cls is not self._class:
            self._close()
            self._class = cls
            self._since = self._last_stop or self._since
        self._last_stop = now

    def _close(self) -> None:
        cls = self._class
        if cls is None or not self._last_stop:
            return
        key = class_key(cls)
        self.measured[key] = self.measured.get(key, 0.0) + self._last_stop - self._since
        self.spans.append((key, self._since, self._last_stop))
        self.keys[key] = None

    def finish(self) -> dict[str, float]:
        """The durations measured, once the run has ended (again: the same)."""
        self._close()
        self._class = None
        self._since = self._last_stop or self._since
        self._last_stop = 0.0
        return self.measured


def with_class_clock(base: type, clock: ClassClock) -> type:
    """``base`` telling ``clock`` when each test stops."""

    class ClockedResult(base):  # type: ignore[misc]
        def stopTest(self, test: Any) -> None:
            super().stopTest(test)
            clock.stopped(test)

    ClockedResult.__name__ = ClockedResult.__qualname__ = f"Clocked{base.__name__}"
    return ClockedResult
