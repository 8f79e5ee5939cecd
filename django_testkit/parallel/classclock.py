"""Durations of test classes in a run without workers, for the durations store.

A worker times each unit (class) it runs; a serial run has no units, so its result
notes when each class's first test starts and when its last one stops. A class's
time runs from the end of the class before it (its setup, ``setUpClass`` and
``setUpTestData``, belongs to it) to the stop of its own last test, so the
classes' times add up to the run's. A class seen twice (not contiguous) adds up.
"""

from __future__ import annotations

import time
from typing import Any


def _key(test: Any) -> str:
    cls = type(test)
    return f"{cls.__module__}.{cls.__qualname__}"


class ClassClock:
    """Seconds per class key, measured as tests start and stop in one process."""

    def __init__(self) -> None:
        self.measured: dict[str, float] = {}
        self.keys: list[str] = []
        #: (key, start, end) of each stretch of a class, in ``time.monotonic()``.
        self.spans: list[tuple[str, float, float]] = []
        self._key = ""
        self._since = 0.0
        self._last_stop = 0.0

    def started(self, test: Any) -> None:
        key = _key(test)
        if key == self._key:
            return
        now = time.monotonic()
        self._close()
        self._key = key
        self._since = self._last_stop or now
        self._last_stop = 0.0
        self.keys.append(key)

    def stopped(self, test: Any) -> None:
        self._last_stop = time.monotonic()

    def _close(self) -> None:
        if self._key and self._last_stop:
            self.measured[self._key] = (
                self.measured.get(self._key, 0.0) + self._last_stop - self._since
            )
            self.spans.append((self._key, self._since, self._last_stop))

    def finish(self) -> dict[str, float]:
        """The durations measured, once the run has ended (again: the same)."""
        self._close()
        self._key = ""
        self._last_stop = 0.0
        return self.measured


def with_class_clock(base: type, clock: ClassClock) -> type:
    """``base`` telling ``clock`` when each test starts and stops."""

    class ClockedResult(base):  # type: ignore[misc]
        def startTest(self, test: Any) -> None:
            clock.started(test)
            super().startTest(test)

        def stopTest(self, test: Any) -> None:
            super().stopTest(test)
            clock.stopped(test)

    ClockedResult.__name__ = ClockedResult.__qualname__ = f"Clocked{base.__name__}"
    return ClockedResult
