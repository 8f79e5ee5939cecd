"""Each worker's own test databases: its clone slot, its mirrors, its SQLite memory.

The parent describes the run's test databases once (:func:`describe`), after
setup; a worker started with any start method applies that description to
its connections for its clone slot (:func:`connect`):

- an alias with its own test database uses clone ``slot`` of it, made by
  setup (``test_x_2`` on servers, ``x_2.sqlite3`` for SQLite files);
- an in-memory SQLite database is copied by ``fork``; under ``spawn`` and
  ``forkserver`` the worker loads a snapshot the parent wrote into a private
  in-memory database (Django supports neither everywhere);
- a mirror, or an alias sharing another's test database, points at the
  worker's database of its primary, so reads see the worker's writes;
- test classes whose ``databases`` the parent extended with mirrors'
  primaries (see :func:`django_testkit.databases.mirrors.include_mirror_primaries`)
  are imported and extended again in a fresh process.
"""

from __future__ import annotations

import copy
import sqlite3
from pathlib import Path
from typing import Any, cast

from django.db import connections

from django_testkit import _compat
from django_testkit.databases import mirrors
from django_testkit.records import field, record

#: In-memory SQLite databases a worker loaded; kept open so they live as long as it does.
_memory_keepers: list[sqlite3.Connection] = []


@record
class WorkerDatabases:
    """What a worker needs to use its own copies of the run's test databases."""

    #: ``settings_dict`` of every alias the tests use, as setup left it.
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Aliases with a test database of their own (cloned per worker).
    owners: tuple[str, ...] = ()
    #: Alias -> the owner whose database it uses (mirrors and shared test databases).
    pointed: dict[str, str] = field(default_factory=dict)
    #: Serialized contents for ``serialized_rollback``, by alias.
    serialized: dict[str, str] = field(default_factory=dict)
    #: In-memory SQLite alias -> file holding a copy of its test database.
    snapshots: dict[str, str] = field(default_factory=dict)
    debug_sql: bool = False
    #: Test classes (module, qualname) whose ``databases`` gained mirrors' primaries.
    extended: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)


def is_memory_sqlite(alias: str) -> bool:
    connection = connections[alias]
    return connection.vendor == "sqlite" and bool(
        cast(Any, connection.creation).is_in_memory_db(connection.settings_dict["NAME"])
    )


def describe(
    owners: list[str],
    pointed: dict[str, str],
    start_method: str,
    snapshot_dir: Path,
    debug_sql: bool,
) -> WorkerDatabases:
    """Describe the set-up test databases; under spawn/forkserver, snapshot SQLite memory."""
    used = [*owners, *pointed]
    snapshots = {}
    if start_method != "fork":
        for alias in owners:
            if is_memory_sqlite(alias):
                path = snapshot_dir / f"{alias}.sqlite3"
                connection = connections[alias]
                connection.ensure_connection()
                target = sqlite3.connect(path)
                try:
                    connection.connection.backup(target)
                finally:
                    target.close()
                snapshots[alias] = str(path)
    serialized = {}
    for alias in owners:
        contents = _compat.serialized_contents(connections[alias])
        if contents is not None:
            serialized[alias] = contents
    return WorkerDatabases(
        settings={alias: copy.deepcopy(connections[alias].settings_dict) for alias in used},
        owners=tuple(owners),
        pointed=dict(pointed),
        serialized=serialized,
        snapshots=snapshots,
        debug_sql=debug_sql,
        extended=mirrors.extensions(),
    )


def _load_snapshot(alias: str, slot: int, path: str) -> str:
    name = f"file:testkit_{alias}_{slot}?mode=memory&cache=shared"
    keeper = sqlite3.connect(name, uri=True)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        source.backup(keeper)
    finally:
        source.close()
    _memory_keepers.append(keeper)
    return name


def connect(databases: WorkerDatabases, slot: int, *, fresh_process: bool) -> None:
    """Point this worker's connections at clone ``slot`` of every test database.

    ``fresh_process`` (spawn, forkserver) means nothing was inherited: settings,
    serialized contents and debug cursors are restored from the description.
    """
    for alias, settings_dict in databases.settings.items():
        connection = connections[alias]
        if fresh_process:
            connection.settings_dict.update(copy.deepcopy(settings_dict))
        elif not is_memory_sqlite(alias):
            # Never talk over a connection the parent opened.
            connection.close()
    for alias in databases.owners:
        connection = connections[alias]
        if alias in databases.snapshots:
            connection.settings_dict["NAME"] = _load_snapshot(
                alias, slot, databases.snapshots[alias]
            )
        elif not is_memory_sqlite(alias):
            # A forked in-memory database is already this process's own copy.
            connection.settings_dict.update(
                connection.creation.get_test_db_clone_settings(str(slot))
            )
        connection.close()
    for alias, owner in databases.pointed.items():
        connections[alias].close()
        connections[alias].creation.set_as_test_mirror(connections[owner].settings_dict)
    if fresh_process:
        mirrors.repeat_extensions(databases.extended)
        for alias, contents in databases.serialized.items():
            _compat.keep_serialized_contents(connections[alias], contents)
        if databases.debug_sql:
            for alias in databases.settings:
                connections[alias].force_debug_cursor = True
