"""What every run lock shares: who holds it, the refusal line, descriptors forks let go.

:mod:`django_testkit.databases.locks` (file locks, and the run's set of locks) and
:mod:`django_testkit.databases.serverlocks` (locks on database servers) both
build on this module, so neither needs the other's internals.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import time

from django_testkit.exceptions import TestkitError
from django_testkit.records import record

#: A run that finds a lock taken waits this long for the holder to say who it is.
HOLDER_WAIT_SECONDS = 2.0
#: PostgreSQL's limit on ``application_name`` (NAMEDATALEN - 1).
APPLICATION_NAME_MAX = 63

_HOLDER = re.compile(r"django-testkit (\d+) (\d+) ([A-Za-z0-9._-]*)")


class DatabaseInUseError(TestkitError):
    """Another test run holds the lock of a test database this run needs."""


@record
class Holder:
    """Who holds a lock: the run's process id, host name and start time."""

    pid: int
    host: str
    started: float

    @classmethod
    def this_process(cls) -> Holder:
        return cls(os.getpid(), socket.gethostname(), time.time())

    def encode(self) -> str:
        """One ASCII line of at most 63 characters (a long host name is cut)."""
        host = re.sub(r"[^A-Za-z0-9._-]", "-", self.host)
        return f"django-testkit {self.pid} {int(self.started)} {host}"[:APPLICATION_NAME_MAX]

    @classmethod
    def parse(cls, text: str | None) -> Holder | None:
        """The holder in ``text`` (as :meth:`encode` wrote it, anywhere in it), or None."""
        match = _HOLDER.search(text or "")
        if match is None:
            return None
        return cls(int(match.group(1)), match.group(3), float(match.group(2)))

    def describe(self, now: float | None = None) -> str:
        """``pid 4242 on host ci-7, started 14:02:11`` (with the date if not today)."""
        started = time.localtime(self.started)
        today = time.localtime(time.time() if now is None else now)
        pattern = "%H:%M:%S" if started[:3] == today[:3] else "%Y-%m-%d %H:%M:%S"
        return f"pid {self.pid} on host {self.host}, started {time.strftime(pattern, started)}"


def in_use_message(holder: Holder | None, what: str) -> str:
    """The line a refused run prints; ``what`` names the database and where it is."""
    who = f" ({holder.describe()})" if holder is not None else ""
    return (
        f"Another test run{who} is using {what}; wait for it, or give this run its own "
        "databases with --db-suffix."
    )


#: Descriptors of locks held by this process, pointed at /dev/null in forked children.
held_descriptors: set[int] = set()


def _forget_locks_in_child() -> None:
    if not held_descriptors:
        return
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in held_descriptors:
            with contextlib.suppress(OSError):
                os.dup2(devnull, fd)
    finally:
        os.close(devnull)
    held_descriptors.clear()


os.register_at_fork(after_in_child=_forget_locks_in_child)
