"""Run locks on database servers: PostgreSQL advisory locks, MySQL/MariaDB named locks.

See :mod:`django_testkit.databases.locks` for what a run lock is. Each lock lives on a
dedicated connection made from the alias's settings (never a pooled one) and
ends with it, so a killed run's lock vanishes with its process.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from typing import Any

from django.db import connections
from django.db.backends.base.base import NO_DB_ALIAS

from django_testkit.databases.holders import (
    HOLDER_WAIT_SECONDS,
    DatabaseInUseError,
    Holder,
    held_descriptors,
    in_use_message,
)

#: How long a MariaDB holder statement "sleeps" (a year); release kills its connection.
SLEEP_SECONDS = 31_536_000


def server_lock(alias: str, name: str, holder: Holder) -> Any:
    """Lock test database ``name`` on ``alias``'s server, or raise DatabaseInUseError."""
    if connections[alias].vendor == "postgresql":
        return _PostgresLock(alias, name, holder)
    return _MysqlLock(alias, name, holder)


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
    # Not under the alias: a SimpleTestCase running now refuses new connections to it.
    return type(connection)(settings, NO_DB_ALIAS)


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
        held_descriptors.add(self.fd)

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
        held_descriptors.discard(self.fd)
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
            held_descriptors.update(self.fds)
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
        held_descriptors.difference_update(self.fds)
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
