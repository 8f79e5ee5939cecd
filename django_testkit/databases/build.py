"""Build one alias's test database and its worker clones: create, reuse or rebuild.

Each build is a job for :mod:`django_testkit.databases.jobs`: it may run in this
process or in a forked child, and it reports what it did through ``emit`` so
that the parent always knows which databases exist and must be cleaned up:

``("timing", label, seconds)``
    for ``--timing``, with Django's labels.
``("created", alias, name, kept, old_name)``
    the test database now exists under ``name`` (sent even when migrating it
    failed afterwards, so that a failed setup still destroys it).
``("clone", alias, suffix, kept)``
    a worker clone is about to be made (or reused, when ``kept``).

With ``--reuse-db`` a kept database or clone is reused only when its state
row (see :mod:`django_testkit.databases.state`) has the current fingerprint, names
that very database and says the last run using it finished; it is marked
dirty before use. A rebuilt database, or a clone copied afresh, gets its own
row once it is complete: the row is the last thing written to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, cast

from django.conf import settings
from django.db import connections

from django_testkit._compat import create_test_db_without_serializing
from django_testkit.databases.jobs import Cloned, Created, Emit, Timing
from django_testkit.databases.state import (
    STATE_TABLE,
    StoredState,
    identity,
    is_server,
    mark_clean,
    mark_dirty,
    read_state,
    refusal,
    scratch_connection,
    write_state,
)
from django_testkit.records import record

__all__ = [
    "STATE_TABLE",
    "BuildOptions",
    "build",
    "destroy_clones",
    "is_server",
    "mark_clean",
    "read_state",
    "scratch_connection",
    "use_database",
]


@record
class BuildOptions:
    """How to build one alias's test database, and what its existing one says."""

    verbosity: int
    interactive: bool
    keepdb: bool
    #: The schema fingerprint to reuse by, or "" when ``--reuse-db`` is off.
    fingerprint: str
    clones: int
    #: The state row found in the existing test database (None: none found).
    stored: StoredState | None = None
    start_method: str = "fork"
    #: The alias and test database name the state was read for (None: in-memory SQLite).
    alias: str = ""
    test_name: str | None = None
    #: The user agreed, when asked before building, to replace an existing database.
    confirmed: bool = False
    #: ``--create-db``: build database and clones afresh even where they would be kept.
    recreate: bool = False

    def refusal(self) -> str | None:
        """Why the existing test database is not reused as it is; None when it is."""
        if self.recreate:
            return "--create-db asks for a new one"
        if not self.fingerprint or not self.test_name:
            return "--reuse-db is off, or the database is in memory"
        return refusal(self.stored, self.fingerprint, identity(self.alias, self.test_name))

    @property
    def reusable(self) -> bool:
        """The existing test database is reused as it is (``--reuse-db``, state valid)."""
        return self.refusal() is None


