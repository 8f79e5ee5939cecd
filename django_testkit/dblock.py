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
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import connections

from django_testkit.exceptions import TestkitError

#: A run that finds a lock taken waits this long for the holder to say who it is.
HOLDER_WAIT_SECONDS = 2.0
#: How long a MariaDB lock connection "sleeps" (a year); release interrupts it.
SLEEP_SECONDS = 31_536_000
#: PostgreSQL's limit on ``application_name`` (NAMEDATALEN - 1).
APPLICATION_NAME_MAX = 63

_HOLDER = re.compile(r"django-testkit (\d+) (\d+) ([A-Za-z0-9._-]*)")


class DatabaseInUseError(TestkitError):
    """Another test run holds the lock of a test database this run needs."""


@dataclass(frozen=True)
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


class _Lock(Protocol):
    def release(self) -> None: ...


#: Descriptors of locks held by this process, pointed at /dev/null in forked children.
_held_fds: set[int] = set()


def _forget_locks_in_child() -> None:
    if not _held_fds:
        return
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in _held_fds:
            with contextlib.suppress(OSError):
                os.dup2(devnull, fd)
    finally:
        os.close(devnull)
    _held_fds.clear()


os.register_at_fork(after_in_child=_forget_locks_in_child)


@dataclass
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
            elif vendor == "postgresql":
                held.locks.append(_PostgresLock(alias, name, holder))
            elif vendor == "mysql":
                held.locks.append(_MysqlLock(alias, name, holder))
    except BaseException:
        held.release()
        raise
    return held


def _server_address(alias: str) -> str:
    settings = connections[alias].settings_dict
    default_port = {"postgresql": "5432", "mysql": "3306"}.get(connections[alias].vendor, "")
    host = settings.get("HOST") or "localhost"
    return f"{host}:{settings.get('PORT') or default_port}"


def _server_connection(alias: str, database: str) -> Any:
    """A new connection with ``alias``'s settings to ``database``, outside ``connections``."""
    connection = connections[alias]
    settings = {**connection.settings_dict, "NAME": database}
    # Never a pooled connection (Django 5.1+): the lock must end with this connection.
    settings["OPTIONS"] = {
        key: value for key, value in settings.get("OPTIONS", {}).items() if key != "pool"
    }
    return type(connection)(settings, alias)


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
        _held_fds.add(fd)

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
        _held_fds.discard(self.fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self.fd)


def _advisory_key(name: str) -> tuple[int, int]:
    """Two non-negative 31-bit integers from the test database name."""
    digest = hashlib.sha256(f"django-testkit:{name}".encode()).digest()
    return (
        int.from_bytes(digest[:4], "big") & 0x7FFFFFFF,
        int.from_bytes(digest[4:8], "big") & 0x7FFFFFFF,
    )


class _PostgresLock:
    """A session advisory lock on the maintenance database, named by the test database."""

    def __init__(self, alias: str, name: str, holder: Holder) -> None:
        self.key = _advisory_key(name)
        self.connection = self._connect(alias)
        try:
            with self.connection.cursor() as cursor:
                # Before the lock: whoever sees the lock taken also sees who took it.
                cursor.execute(
                    "SELECT set_config('application_name', %s, false)", [holder.encode()]
                )
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", list(self.key))
                acquired = bool(cursor.fetchone()[0])
                other = None if acquired else self._read_holder(cursor)
        except BaseException:
            self.connection.close()
            raise
        if not acquired:
            self.connection.close()
            raise DatabaseInUseError(in_use_message(other, f"{name} on {_server_address(alias)}"))
        self.owner = os.getpid()
        self.fd = self.connection.connection.fileno()
        _held_fds.add(self.fd)

    @staticmethod
    def _connect(alias: str) -> Any:
        # Django's own fallback when there is no 'postgres' database: the configured one.
        last: Exception | None = None
        for database in ("postgres", connections[alias].settings_dict["NAME"]):
            connection = _server_connection(alias, database)
            try:
                connection.ensure_connection()
                return connection
            except Exception as exc:
                last = exc
        assert last is not None
        raise last

    def _read_holder(self, cursor: Any) -> Holder | None:
        deadline = time.monotonic() + HOLDER_WAIT_SECONDS
        while True:
            cursor.execute(
                "SELECT a.application_name FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
                "AND l.classid::bigint = %s AND l.objid::bigint = %s "
                "AND l.database = (SELECT oid FROM pg_database "
                "WHERE datname = current_database())",
                list(self.key),
            )
            row = cursor.fetchone()
            found = Holder.parse(row[0]) if row else None
            if found is not None or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def release(self) -> None:
        if os.getpid() != self.owner:
            return
        _held_fds.discard(self.fd)
        try:
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", list(self.key))
        finally:
            self.connection.close()


