"""Carry out a :class:`~django_testkit.databases.plan.DatabasePlan`, and undo exactly what it did.

Setup builds every created alias (see :mod:`django_testkit.databases.build`), aliases
with no dependency path between them at the same time on database servers,
then points mirrors (and aliases that share a test database) at their
primary, then serializes for ``serialized_rollback``. Whatever fails or is
interrupted, the databases this run created are destroyed before the error
goes on, and teardown never touches a database the run did not create.
Before anything is created the run locks its test databases against other
runs (see :mod:`django_testkit.databases.locks`); teardown releases the locks.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

from django.db import connections

from django_testkit import _compat
from django_testkit.databases import jobs as joblib
from django_testkit.databases.build import (
    BuildOptions,
    build,
    destroy_clones,
    is_server,
    mark_clean,
    read_state,
    use_database,
)
from django_testkit.databases.existing import ask_before_building
from django_testkit.databases.locks import RunLocks, lock_test_databases
from django_testkit.databases.plan import DatabasePlan
from django_testkit.databases.stale import destroy_left_clones
from django_testkit.exceptions import TestkitError
from django_testkit.records import field, record

#: A dropped connection can take a moment to leave the server's session list.
DESTROY_ATTEMPTS = 10


class DatabaseSetupError(TestkitError):
    """Creating a test database failed; what was created has been destroyed."""


@record
class SetupOptions:
    verbosity: int = 1
    interactive: bool = False
    keepdb: bool = False
    reuse_db: bool = False
    #: ``--create-db``: rebuild kept databases and clones too.
    create_db: bool = False
    #: How many worker clones of each test database to make (0: none).
    clones: int = 0
    #: Aliases to serialize for ``serialized_rollback`` (None: all of them).
    serialized_aliases: frozenset[str] | None = None
    debug_sql: bool = False
    #: Databases built at once on servers (0: one per CPU).
    processes: int = 0
    #: How workers will start; in-memory SQLite is cloned by fork alone.
    start_method: str = "fork"


@record(frozen=False)
class _Created:
    alias: str
    old_name: Any
    test_name: Any
    kept: bool
    clones: list[str] = field(default_factory=list)
    clones_kept: bool = False


@record(frozen=False)
class TestDatabases:
    """What :func:`setup_test_databases` did, for :func:`teardown_test_databases`.

    Iterating it gives ``(connection, old_name, destroy)`` triples, the shape of
    Django's own ``setup_databases`` result, for code written against that.
    """

    __test__ = False

    created: list[_Created] = field(default_factory=list)
    #: Aliases pointed at another alias's test database, with their old NAME.
    pointed: dict[str, Any] = field(default_factory=dict)
    #: Pointed alias -> the alias whose test database it uses (what workers repeat).
    targets: dict[str, str] = field(default_factory=dict)
    #: Aliases whose TEST NAME was changed (``--db-suffix``), with the old value.
    renamed: dict[str, Any] = field(default_factory=dict)
    verbosity: int = 1
    #: Every test ended (set by the runner): teardown marks kept databases clean.
    tests_ended: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: This run's locks on its test databases, held until teardown (see :mod:`.locks`).
    locks: RunLocks = field(default_factory=RunLocks, repr=False)

    def __iter__(self) -> Iterator[tuple[Any, Any, bool]]:
        for item in self.created:
            yield connections[item.alias], item.old_name, True
        for alias, old_name in self.pointed.items():
            yield connections[alias], old_name, False

    def _find(self, alias: str) -> _Created | None:
        return next((item for item in self.created if item.alias == alias), None)

    def on_event(self, time_keeper: Any, job: str, event: joblib.JobEvent) -> None:
        """Record what a build job reports, in the parent (see :mod:`.build`)."""
        with self._lock:
            if isinstance(event, joblib.Timing):
                if hasattr(time_keeper, "records"):
                    time_keeper.records[event.label].append(event.seconds)
            elif isinstance(event, joblib.Created):
                if self._find(event.alias) is None:
                    self.created.append(
                        _Created(event.alias, event.old_name, event.name, event.kept)
                    )
                if connections[event.alias].settings_dict["NAME"] != event.name:
                    # Built in a child process: make this process use it too.
                    use_database(event.alias, event.name)
            elif isinstance(event, joblib.Cloned):
                item = self._find(event.alias)
                if item is not None and event.suffix not in item.clones:
                    item.clones.append(event.suffix)
                    item.clones_kept = event.kept


def _share_databases(plan: DatabasePlan) -> tuple[list[str], dict[str, str]]:
    """Split created aliases into owners and aliases that share an owner's database."""
    owners: dict[Any, str] = {}
    shared: dict[str, str] = {}
    for alias in plan.create:
        signature = connections[alias].creation.test_db_signature()
        if signature in owners:
            shared[alias] = owners[signature]
        else:
            owners[signature] = alias
    return list(owners.values()), shared