@contextmanager
def _timed(emit: Emit, label: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        emit(Timing(label, time.perf_counter() - start))


def build(alias: str, test_name: str | None, options: BuildOptions, emit: Emit) -> None:
    """Make ``alias``'s test database (named ``test_name``; None: in-memory) and clones.

    With ``--reuse-db`` an existing database whose state row is valid is
    reused (marked dirty first); otherwise it is rebuilt, with one line saying
    why when one existed, and gets its state row once migrated. A database
    only ``--keepdb`` keeps is marked dirty before use, so that no later
    ``--reuse-db`` run trusts it.
    """
    connection = connections[alias]
    creation = connection.creation
    stored = options.stored
    old_name = connection.settings_dict["NAME"]
    if options.reusable:
        _use_existing(alias, test_name, options.verbosity)
        emit(Created(alias, test_name, True, old_name))
        mark_dirty(alias, test_name)
        _clones(alias, options, emit, primary_rebuilt=False)
        return
    if options.fingerprint and stored is not None and not options.recreate:
        creation.log(
            f"Rebuilding test database for alias '{alias}' ('{test_name}'): {options.refusal()}."
        )
    if options.keepdb and not options.fingerprint:
        mark_dirty(alias, test_name)
    keep = options.keepdb or bool(options.fingerprint)
    try:
        with _timed(emit, f"  Creating '{alias}'"):
            creation.create_test_db(
                verbosity=options.verbosity,
                # A stale database of ours is replaced without asking; any other was
                # asked about before building (see :mod:`.setup`).
                autoclobber=not options.interactive
                or stored is not None
                or options.confirmed
                or options.recreate,
                **create_test_db_without_serializing(creation),
                keepdb=options.keepdb and not options.fingerprint and not options.recreate,
            )
    finally:
        name = connection.settings_dict["NAME"]
        if name != old_name:
            emit(Created(alias, name, keep, old_name))
    if options.fingerprint and test_name:
        # The last write: a build that stops before it leaves no state row.
        write_state(alias, test_name, options.fingerprint)
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


def _clone_refusal(alias: str, name: str, options: BuildOptions, primary_rebuilt: bool) -> str:
    """Why clone ``name`` is copied afresh ("" when it is reused as it is)."""
    if options.recreate:
        return "--create-db"
    if not options.fingerprint:
        return "--reuse-db is off"
    if primary_rebuilt:
        return "its primary was rebuilt"
    return refusal(read_state(alias, name), options.fingerprint, identity(alias, name)) or ""


def _clones(alias: str, options: BuildOptions, emit: Emit, *, primary_rebuilt: bool) -> None:
    suffixes = [str(index) for index in range(1, options.clones + 1)]
    server = is_server(alias)
    connection = connections[alias]
    in_memory = not server and cast(Any, connection.creation).is_in_memory_db(
        connection.settings_dict["NAME"]
    )
    if in_memory and options.start_method != "fork":
        # Workers load a snapshot of it instead (see :mod:`.workers`).
        return

    def clone(suffix: str) -> None:
        connection = connections[alias]
        try:
            name = connection.creation.get_test_db_clone_settings(suffix)["NAME"]
            why = _clone_refusal(alias, name, options, primary_rebuilt)
            kept = not why
            if why.startswith(("it holds", "the last run")) and options.verbosity >= 1:
                connection.creation.log(f"Copying clone {suffix} of '{alias}' afresh: {why}.")
            emit(Cloned(alias, suffix, kept or options.keepdb or bool(options.fingerprint)))
            with _timed(emit, f"  Cloning '{alias}'"):
                connection.creation.clone_test_db(
                    suffix=suffix, verbosity=options.verbosity, keepdb=kept
                )
            if kept:
                mark_dirty(alias, name)
            elif options.fingerprint:
                # The copy carries the primary's row, which names the primary: only
                # now, with every table copied, does the clone get a row of its own.
                write_state(alias, name, options.fingerprint)
        finally:
            # SQLite's in-memory clone under spawn reads from the open connection.
            if server:
                connection.close()

    if suffixes:
        _each_clone(alias, suffixes, clone)


def destroy_clones(
    alias: str, suffixes: list[str], verbosity: int, keep: bool, clean: bool = False
) -> None:
    """Destroy (or, when ``keep``, just announce keeping) ``alias``'s worker clones.

    Kept clones are marked clean first when ``clean`` (the run's tests all ended).
    """

    def destroy(suffix: str) -> None:
        connection = connections[alias]
        try:
            if keep and clean:
                mark_clean(alias, connection.creation.get_test_db_clone_settings(suffix)["NAME"])
            connection.creation.destroy_test_db(suffix=suffix, verbosity=verbosity, keepdb=keep)
        except Exception as exc:
            connection.creation.log(f"Could not destroy clone {suffix} of '{alias}': {exc}")
        finally:
            connection.close()

    if suffixes:
        _each_clone(alias, suffixes, destroy)


#: A killed worker's session can take a moment to leave the server.
RECOPY_ATTEMPTS = 10


def recopy_clone(alias: str, suffix: str) -> None:
    """Copy ``alias``'s test database into worker clone ``suffix`` again, replacing it.

    For the worker that takes over from one that died: whatever the dead worker
    committed (a ``TransactionTestCase`` flushes only when it ends) is gone.
    In-memory SQLite needs nothing: a new worker gets a fresh copy anyway.
    """
    connection = connections[alias]
    if not is_server(alias) and cast(Any, connection.creation).is_in_memory_db(
        connection.settings_dict["NAME"]
    ):
        return
    for attempt in range(RECOPY_ATTEMPTS):
        # PostgreSQL copies from the test database as a template: no one may be connected.
        connection.close()
        try:
            # Django's MySQL backend ends the process (sys.exit) when it cannot drop.
            connection.creation.clone_test_db(suffix=suffix, verbosity=0, keepdb=False)
            _adopt_copied_state(alias, suffix)
            return
        except (Exception, SystemExit):
            if attempt == RECOPY_ATTEMPTS - 1:
                raise
            time.sleep(0.5)
        finally:
            connection.close()


def _adopt_copied_state(alias: str, suffix: str) -> None:
    """Give a clone copied mid-run a state row of its own (dirty), for ``--reuse-db``.

    The copy carries its primary's row, which names the primary; the clone now
    is a whole copy of a database built for that fingerprint.
    """
    name = connections[alias].creation.get_test_db_clone_settings(suffix)["NAME"]
    copied = read_state(alias, name)
    if copied is not None and copied.fingerprint:
        write_state(alias, name, copied.fingerprint)
