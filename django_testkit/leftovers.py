"""What tests leave running: found, named, and never allowed to keep the run waiting.

A test may start a non-daemon thread that never ends, or fork a child that
outlives it. Python's shutdown joins such threads (so the process never
exits), and a child keeps every pipe it inherited open (so whoever reads the
run's output, or a worker's pipe, never sees its end). This module takes a
snapshot before tests run, lists what is new and still alive afterwards, kills
leftover child processes with everything they started, and lets a process end
although its leftover threads still run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

from django_testkit import _compat
from django_testkit.records import record

#: How long a child process that was told to stop (or whose deadline passed) gets to
#: end by itself before it is killed: a retired worker, a worker past ``--timeout``
#: whose watchdog did not end it, workers stopped by an interrupt or ``--failfast``, a
#: database builder after an interrupt. A child that ends sooner is not waited for.
KILL_GRACE = 10.0


@record
class Snapshot:
    """The non-daemon threads and the child processes alive at one moment."""

    threads: frozenset[int]
    children: frozenset[int]


def _threads() -> dict[int, threading.Thread]:
    main = threading.main_thread()
    return {
        thread.ident: thread
        for thread in threading.enumerate()
        if thread is not main and not thread.daemon and thread.ident is not None
    }


def children_of(pid: int) -> set[int]:
    """Live child processes of ``pid`` (Linux ``/proc``; empty where it cannot be read)."""
    found: set[int] = set()
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                found.update(int(child) for child in listing.read().split())
        except (OSError, ValueError):
            continue
    return {child for child in found if _alive(child)}


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, waiting to be reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


def snapshot() -> Snapshot:
    return Snapshot(frozenset(_threads()), frozenset(children_of(os.getpid())))


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            words = cmdline.read().split(b"\0")
    except OSError:
        return "?"
    parts = [word.decode(errors="replace") for word in words if word][:3]
    return " ".join(parts) or "?"


@record
class Leftovers:
    """Threads and child processes that appeared since a snapshot and still run."""

    threads: tuple[str, ...]
    children: tuple[int, ...]

    def __bool__(self) -> bool:
        return bool(self.threads or self.children)

    def describe(self) -> str:
        """``thread 'poller', child process 4242 (sleep 600)``."""
        parts = [f"thread {name!r}" for name in self.threads]
        parts += [f"child process {pid} ({_command(pid)})" for pid in self.children]
        return ", ".join(parts)


def since(before: Snapshot) -> Leftovers:
    """What is alive now that was not in ``before``."""
    threads = _threads()
    names = tuple(
        thread.name
        for ident, thread in threads.items()
        if ident not in before.threads and thread.is_alive()
    )
    children = tuple(sorted(children_of(os.getpid()) - before.children))
    return Leftovers(names, children)


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid``: children, their children, and so on."""
    found: list[int] = []
    queue = sorted(children_of(pid))
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children_of(current))
    return found


def kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and every process below it (collected first, so none escapes)."""
    kill([pid, *descendants(pid)])


def exit_now(status: int) -> None:
    """End the process with ``status`` at once, after saving what a measuring coverage
    (ours, or the one ``coverage run`` started in this process) collected and flushing
    the standard streams: ``os._exit`` skips every other exit handler."""
    coverage = sys.modules.get("coverage")
    current = getattr(getattr(coverage, "Coverage", None), "current", None)
    measuring = current() if current is not None else None
    if measuring is not None:
        with contextlib.suppress(Exception):
            measuring.stop()
            measuring.save()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


def end_process_regardless_of_threads(status: int) -> None:
    """Make this process exit with ``status`` at shutdown without joining leftover threads.

    Python joins every non-daemon thread before it exits; the callback runs
    before that join (:func:`django_testkit._compat.register_before_thread_join`),
    flushes the standard streams and a measuring coverage, and ends the process.
    Nothing runs after it, so it is only set when threads were left.
    """

    def finish() -> None:
        if not any(thread.is_alive() for thread in _threads().values()):
            return
        exit_now(status)

    _compat.register_before_thread_join(finish)


def _is_the_test_command() -> bool:
    """Whether this process is ``manage.py test`` (or ``django-admin test``) itself,
    rather than a program that called the runner and goes on after it."""
    return len(sys.argv) > 1 and sys.argv[1] == "test"


def end_run(before: Snapshot, status: int) -> None:
    """At the end of a run in this process: name what the tests left running, kill the
    child processes, and let a ``test`` command exit with ``status`` despite leftover
    threads (a program that called the runner itself keeps its threads)."""
    left = since(before)
    if not left:
        return
    fates = []
    if left.children:
        fates.append("child processes were killed")
    exits = bool(left.threads) and _is_the_test_command()
    if exits:
        fates.append("the run ends without waiting for the threads")
    print(
        f"The tests left running: {left.describe()}"
        + (f"; {', '.join(fates)}." if fates else "."),
        file=sys.stderr,
    )
    for pid in left.children:
        kill_tree(pid)
    if exits:
        end_process_regardless_of_threads(status)
