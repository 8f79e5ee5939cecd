"""Build one alias's test database and its worker clones: create, reuse or rebuild.

Each build is a job for :mod:`django_testkit.forkjobs`: it may run in this
process or in a forked child, and it reports what it did through ``emit`` so
that the parent always knows which databases exist and must be cleaned up:

``("timing", label, seconds)``
    for ``--timing``, with Django's labels.
``("created", alias, name, kept, old_name)``
    the test database now exists under ``name`` (sent even when migrating it
    failed afterwards, so that a failed setup still destroys it).
``("clone", alias, suffix, kept)``
    a worker clone is about to be made (or reused, when ``kept``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.db import DatabaseError, connections

from django_testkit.forkjobs import Emit

#: The table that holds a kept test database's schema fingerprint.
STATE_TABLE = "django_testkit_state"


@dataclass(frozen=True)
class BuildOptions:
    verbosity: int
    interactive: bool
    keepdb: bool
    #: The schema fingerprint to reuse by, or "" when ``--reuse-db`` is off.
    fingerprint: str
    clones: int
    #: The fingerprint found in the existing test database (None: none found).
    stored: str | None = None
    start_method: str = "fork"


@contextmanager
def _timed(emit: Emit, label: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        emit(("timing", label, time.perf_counter() - start))


def is_server(alias: str) -> bool:
    return bool(connections[alias].vendor != "sqlite")


def build(alias: str, test_name: str | None, options: BuildOptions, emit: Emit) -> None:
    """Make ``alias``'s test database (named ``test_name``; None: in-memory) and clones."""
    connection = connections[alias]
    creation = connection.creation
    stored = options.stored
    old_name = connection.settings_dict["NAME"]
    if options.fingerprint and stored == options.fingerprint:
        _use_existing(alias, test_name, options.verbosity)
        emit(("created", alias, test_name, True, old_name))
        _clones(alias, options, emit, primary_rebuilt=False)
        return
    if options.fingerprint and stored is not None:
        creation.log(
            f"Rebuilding test database for alias '{alias}' ('{test_name}'): its schema "
            "fingerprint does not match (migrations, models or settings changed)."
        )
    keep = options.keepdb or bool(options.fingerprint)
    try:
        with _timed(emit, f"  Creating '{alias}'"):
            creation.create_test_db(
                verbosity=options.verbosity,
                # A stale database of ours is replaced without asking.
                autoclobber=not options.interactive or stored is not None,
                serialize=False,
                keepdb=options.keepdb and not options.fingerprint,
            )
    finally:
        name = connection.settings_dict["NAME"]
        if name != old_name:
            emit(("created", alias, name, keep, old_name))
    if options.fingerprint and test_name:
        _write_fingerprint(alias, options.fingerprint)
    _clones(alias, options, emit, primary_rebuilt=True)


def _use_existing(alias: str, test_name: str | None, verbosity: int) -> None:
    connection = connections[alias]
    if verbosity >= 1:
        connection.creation.log(
            f"Using existing test database for alias '{alias}' (schema unchanged)..."
        )
    use_database(alias, test_name)


def use_database(alias: str, name: Any) -> None:
    """Make ``alias`` connect to database ``name`` from now on, in this process."""
    connection = connections[alias]
    connection.close()
    settings.DATABASES[alias]["NAME"] = name
    connection.settings_dict["NAME"] = name


def _each_clone(alias: str, suffixes: list[str], action: Callable[[str], None]) -> None:
    """Call ``action`` for each clone suffix: at the same time on servers, where each
    thread has its own connection; one after the other on SQLite, where copying a file
    or an in-memory database is fastest that way."""
    if not is_server(alias):
        for suffix in suffixes:
            action(suffix)
        return
    # PostgreSQL copies from the primary as a template: nobody may be connected to it.
    connections[alias].close()
    with ThreadPoolExecutor(max_workers=max(len(suffixes), 1)) as pool:
        for future in [pool.submit(action, suffix) for suffix in suffixes]:
            future.result()


def _clones(alias: str, options: BuildOptions, emit: Emit, *, primary_rebuilt: bool) -> None:
    suffixes = [str(index) for index in range(1, options.clones + 1)]
    server = is_server(alias)
    connection = connections[alias]
    in_memory = not server and cast(Any, connection.creation).is_in_memory_db(
        connection.settings_dict["NAME"]
    )
    if in_memory and options.start_method != "fork":
        # Workers load a snapshot of it instead (see workerdb).
        return

    def clone(suffix: str) -> None:
        connection = connections[alias]
        try:
            name = connection.creation.get_test_db_clone_settings(suffix)["NAME"]
            kept = (
                not primary_rebuilt
                and bool(options.fingerprint)
                and read_fingerprint(alias, name) == options.fingerprint
            )
            emit(("clone", alias, suffix, kept or options.keepdb or bool(options.fingerprint)))
            with _timed(emit, f"  Cloning '{alias}'"):
                connection.creation.clone_test_db(
                    suffix=suffix, verbosity=options.verbosity, keepdb=kept
                )
        finally:
            # SQLite's in-memory clone under spawn reads from the open connection.
            if server:
                connection.close()

    if suffixes:
        _each_clone(alias, suffixes, clone)


def scratch_connection(alias: str, name: str) -> Any:
    """A separate connection to database ``name`` with ``alias``'s other settings."""
    connection = connections[alias]
    return type(connection)({**connection.settings_dict, "NAME": name}, alias)


def read_fingerprint(alias: str, name: str | None) -> str | None:
    """The fingerprint stored in database ``name``; None if it or the table is missing."""
    if not name:
        return None
    if not is_server(alias) and not Path(name).exists():
        return None
    scratch = scratch_connection(alias, name)
    try:
        with scratch.cursor() as cursor:
            cursor.execute(f"SELECT value FROM {scratch.ops.quote_name(STATE_TABLE)}")
            row = cursor.fetchone()
        return str(row[0]) if row else None
    except DatabaseError:
        return None
    finally:
        scratch.close()


def _write_fingerprint(alias: str, fingerprint: str) -> None:
    connection = connections[alias]
    table = connection.ops.quote_name(STATE_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TABLE {table} (value VARCHAR(64) NOT NULL)")
        cursor.execute(f"INSERT INTO {table} (value) VALUES (%s)", [fingerprint])


def destroy_clones(alias: str, suffixes: list[str], verbosity: int, keep: bool) -> None:
    """Destroy (or, when ``keep``, just announce keeping) ``alias``'s worker clones."""

    def destroy(suffix: str) -> None:
        connection = connections[alias]
        try:
            connection.creation.destroy_test_db(suffix=suffix, verbosity=verbosity, keepdb=keep)
        except Exception as exc:
            connection.creation.log(f"Could not destroy clone {suffix} of '{alias}': {exc}")
        finally:
            connection.close()

    if suffixes:
        _each_clone(alias, suffixes, destroy)
