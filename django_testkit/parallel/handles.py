"""Worker processes as the pool sees them: start one in a slot, track it, stop them all."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from django.db import connections

from django_testkit import leftovers
from django_testkit.parallel import worker as worker_module
from django_testkit.parallel.worker import WorkerSetup

#: How long stopped workers get to exit before they are killed.
STOP_GRACE = 2.0


class WorkerCrashed(Exception):
    """A test's worker process died while the test was running."""


class TestTimedOut(Exception):
    """A test ran longer than ``--timeout`` and its worker was stopped."""

    __test__ = False


def describe_exit(code: int | None) -> str:
    """How a worker process ended, in words (exit status or signal)."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    return f"exited with status {code}"


def death_report(worker: WorkerHandle, code: int | None, timeout: float) -> tuple[Exception, str]:
    """The error to report on the test a dead worker was running, and why the rest did not run."""
    stack = worker.read_stack()
    where = f"worker {worker.slot} (pid {worker.process.pid})"
    if stack is not None or worker.timed_out:
        error: Exception = TestTimedOut(
            f"ran longer than --timeout {timeout:g}s; {where} was stopped. "
            f"Where it was:\n{stack or '(no stack: the worker did not respond)'}"
        )
        return error, f"{where} was stopped for a timeout"
    return WorkerCrashed(f"{where} died while running it: {describe_exit(code)}."), f"{where} died"


@dataclass
class WorkerHandle:
    slot: int
    process: Any
    conn: Connection
    stop_flag: Any
    #: Shared with the worker: running test index + 1, and when its deadline started.
    state: Any = None
    dump_path: str = ""
    start_failures: int = 0
    ready: bool = False
    retiring: bool = False
    #: When it was told to stop (``time.monotonic()``), to kill it if it does not.
    retired_at: float = 0.0
    stopped_by_us: bool = False
    timed_out: bool = False
    #: The unit being run (its index), the test inside it, and what has started.
    unit: int | None = None
    size: int = 0
    current: int | None = None
    started: set[int] = field(default_factory=set)
    #: Units sent to it that wait behind the running one.
    reserved: deque[int] = field(default_factory=deque)
    #: Events of the running test, replayed once it stops.
    pending: list[tuple[Any, ...]] = field(default_factory=list)
    unit_started: float = 0.0

    def begin_unit(self, index: int, size: int) -> None:
        self.unit, self.size, self.current = index, size, None
        self.started = set()
        self.unit_started = time.monotonic()

    def finish_unit(self) -> None:
        self.unit, self.current = None, None

    def note(self, event: tuple[Any, ...]) -> None:
        """Track which test runs now (events are replayed before this is called)."""
        if event[0] == "startTest" and isinstance(event[1], int):
            self.current = event[1]
            self.started.add(event[1])
        elif event[0] == "stopTest":
            self.current = None
        elif event[0] == "addSkip" and isinstance(event[1], int) and self.current is None:
            # Python 3.12+ reports a decorator skip without starting the test.
            self.started.add(event[1])

    def running_test(self) -> int | None:
        """The test the worker was running, as it last said in shared memory."""
        index = int(self.state[0]) - 1 if self.state is not None else -1
        return index if 0 <= index < self.size else None

    def armed_at(self) -> float:
        return float(self.state[1]) if self.state is not None else self.unit_started

    def started_all(self) -> bool:
        return len(self.started) == self.size

    def in_flight(self) -> int | None:
        """The test running now: from its replayed start, else from shared memory."""
        return self.current if self.current is not None else self.running_test()

    def unstarted(self, include_current: bool) -> list[int]:
        current = self.in_flight()
        pending = [
            index for index in range(self.size) if index not in self.started and index != current
        ]
        if include_current and current is not None:
            pending.insert(0, current)
        return pending

    def read_stack(self) -> str | None:
        """The stacks the worker's watchdog dumped on a timeout, if it did."""
        if not self.dump_path or not os.path.exists(self.dump_path):
            return None
        with open(self.dump_path, encoding="utf-8", errors="replace") as dump:
            text = dump.read().strip()
        return text if text.startswith("Timeout") else None


def start_worker(
    method: str, setup: WorkerSetup, slot: int, units: list[Any], failures: int = 0
) -> WorkerHandle:
    """Start a worker for ``slot`` (a fresh one takes over a dead one's slot)."""
    context: Any = multiprocessing.get_context(method)
    parent_end, child_end = context.Pipe()
    stop_flag = context.Value("b", 0, lock=False)
    state = context.RawArray("d", 2)
    # Forked children must not share the parent's database sockets.
    connections.close_all()
    dump_path = os.path.join(setup.dump_dir, f"stack-{slot}.txt") if setup.dump_dir else ""
    if dump_path and os.path.exists(dump_path):
        os.remove(dump_path)
    process = context.Process(
        target=worker_module.main,
        args=(setup, slot, child_end, stop_flag, state, units),
        name=f"testkit-worker-{slot}",
    )
    # Started with Ctrl-C ignored (spawned interpreters keep that), so that a Ctrl-C
    # meant for the parent cannot kill a worker that is still starting up.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        process.start()
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    child_end.close()
    return WorkerHandle(slot, process, parent_end, stop_flag, state, dump_path, failures)


def stop_workers(workers: list[WorkerHandle], *, now: bool) -> None:
    """Stop every worker still alive and reap it, so none outlives the run, nor anything
    its tests started (collected before the worker is gone and they lose their parent)."""
    below: list[int] = []
    for handle in workers:
        if handle.process.is_alive():
            below += leftovers.descendants(handle.process.pid)
            handle.stopped_by_us = True
            if now:
                handle.process.terminate()
            else:
                with contextlib.suppress(OSError):
                    handle.conn.send(None)
    deadline = time.monotonic() + STOP_GRACE
    for handle in workers:
        handle.process.join(max(deadline - time.monotonic(), 0.0))
        if handle.process.is_alive():
            handle.process.kill()
            handle.process.join()
    leftovers.kill(below)
