"""One test run at a time on each test database: a lock held from setup to teardown.

Before a run creates (or reuses) a test database, it takes a lock named after
that database, where every run that could use the same database looks:

- PostgreSQL: ``pg_try_advisory_lock`` on a key derived from the test
  database name, on a dedicated connection to the server's maintenance
  database (``postgres``, as Django's own server connections use). The
  connection's ``application_name`` says who holds it; another run reads it
  from ``pg_locks`` joined with ``pg_stat_activity``.
- MySQL/MariaDB: ``GET_LOCK(name, 0)`` on a dedicated connection. A second
  connection is kept busy in ``SELECT SLEEP(...)``, with the lock
  connection's id and the holder in a comment of the statement, which another
  run reads from ``information_schema.PROCESSLIST`` (connection attributes
  would need the performance schema, which MariaDB leaves off).
- SQLite with a file test database: ``fcntl.flock`` on ``<test name>.lock``
  beside it, holding the holder's details; the file is removed on release.
  In-memory databases are private to their run and need no lock.

A run that finds a lock taken stops with :class:`DatabaseInUseError` before it
has touched anything. The server releases an advisory lock or named lock when
the holding connection ends, and the kernel an ``flock`` when its file is
closed, so a killed run's locks vanish with it. Forked children (database
builders, parallel workers) never release a lock: in a child, each lock's file
descriptor is pointed at ``/dev/null`` right after the fork, so whatever the
child does with its copy cannot reach the server or the lock file.
The server locks live in :mod:`django_testkit.databases.serverlocks`, what all
locks share (the holder, the refusal line, the descriptor registry) in
:mod:`django_testkit.databases.holders`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterable
from typing import Protocol

from django.db import connections

from django_testkit.databases.holders import (
    HOLDER_WAIT_SECONDS,
    DatabaseInUseError,
    Holder,
    held_descriptors,
    in_use_message,
)
from django_testkit.databases.serverlocks import server_lock
from django_testkit.records import field, record

__all__ = ["DatabaseInUseError", "RunLocks", "lock_test_databases"]


class _Lock(Protocol):
    def release(self) -> None: ...


@record(frozen=False)
class RunLocks:
    """The locks a run holds; :meth:`release` gives them all back (once, in its process)."""

    locks: list[_Lock] = field(default_factory=list)
    owner: int = field(default_factory=os.getpid)

    def release(self) -> None:
        if os.getpid() != self.owner:
            return
        while self.locks:
            lock = self.locks.pop()
            with contextlib.suppress(Exception):
                lock.release()


def lock_test_databases(targets: Iterable[tuple[str, str | None]]) -> RunLocks:
    """Lock each ``(alias, test database name)``; raise if another run holds one.

    A name of None (in-memory SQLite) and backends other than SQLite,
    PostgreSQL and MySQL/MariaDB need no lock, nor a SQLite file in a directory
    where no lock file can be created. On refusal every lock taken so
    far is released before :class:`DatabaseInUseError` is raised.
    """
    holder = Holder.this_process()
    held = RunLocks()
    try:
        for alias, name in targets:
            if not name:
                continue
            vendor = connections[alias].vendor
            if vendor == "sqlite":
                if not connections[alias].creation.is_in_memory_db(name):  # type: ignore[attr-defined]
                    with contextlib.suppress(PermissionError, FileNotFoundError):
                        # A directory that takes no lock file takes no new database either:
                        # Django says so itself.
                        held.locks.append(_FileLock(os.path.abspath(name), holder))
            elif vendor in ("postgresql", "mysql"):
                held.locks.append(server_lock(alias, name, holder))
    except BaseException:
        held.release()
        raise
    return held


class _FileLock:
    """``flock`` on ``<path>.lock``, holding the holder's line; removed on release."""

    def __init__(self, database: str, holder: Holder) -> None:
        self.path = f"{database}.lock"
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                other = self._read_holder(fd)
                os.close(fd)
                raise DatabaseInUseError(in_use_message(other, database)) from None
            # A releasing run removes the file while holding it: lock the file now there.
            if self._still_linked(fd):
                break
            os.close(fd)
        self.fd = fd
        self.owner = os.getpid()
        os.ftruncate(fd, 0)
        os.write(fd, f"{holder.encode()}\n".encode())
        held_descriptors.add(fd)

    def _still_linked(self, fd: int) -> bool:
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return False
        opened = os.fstat(fd)
        return (on_disk.st_dev, on_disk.st_ino) == (opened.st_dev, opened.st_ino)

    @staticmethod
    def _read_holder(fd: int) -> Holder | None:
        deadline = time.monotonic() + HOLDER_WAIT_SECONDS
        while True:
            found = Holder.parse(os.pread(fd, 4096, 0).decode("ascii", "replace"))
            if found is not None or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def release(self) -> None:
        if os.getpid() != self.owner:
            return
        held_descriptors.discard(self.fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self.fd)
