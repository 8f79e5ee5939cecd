"""The state row of a kept test database: its fingerprint, whose copy it is, clean or not.

``--reuse-db`` trusts a kept test database (or worker clone) only when its
state row says three things: the schema fingerprint it was built for, that
the row was written for this very database (a clone copied from its primary
carries the primary's row until the copy has finished and its own row is
written), and that the last run using it ended with its tests finished
(``clean``). A run marks each kept database dirty before any test uses it,
and the teardown of a run whose tests all ended marks it clean again; a
killed or interrupted run leaves it dirty, and the next run rebuilds it.
The row is always the last thing a build writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import DatabaseError, connections
from django.db.backends.base.base import NO_DB_ALIAS

from django_testkit.records import record

#: The table that holds a kept test database's state row.
STATE_TABLE = "django_testkit_state"


@record
class StoredState:
    """What a kept test database's state row says."""

    fingerprint: str
    #: The database the row was written for (see :func:`identity`).
    database: str
    #: The last run that used it ended with its tests finished.
    clean: bool


def is_server(alias: str) -> bool:
    """Whether ``alias`` is on a database server (not SQLite)."""
    return bool(connections[alias].vendor != "sqlite")


def scratch_connection(alias: str, name: str) -> Any:
    """A separate connection to database ``name`` with ``alias``'s other settings.

    Made under Django's alias for connections of its own, not ``alias``: a
    ``SimpleTestCase`` that is running refuses new connections to its aliases.
    """
    connection = connections[alias]
    return type(connection)({**connection.settings_dict, "NAME": name}, NO_DB_ALIAS)


def identity(alias: str, name: str) -> str:
    """How a state row names database ``name``: its server name, or a SQLite file's name.

    A file's name, not its path, so that a project moved elsewhere keeps its
    databases; a clone's file name differs from its primary's all the same.
    """
    return str(name) if is_server(alias) else Path(name).name


def refusal(stored: StoredState | None, fingerprint: str, database: str) -> str | None:
    """Why a database whose state row says ``stored`` must not be reused for
    ``fingerprint``; None: reuse it. ``database`` is its :func:`identity`."""
    if stored is None:
        return "it has no state row"
    if stored.fingerprint != fingerprint:
        return "its schema fingerprint does not match (migrations, models or settings changed)"
    if stored.database != database:
        return f"it holds the state of '{stored.database}' (a copy that never finished)"
    if not stored.clean:
        return (
            "the last run using it did not finish (killed or interrupted), so it may hold "
            "rows its tests left"
        )
    return None


def _exists(alias: str, name: str | None) -> bool:
    # Connecting to a missing SQLite file would create it.
    return bool(name) and (is_server(alias) or Path(str(name)).exists())


def read_state(alias: str, name: str | None) -> StoredState | None:
    """The state row of database ``name``; None if it or the state table is missing.

    A state table in another shape (an older version's) or without exactly one
    row reads as a state that matches no fingerprint: the database is ours, and
    is rebuilt without asking.
    """
    if not name or not _exists(alias, name):
        return None
    scratch = scratch_connection(alias, name)
    table = scratch.ops.quote_name(STATE_TABLE)
    try:
        with scratch.cursor() as cursor:
            try:
                cursor.execute(f"SELECT fingerprint, database_name, clean FROM {table}")
                rows = cursor.fetchall()
            except DatabaseError:
                # An older version's table, or none: ours (to rebuild unasked) only if any.
                cursor.execute(f"SELECT COUNT(*) FROM {table}")
                rows = []
        if len(rows) != 1:
            return StoredState("", "", False)
        fingerprint, database, clean = rows[0]
        return StoredState(str(fingerprint), str(database), bool(clean))
    except DatabaseError:
        return None
    finally:
        scratch.close()


def write_state(alias: str, name: str, fingerprint: str) -> None:
    """Give database ``name`` its own state row for ``fingerprint``, marked dirty.

    Called once the database (or clone) is complete, so that nothing is
    written after the row; it is marked clean by :func:`mark_clean` at the end
    of a run whose tests all ended.
    """
    scratch = scratch_connection(alias, name)
    table = scratch.ops.quote_name(STATE_TABLE)
    try:
        with scratch.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(
                f"CREATE TABLE {table} (fingerprint VARCHAR(64) NOT NULL, "
                "database_name VARCHAR(255) NOT NULL, clean INTEGER NOT NULL)"
            )
            cursor.execute(
                f"INSERT INTO {table} (fingerprint, database_name, clean) VALUES (%s, %s, 0)",
                [fingerprint, identity(alias, name)],
            )
    finally:
        scratch.close()


def _set_clean(alias: str, name: str | None, clean: bool) -> bool:
    if not name or not _exists(alias, name):
        return False
    scratch = scratch_connection(alias, name)
    try:
        with scratch.cursor() as cursor:
            cursor.execute(
                f"UPDATE {scratch.ops.quote_name(STATE_TABLE)} SET clean = %s "
                "WHERE database_name = %s",
                [1 if clean else 0, identity(alias, name)],
            )
            return bool(cursor.rowcount)
    except DatabaseError:
        # No state table (a database only --keepdb kept): nothing to mark.
        return False
    finally:
        scratch.close()


def mark_dirty(alias: str, name: str | None) -> bool:
    """Mark database ``name`` in use before tests touch it; False if it has no state row."""
    return _set_clean(alias, name, False)


def mark_clean(alias: str, name: str | None) -> bool:
    """Mark database ``name`` clean after a run whose tests all ended (each
    ``TransactionTestCase`` flushed after itself); False if it has no state row of its own."""
    return _set_clean(alias, name, True)
