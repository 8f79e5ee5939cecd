"""Worker processes as the pool sees them: start one in a slot, track it, stop them all."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from typing import Any

from django.db import connections

from django_testkit import leftovers
from django_testkit.parallel import stacks
from django_testkit.parallel import worker as worker_module
from django_testkit.parallel.deadline import TestTimedOut
from django_testkit.parallel.ledger import Assignment
from django_testkit.parallel.protocol import FromWorker, RunUnit, Stop
from django_testkit.parallel.worker import WorkerSetup
from django_testkit.records import record


class WorkerCrashed(Exception):
    """A test's worker process died while the test was running."""


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


def death_report(
    worker: WorkerHandle, code: int | None, timeout: float, verbosity: int = 1
) -> tuple[Exception, str]:
    """The error to report on the test a dead worker was running, and why the rest did not run."""
    stack = worker.read_stack()
    if stack is not None:
        stack = stacks.trim(stack, stacks.this_interpreter(), everything=verbosity >= 3)
    where = f"worker {worker.slot} (pid {worker.process.pid})"
    if stack is not None or worker.timed_out:
        error: Exception = TestTimedOut(
            f"ran longer than --timeout {timeout:g}s; {where} was stopped. "
            f"Where it was:\n{stack or '(no stack: the worker did not respond)'}"
        )
        return error, f"{where} was stopped for a timeout"
    return WorkerCrashed(f"{where} died while running it: {describe_exit(code)}."), f"{where} died"


@record(frozen=False, kw_only=True)
class WorkerHandle(Assignment):
    """One worker process, its end of the pipe, and what it is doing (see :class:`Assignment`).

    Only the handle talks to the worker: it sends the protocol's messages and
    receives the worker's.
    """

    slot: int
    process: Any
    conn: Connection
    stop_flag: Any
    #: Shared with the worker: running test index + 1, when its deadline started, and
    #: how many of the unit's tests have finished.
    state: Any = None
    dump_path: str = ""
    start_failures: int = 0
    ready: bool = False
    retiring: bool = False
    #: When it was told to stop (``time.monotonic()``), to kill it if it does not.
    retired_at: float = 0.0
    stopped_by_us: bool = False
    timed_out: bool = False

    def waitables(self) -> list[Any]:
        """What to wait on for this worker: its pipe and its process ending."""
        return [self.conn, self.process.sentinel]

    def owns(self, waitable: Any) -> bool:
        return waitable is self.conn or waitable == self.process.sentinel

    def received(self) -> Iterator[FromWorker]:
        """The messages the worker has sent so far; stops at the end of the pipe."""
        while True:
            try:
                if not self.conn.poll():
                    return
                message: FromWorker = self.conn.recv()
            except (EOFError, OSError):
                self.process.join()
                return
            yield message

    def send_unit(self, index: int, blob: bytes | None) -> bool:
        """Send a unit to run; False if the worker has just died."""
        try:
            self.conn.send(RunUnit(index, blob))
        except OSError:
            return False
        return True

    def retire(self) -> None:
        """Tell the worker to exit once it is idle (once only)."""
        if self.retiring:
            return
        self.ask_to_stop()
        self.retiring = True
        self.retired_at = time.monotonic()

    def ask_to_stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(Stop())

    def kill(self) -> None:
        """Kill the worker with everything it started, and reap it."""
        leftovers.kill_tree(self.process.pid)
        self.process.join()

    def running_test(self) -> int | None:
        """The test the worker was running, as it last said in shared memory."""
        index = int(self.state[0]) - 1 if self.state is not None else -1
        return index if 0 <= index < self.size else None

    def finished_tests(self) -> int:
        """How many of the unit's tests the worker has finished, as it said in shared memory."""
        done = int(self.state[2]) if self.state is not None else 0
        return min(max(done, 0), self.size)

    def armed_at(self) -> float:
        return float(self.state[1]) if self.state is not None else self.unit_started

    def in_flight(self) -> int | None:
        """The test running now: from its replayed start, else from shared memory."""
        return self.current if self.current is not None else self.running_test()

    def unstarted_tests(self, include_current: bool) -> list[int]:
        return self.unstarted(self.in_flight(), include_current)

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
    state = context.RawArray("d", 3)
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
    return WorkerHandle(
        slot=slot,
        process=process,
        conn=parent_end,
        stop_flag=stop_flag,
        state=state,
        dump_path=dump_path,
        start_failures=failures,
    )


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
                handle.ask_to_stop()
    deadline = time.monotonic() + leftovers.KILL_GRACE
    for handle in workers:
        handle.process.join(max(deadline - time.monotonic(), 0.0))
        if handle.process.is_alive():
            handle.process.kill()
            handle.process.join()
    leftovers.kill(below)


def kill_overrunning(workers: Iterable[WorkerHandle], limit: float) -> None:
    """Kill the workers whose test has run past ``--timeout`` (``limit``) and the grace
    period after it (in which the worker's own watchdog dumps the stacks and ends it)."""
    if not limit:
        return
    now = time.monotonic()
    for worker in list(workers):
        armed = max(worker.armed_at(), worker.unit_started)
        if worker.unit is not None and now - armed > limit + leftovers.KILL_GRACE:
            worker.timed_out = True
            leftovers.kill_tree(worker.process.pid)