def _lock_name(name: str) -> str:
    """A MariaDB/MySQL lock name (at most 64 characters) for a test database name."""
    readable = f"django-testkit:{name}"
    if len(readable) <= 64:
        return readable
    return f"django-testkit:{hashlib.sha256(name.encode()).hexdigest()[:40]}"


class _MysqlLock:
    """``GET_LOCK`` on an idle connection; a second one shows the holder in the process list.

    The lock's connection stays idle, so the server notices at once when its
    process dies and frees the lock (a connection busy in ``SLEEP`` is only
    checked every few seconds). The second connection is sent ``SELECT SLEEP``
    with a comment naming the lock connection's id and the holder; its result
    is never read: release kills that connection.
    """

    def __init__(self, alias: str, name: str, holder: Holder) -> None:
        self.lock = _lock_name(name)
        self.holding = _server_connection(alias, "")
        self.showing = _server_connection(alias, "")
        try:
            with self.holding.cursor() as cursor:
                cursor.execute("SELECT GET_LOCK(%s, 0)", [self.lock])
                acquired = cursor.fetchone()[0] == 1
            if not acquired:
                other = self._read_holder()
                raise DatabaseInUseError(
                    in_use_message(other, f"{name} on {_server_address(alias)}")
                )
            self.showing.ensure_connection()
            raw = self.showing.connection
            self.showing_id = int(raw.thread_id())
            self.owner = os.getpid()
            self.fds = {self.holding.connection.fileno(), raw.fileno()}
            _held_fds.update(self.fds)
            marker = _marker(int(self.holding.connection.thread_id()))
            statement = f"SELECT SLEEP({SLEEP_SECONDS}) /* {marker}{holder.encode()} */"
            # Sent without waiting for the result (mysqlclient 2+); no thread needed.
            self.sent = hasattr(raw, "send_query")
            if self.sent:
                raw.send_query(statement.encode())
        except BaseException:
            self.holding.close()
            self.showing.close()
            raise

    def _read_holder(self) -> Holder | None:
        deadline = time.monotonic() + HOLDER_WAIT_SECONDS
        with self.holding.cursor() as cursor:
            while True:
                cursor.execute("SELECT IS_USED_LOCK(%s)", [self.lock])
                (holding_id,) = cursor.fetchone()
                found = None
                if holding_id is not None:
                    cursor.execute(
                        "SELECT INFO FROM information_schema.PROCESSLIST "
                        "WHERE ID <> CONNECTION_ID() AND INFO LIKE %s",
                        [f"%{_marker(int(holding_id))}%"],
                    )
                    found = next(
                        (Holder.parse(row[0]) for row in cursor.fetchall() if row[0]), None
                    )
                if found is not None or time.monotonic() > deadline:
                    return found
                time.sleep(0.1)

    def release(self) -> None:
        if os.getpid() != self.owner:
            return
        _held_fds.difference_update(self.fds)
        try:
            with self.holding.cursor() as cursor:
                cursor.execute("SELECT RELEASE_LOCK(%s)", [self.lock])
                # Not KILL QUERY: the statement may not have started yet, and would
                # then sleep on. Its result is never read.
                cursor.execute(f"KILL CONNECTION {self.showing_id}")
        finally:
            self.holding.close()
            with contextlib.suppress(Exception):
                self.showing.close()


def _marker(connection_id: int) -> str:
    """What the showing connection's statement says before the holder (LIKE-safe)."""
    return f"django-testkit lock held by connection {connection_id}: "