def setup_test_databases(
    plan: DatabasePlan, options: SetupOptions, time_keeper: Any = None
) -> TestDatabases:
    """Create, clone, mirror and serialize the plan's test databases."""
    record = TestDatabases(verbosity=options.verbosity)
    try:
        _apply_test_names(plan, record)
        owners, shared = _share_databases(plan)
        # Before anything is created: refuse if another run uses these databases.
        record.locks = lock_test_databases((alias, plan.test_names.get(alias)) for alias in owners)
        builds = {alias: _build_options(alias, plan, options) for alias in owners}
        if options.interactive:
            builds = ask_before_building(owners, builds, keepdb=options.keepdb)
        jobs = {
            alias: partial(build, alias, plan.test_names.get(alias), builds[alias])
            for alias in owners
        }
        requires = {
            alias: {shared.get(dep, dep) for dep in plan.requires.get(alias, ())}
            for alias in owners
        }
        on_event = partial(record.on_event, time_keeper)
        if _concurrently(owners, builds):
            connections.close_all()
            processes = options.processes or os.cpu_count() or 1
            joblib.run_forked(jobs, requires, processes, on_event)
        else:
            joblib.run_in_process(jobs, owners, on_event)
        for alias, primary in [*shared.items(), *plan.mirrors.items()]:
            record.pointed[alias] = connections[alias].settings_dict["NAME"]
            record.targets[alias] = primary
            connections[alias].close()
            connections[alias].creation.set_as_test_mirror(connections[primary].settings_dict)
        _serialize(owners, options.serialized_aliases)
        if options.debug_sql:
            for alias in connections:
                connections[alias].force_debug_cursor = True
    except joblib.JobFailed as failure:
        _clean_up(record)
        if failure.details:
            print(failure.details, file=sys.stderr)
        raise DatabaseSetupError(
            f"Setting up the test database for alias {failure.name!r} failed: "
            f"{failure.summary}; every test database this run created has been destroyed."
        ) from None
    except BaseException:
        _clean_up(record)
        raise
    return record


def _clean_up(record: TestDatabases) -> None:
    """Tear down after a failed setup without hiding the failure."""
    try:
        teardown_test_databases(record)
    except Exception as exc:
        print(f"While cleaning up after the failed setup: {exc}", file=sys.stderr)


def _apply_test_names(plan: DatabasePlan, record: TestDatabases) -> None:
    for alias, name in plan.test_names.items():
        test = connections[alias].settings_dict["TEST"]
        if name is not None and name != test.get("NAME"):
            record.renamed[alias] = test.get("NAME")
            test["NAME"] = name


def _build_options(alias: str, plan: DatabasePlan, options: SetupOptions) -> BuildOptions:
    test_name = plan.test_names.get(alias)
    fingerprint, stored = "", None
    if options.reuse_db and test_name:
        # Only --reuse-db needs the fingerprint (and the migration scan behind it).
        from django_testkit.databases.fingerprint import schema_fingerprint

        fingerprint = schema_fingerprint(alias, connections[alias].settings_dict)
        stored = read_state(alias, test_name)
    return BuildOptions(
        verbosity=options.verbosity,
        interactive=options.interactive,
        keepdb=options.keepdb,
        fingerprint=fingerprint,
        clones=options.clones,
        stored=stored,
        start_method=options.start_method,
        alias=alias,
        test_name=test_name,
        recreate=options.create_db,
    )


def _concurrently(owners: list[str], builds: dict[str, BuildOptions]) -> bool:
    """Fork builders only on servers, and only when there is migrating to do (Django's
    questions about existing databases were asked before, in this process)."""
    if len(owners) < 2 or not joblib.can_fork():
        return False
    if all(item.reusable for item in builds.values()):
        return False
    return all(is_server(alias) for alias in owners)


def _serialize(owners: list[str], serialized_aliases: frozenset[str] | None) -> None:
    """Serialize for ``serialized_rollback`` where Django would, once mirrors are set."""
    for alias in owners:
        connection = connections[alias]
        test = connection.settings_dict["TEST"]
        wanted = serialized_aliases is None or alias in serialized_aliases
        if test.get("SERIALIZE", wanted):
            contents = connection.creation.serialize_db_to_string()
            _compat.keep_serialized_contents(connection, contents)


def _destroy(item: _Created, verbosity: int) -> None:
    """Destroy one test database, retrying while killed workers' sessions linger."""
    connection = connections[item.alias]
    for attempt in range(DESTROY_ATTEMPTS):
        try:
            connection.creation.destroy_test_db(item.old_name, verbosity, keepdb=item.kept)
            return
        except Exception:
            connection.close()
            if attempt == DESTROY_ATTEMPTS - 1 or not is_server(item.alias):
                raise
            time.sleep(0.5)


def teardown_test_databases(record: TestDatabases) -> None:
    """Destroy what setup created (keeping what ``--keepdb``/``--reuse-db`` keep)."""
    for alias, old_name in record.pointed.items():
        connections[alias].close()
        # The settings dict, not connections[alias]: that may be lent to another alias.
        connections.settings[alias]["NAME"] = old_name
    record.pointed.clear()
    failures = []
    for item in reversed(record.created):
        # Destroy exactly the database this run recorded, whatever NAME says now.
        use_database(item.alias, item.test_name)
        try:
            clean = record.tests_ended
            destroy_clones(item.alias, item.clones, record.verbosity, item.clones_kept, clean)
            if not item.kept:
                # Before the database itself: clone names derive from its NAME.
                destroy_left_clones(item.alias, item.clones, record.verbosity)
            if item.kept and clean:
                mark_clean(item.alias, item.test_name)
            _destroy(item, record.verbosity)
        except Exception as exc:
            failures.append(f"{item.alias}: {exc}")
    record.created.clear()
    for alias, old_test_name in record.renamed.items():
        connections[alias].settings_dict["TEST"]["NAME"] = old_test_name
    record.renamed.clear()
    record.locks.release()
    if failures:
        raise DatabaseSetupError(
            "Could not destroy every test database: " + "; ".join(failures) + "."
        )
