"""Progress of a parallel run: a live status line on a terminal, plain lines elsewhere.

On a terminal (and ``CI`` unset) the last line of the output is a status
line: tests done / total, failures so far, elapsed time and an estimate of
the time left (from the durations store), and at ``-v 2`` what each worker
runs. The run's own output is written above it: the line being built (the
dots at ``-v 1``) is held back while it is incomplete and shown in front of
the status, so the final output is exactly what a serial run prints.
Elsewhere nothing is redrawn: a long run prints a plain progress line every
:data:`PLAIN_INTERVAL` seconds.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from django_testkit.parallel import protocol
from django_testkit.parallel.protocol import StopTest, TestEvent

#: Seconds between plain progress lines when the output is not a live terminal.
PLAIN_INTERVAL = 60.0
_REDRAW = 0.2
_ERASE = "\r\x1b[K"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class _LiveStream:
    """Stands in for the result's stream: output above, status line below."""

    def __init__(self, stream: Any, progress: Progress) -> None:
        self.stream = stream
        self.progress = progress
        self.partial = ""

    def write(self, text: str) -> int:
        if not text:
            return 0
        self.progress.erase()
        head, newline, tail = text.rpartition("\n")
        if newline:
            self.stream.write(self.partial + head + newline)
            self.partial = tail
        else:
            self.partial += text
        self.progress.draw()
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class Progress:
    """Counts tests as their outcomes are replayed and shows where the run is."""

    def __init__(self, result: Any, total: int, verbosity: int, live: bool) -> None:
        self.result = result
        self.total = total
        self.verbosity = verbosity
        self.holder = getattr(result, "stream", None)
        raw = getattr(self.holder, "stream", None)
        isatty = getattr(raw, "isatty", None)
        self.live = bool(live and raw is not None and callable(isatty) and isatty())
        self.raw = raw if raw is not None else sys.stderr
        self.done = 0
        self.failed = 0
        self.running: dict[int, str] = {}
        self.started = time.monotonic()
        self.remaining = 0.0
        self.shown = ""
        self.last_draw = 0.0
        self.last_plain = self.started
        self.wrapper: _LiveStream | None = None

    def __enter__(self) -> Progress:
        if self.live and self.holder is not None:
            self.wrapper = _LiveStream(self.raw, self)
            self.holder.stream = self.wrapper
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.wrapper is not None and self.holder is not None:
            self.erase()
            self.raw.write(self.wrapper.partial)
            self.raw.flush()
            self.holder.stream = self.raw
            self.wrapper = None

    def status(self) -> str:
        elapsed = time.monotonic() - self.started
        parts = [f"{self.done}/{self.total} tests", f"{self.failed} failed", _clock(elapsed)]
        if self.done < self.total:
            parts.append(f"~{_clock(self.remaining)} left")
        text = "[testkit] " + ", ".join(parts)
        if self.verbosity >= 2 and self.running:
            text += " | " + " ".join(f"{slot}:{key}" for slot, key in sorted(self.running.items()))
        return text

    def erase(self) -> None:
        if self.shown:
            self.raw.write(_ERASE)
            self.shown = ""

    def draw(self) -> None:
        if self.wrapper is None:
            return
        width = shutil.get_terminal_size((80, 24)).columns - 1
        status = self.status()
        partial = self.wrapper.partial
        room = width - len(status) - 2
        line = (partial[-room:] + "  " if partial and room > 0 else "") + status
        line = line[:width]
        self.raw.write(_ERASE + line)
        self.raw.flush()
        self.shown = line
        self.last_draw = time.monotonic()

    def say(self, text: str) -> None:
        """Print a line of our own without disturbing the run's output."""
        if self.wrapper is not None:
            self.erase()
            self.raw.write(text + "\n")
            self.draw()
        else:
            self.raw.write(("\n" if self.verbosity == 1 and self.done else "") + text + "\n")
            self.raw.flush()

    def unit(self, slot: int, key: str | None) -> None:
        if key is None:
            self.running.pop(slot, None)
        else:
            self.running[slot] = key

    def event(self, event: TestEvent, failed: bool = False) -> None:
        """Count a replayed event (every test ends with stopTest, even a skipped one)."""
        if isinstance(event, StopTest):
            self.done += 1
        if failed or protocol.failed(event):
            self.failed += 1

    def tick(self, remaining: Callable[[], float]) -> None:
        """Redraw (or print a plain line) when due; ``remaining`` is only asked then."""
        now = time.monotonic()
        if self.wrapper is not None:
            if now - self.last_draw >= _REDRAW:
                self.remaining = remaining()
                self.erase()
                self.draw()
        elif now - self.last_plain >= PLAIN_INTERVAL:
            self.last_plain = now
            self.remaining = remaining()
            self.say(self.status())
