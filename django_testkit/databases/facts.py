"""Ask Django's connections for the backend facts the pure planner stands on, then plan.

The planner never reads an ENGINE string: a GIS backend, a third-party one or a
subclass of a built-in one is whatever Django's backend says it is. Its vendor
is ``connection.vendor``; its test database name is the one Django's creation
class would use, and SQLite's creation class says whether that is in memory.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from django_testkit import _compat
from django_testkit.databases.names import server_ignores_name_case
from django_testkit.databases.plan import (
    BackendFacts,
    DatabasePlan,
    legacy_test_settings,
    plan_databases,
)

Log = Callable[..., None]


def backend_facts(connection: Any) -> BackendFacts:
    """The vendor and test database name of one Django connection (never connected)."""
    creation = connection.creation
    name = _compat.test_database_name(creation)
    # SQLite's creation class (and every subclass: SpatiaLite's) knows its memory names.
    in_memory = getattr(creation, "is_in_memory_db", None)
    if in_memory is not None and in_memory(name):
        return BackendFacts(vendor=connection.vendor, test_name=None)
    text = os.fspath(name) if isinstance(name, os.PathLike) else str(name)
    return BackendFacts(vendor=connection.vendor, test_name=text)


def all_backend_facts(connections: Any) -> dict[str, BackendFacts]:
    """:func:`backend_facts` for every alias of a ``ConnectionHandler``."""
    return {alias: backend_facts(connections[alias]) for alias in connections}


def plan_from_connections(
    connections: Any, needed: Iterable[str], suffix: str, clones: int, log: Log
) -> DatabasePlan:
    """Plan the test databases of ``needed`` from a ``ConnectionHandler``'s aliases.

    Legacy top-level ``TEST_*`` keys are merged into ``TEST`` first (Django reads
    only ``TEST``), with a warning; ``log(message, level=...)`` prints warnings
    and, at debug level, the aliases added for mirrors and dependencies.
    """
    databases = {alias: connections[alias].settings_dict for alias in connections}
    tests = {}
    for alias, db_settings in databases.items():
        tests[alias], deprecation = legacy_test_settings(alias, db_settings)
        if deprecation:
            log(deprecation, level=logging.WARNING)
            # Django reads only TEST; make the legacy values take effect there.
            db_settings["TEST"].update(tests[alias])
    # After the merge: a legacy TEST_NAME is a fact of Django's own by now.
    plan = plan_databases(
        databases,
        needed,
        all_backend_facts(connections),
        tests,
        suffix=suffix,
        clones=clones,
        names_ignore_case=lambda alias: server_ignores_name_case(connections[alias]),
    )
    for warning in plan.warnings:
        log(warning, level=logging.WARNING)
    if plan.added:
        log(
            "Also setting up database(s) that mirrors and dependencies need: "
            f"{', '.join(sorted(plan.added))}.",
            level=logging.DEBUG,
        )
    return plan
