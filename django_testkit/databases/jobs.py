"""Run a small graph of jobs, each in a forked child process, as soon as it is ready.

Creating a test database is mostly Python work (``migrate``), so threads would
wait on each other; forked children run truly side by side, start from the
parent's exact state (settings, app registry) and need no re-setup.

A job is a callable that takes an ``emit`` function and reports progress
through it; every event reaches the parent's ``on_event`` as soon as it is
emitted, so the parent knows what a child created even if the child dies.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
import signal
import struct
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

Event = tuple[Any, ...]
Emit = Callable[[Event], None]
Job = Callable[[Emit], None]

_HEADER = struct.Struct("!I")
#: How long children get to clean up after the parent is interrupted.
INTERRUPT_GRACE_SECONDS = 20.0


class JobFailed(Exception):
    """A job raised (in a child, the traceback text travels with it)."""

    def __init__(self, name: str, summary: str, details: str) -> None:
        super().__init__(f"{name}: {summary}")
        self.name = name
        self.summary = summary
        self.details = details


def can_fork() -> bool:
    return hasattr(os, "fork")


def run_in_process(
    jobs: Mapping[str, Job], order: Iterable[str], on_event: Callable[[str, Event], None]
) -> None:
    """Run the jobs one after the other in this process, in ``order``.

    An exception (not an interruption) becomes :class:`JobFailed`, as in a child.
    """
    for name in order:
        try:
            jobs[name](partial(on_event, name))
        except Exception as exc:
            summary = traceback.format_exception_only(exc)[-1].strip()
            raise JobFailed(name, summary, traceback.format_exc()) from exc


@dataclass
class _Child:
    name: str
    pid: int
    fd: int
    buffer: bytearray = field(default_factory=bytearray)
    failure: tuple[str, str] | None = None
    finished: bool = False


def run_forked(
    jobs: Mapping[str, Job],
    requires: Mapping[str, Iterable[str]],
    concurrency: int,
    on_event: Callable[[str, Event], None],
) -> None:
    """Run each job in a forked child once every job it requires has finished.

    At most ``concurrency`` children run at once. The first failure stops new
    jobs from starting; running ones finish, then :class:`JobFailed` is raised.
    If the parent is interrupted (Ctrl-C, SIGTERM turned into an exception), the
    children are asked to stop with SIGINT, waited for, and the exception goes on.
    """
    pending = {name: set(requires.get(name, ())) & set(jobs) for name in jobs}
    running: dict[int, _Child] = {}
    done: set[str] = set()
    failure: JobFailed | None = None
    selector = selectors.DefaultSelector()
    try:
        while pending or running:
            while failure is None and len(running) < concurrency:
                ready = sorted(name for name, needs in pending.items() if needs <= done)
                if not ready:
                    break
                name = ready[0]
                del pending[name]
                child = _start(name, jobs[name])
                running[child.fd] = child
                selector.register(child.fd, selectors.EVENT_READ)
            if not running:
                break
            for key, _ in selector.select():
                child = running[key.fd]
                if _read(child, on_event):
                    continue
                selector.unregister(child.fd)
                del running[child.fd]
                _reap(child)
                if child.failure is None:
                    done.add(child.name)
                elif failure is None:
                    failure = JobFailed(child.name, *child.failure)
            if failure is not None and not running:
                break
    except BaseException:
        _interrupt(running.values(), selector, on_event)
        raise
    finally:
        selector.close()
    if failure is not None:
        raise failure


def _start(name: str, job: Job) -> _Child:
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child; its effects are tested
        os.close(read_fd)
        _child_main(job, write_fd)
    os.close(write_fd)
    return _Child(name=name, pid=pid, fd=read_fd)


def _child_main(job: Job, fd: int) -> None:  # pragma: no cover - runs in the child
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    status = 0

    def emit(event: Event) -> None:
        payload = pickle.dumps(event)
        os.write(fd, _HEADER.pack(len(payload)) + payload)

    try:
        job(emit)
    except BaseException as exc:
        status = 1
        summary = traceback.format_exception_only(exc)[-1].strip()
        with contextlib.suppress(BaseException):
            emit(("__failed__", summary, traceback.format_exc()))
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)


def _read(child: _Child, on_event: Callable[[str, Event], None]) -> bool:
    """Read what the child sent; False once its end of the pipe is closed."""
    chunk = os.read(child.fd, 65536)
    if not chunk:
        return False
    child.buffer += chunk
    while len(child.buffer) >= _HEADER.size:
        (size,) = _HEADER.unpack_from(child.buffer)
        if len(child.buffer) < _HEADER.size + size:
            break
        event = pickle.loads(child.buffer[_HEADER.size : _HEADER.size + size])
        del child.buffer[: _HEADER.size + size]
        if event[0] == "__failed__":
            child.failure = (event[1], event[2])
        else:
            on_event(child.name, event)
    return True


def _reap(child: _Child) -> None:
    os.close(child.fd)
    _, status = os.waitpid(child.pid, 0)
    child.finished = True
    if child.failure is None and status != 0:
        how = (
            f"killed by signal {signal.Signals(os.WTERMSIG(status)).name}"
            if os.WIFSIGNALED(status)
            else f"exit status {os.waitstatus_to_exitcode(status)}"
        )
        child.failure = (f"the process ended unexpectedly ({how})", "")


def _interrupt(
    children: Iterable[_Child],
    selector: selectors.BaseSelector,
    on_event: Callable[[str, Event], None],
) -> None:
    """Ask running children to stop, keep reading their events, then reap them."""
    children = [child for child in children if not child.finished]
    for child in children:
        _signal(child.pid, signal.SIGINT)
    deadline = time.monotonic() + INTERRUPT_GRACE_SECONDS
    open_children = {child.fd: child for child in children}
    while open_children and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.2):
            found = open_children.get(key.fd)
            if found is not None and not _read(found, on_event):
                selector.unregister(found.fd)
                del open_children[found.fd]
    for child in children:
        if child.fd in open_children:
            _signal(child.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            _reap(child)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
