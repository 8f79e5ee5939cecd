"""Run a small graph of jobs, each in a forked child process, as soon as it is ready.

Creating a test database is mostly Python work (``migrate``), so threads would
wait on each other; forked children run truly side by side, start from the
parent's exact state (settings, app registry) and need no re-setup.

A job is a callable that takes an ``emit`` function and reports progress
through it with the typed events below; every event reaches the parent's
``on_event`` as soon as it is emitted, so the parent knows what a child
created even if the child dies.
"""

from __future__ import annotations

import contextlib
import graphlib
import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

from django_testkit.exceptions import ConfigurationError
from django_testkit.leftovers import KILL_GRACE
from django_testkit.records import record

if TYPE_CHECKING:
    from multiprocessing.connection import Connection


class Timing(NamedTuple):
    """How long a step of a job took (recorded by Django's ``--timing``)."""

    label: str
    seconds: float


class Created(NamedTuple):
    """A test database now exists (``kept``: it is kept after the run)."""

    alias: str
    name: Any
    kept: bool
    old_name: Any


class Cloned(NamedTuple):
    """A clone of ``alias`` for one worker slot now exists."""

    alias: str
    suffix: str
    kept: bool


class _Failed(NamedTuple):
    """The child's job raised: its one-line summary and traceback (sent last)."""

    summary: str
    details: str


JobEvent = Timing | Created | Cloned
Emit = Callable[[JobEvent], None]
Job = Callable[[Emit], None]
OnEvent = Callable[[str, JobEvent], None]


class JobFailed(Exception):
    """A job raised (in a child, the traceback text travels with it)."""

    def __init__(self, name: str, summary: str, details: str) -> None:
        super().__init__(f"{name}: {summary}")
        self.name = name
        self.summary = summary
        self.details = details


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def run_in_process(jobs: Mapping[str, Job], order: Iterable[str], on_event: OnEvent) -> None:
    """Run the jobs one after the other in this process, in ``order``.

    An exception (not an interruption) becomes :class:`JobFailed`, as in a child.
    """
    for name in order:
        try:
            jobs[name](partial(on_event, name))
        except Exception as exc:
            summary = traceback.format_exception_only(exc)[-1].strip()
            raise JobFailed(name, summary, traceback.format_exc()) from exc


@record(frozen=False)
class _Child:
    name: str
    process: Any
    conn: Connection
    failure: tuple[str, str] | None = None


def _ready_order(
    jobs: Mapping[str, Job], requires: Mapping[str, Iterable[str]]
) -> graphlib.TopologicalSorter[str]:
    graph = graphlib.TopologicalSorter[str]()
    for name in jobs:
        graph.add(name, *(need for need in requires.get(name, ()) if need in jobs))
    try:
        graph.prepare()
    except graphlib.CycleError as error:
        cycle = " -> ".join(reversed(error.args[1]))
        raise ConfigurationError(
            f"DATABASES TEST DEPENDENCIES form a cycle: {cycle}; remove one of these dependencies."
        ) from None
    return graph


def run_forked(
    jobs: Mapping[str, Job],
    requires: Mapping[str, Iterable[str]],
    concurrency: int,
    on_event: OnEvent,
) -> None:
    """Run each job in a forked child once every job it requires has finished.

    At most ``concurrency`` children run at once, ready jobs in name order. The
    first failure stops new jobs from starting; running ones finish, then
    :class:`JobFailed` is raised. If the parent is interrupted (Ctrl-C, SIGTERM
    turned into an exception), the children are asked to stop with SIGINT, waited
    for, and the exception goes on. A cycle in ``requires`` is refused at once.
    """
    from multiprocessing.connection import wait

    graph = _ready_order(jobs, requires)
    ready: list[str] = []
    running: dict[Connection, _Child] = {}
    failure: JobFailed | None = None
    try:
        while graph.is_active() and (failure is None or running):
            ready = sorted([*ready, *graph.get_ready()])
            while failure is None and ready and len(running) < concurrency:
                child = _start(ready.pop(0), jobs)
                running[child.conn] = child
            if not running:
                break
            for conn in wait(list(running)):
                child = running[conn]  # type: ignore[index]
                if _read(child, on_event):
                    continue
                del running[child.conn]
                _reap(child)
                if child.failure is None:
                    graph.done(child.name)
                elif failure is None:
                    failure = JobFailed(child.name, *child.failure)
    except BaseException:
        _interrupt(list(running.values()), on_event)
        raise
    if failure is not None:
        raise failure


def _start(name: str, jobs: Mapping[str, Job]) -> _Child:
    context = multiprocessing.get_context("fork")
    parent_end, child_end = context.Pipe(duplex=False)
    sys.stdout.flush()
    sys.stderr.flush()
    process = context.Process(target=_child_main, args=(jobs[name], child_end), name=name)
    process.start()
    child_end.close()
    return _Child(name=name, process=process, conn=parent_end)


def _child_main(job: Job, conn: Connection) -> None:  # pragma: no cover - runs in the child
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    status = 0
    try:
        job(conn.send)
    except BaseException as exc:
        status = 1
        summary = traceback.format_exception_only(exc)[-1].strip()
        with contextlib.suppress(BaseException):
            conn.send(_Failed(summary, traceback.format_exc()))
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            # Not multiprocessing's own exit: nothing of the parent's may run here.
            os._exit(status)


def _read(child: _Child, on_event: OnEvent) -> bool:
    """Pass on what the child sent; False once its end of the pipe is closed."""
    while True:
        try:
            if not child.conn.poll():
                return True
            event = child.conn.recv()
        except (EOFError, OSError):
            return False
        if isinstance(event, _Failed):
            child.failure = (event.summary, event.details)
        else:
            on_event(child.name, event)


def _reap(child: _Child) -> None:
    child.conn.close()
    child.process.join()
    code = child.process.exitcode
    if child.failure is None and code != 0:
        how = (
            f"killed by signal {signal.Signals(-code).name}"
            if code is not None and code < 0
            else f"exit status {code}"
        )
        child.failure = (f"the process ended unexpectedly ({how})", "")


def _interrupt(children: list[_Child], on_event: OnEvent) -> None:
    """Ask running children to stop, keep reading their events, then reap them."""
    from multiprocessing.connection import wait

    for child in children:
        _signal(child.process.pid, signal.SIGINT)
    deadline = time.monotonic() + KILL_GRACE
    open_children = {child.conn: child for child in children}
    while open_children and time.monotonic() < deadline:
        for conn in wait(list(open_children), timeout=0.2):
            found = open_children[conn]  # type: ignore[index]
            if not _read(found, on_event):
                del open_children[found.conn]
    for child in children:
        if child.conn in open_children:
            _signal(child.process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            _reap(child)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
