"""Worker clones that earlier runs left of a test database this run destroys.

A ``--keepdb`` or ``--reuse-db`` run with four workers keeps ``test_x_1`` to
``test_x_4``; a later run that destroys ``test_x`` (no keep option, or two
workers) would leave some of them behind for ever. This run destroys them with
their primary: every database (or SQLite file) named as a clone of it, by the
backend's own clone naming, that this run does not use itself and that no other
run holds (a run whose ``--db-suffix`` makes its own test database look like a
clone keeps its lock, and its database).
"""

from __future__ import annotations

import glob
import os
import re
from typing import Any

from django.db import connections

from django_testkit.databases.holders import DatabaseInUseError
from django_testkit.databases.locks import lock_test_databases
from django_testkit.databases.state import is_server, scratch_connection

#: Stands for the clone number in a clone name, to learn the backend's naming.
_MARK = "7357clonemark"


def _marked_clone_name(alias: str) -> str | None:
    """A clone's name with the number marked (None: in-memory SQLite, no files)."""
    creation: Any = connections[alias].creation
    if not is_server(alias) and creation.is_in_memory_db(connections[alias].settings_dict["NAME"]):
        return None
    return str(creation.get_test_db_clone_settings(_MARK)["NAME"])


def clone_pattern(marked: str) -> re.Pattern[str]:
    """What the names of clones look like, given one with the number marked."""
    before, after = marked.split(_MARK, 1)
    return re.compile(re.escape(before) + r"([1-9][0-9]*)" + re.escape(after))


def _names_on_server(alias: str) -> list[str]:
    vendor = connections[alias].vendor
    if vendor == "postgresql":
        query, database = "SELECT datname FROM pg_database", "postgres"
    elif vendor == "mysql":
        query, database = "SHOW DATABASES", ""
    else:
        return []
    scratch = scratch_connection(alias, database)
    try:
        with scratch.cursor() as cursor:
            cursor.execute(query)
            return [str(row[0]) for row in cursor.fetchall()]
    finally:
        scratch.close()


def _names_on_disk(marked: str) -> list[str]:
    """The files beside a SQLite clone, spelled as its name is (relative or not)."""
    folder = os.path.dirname(marked)
    return glob.glob(os.path.join(glob.escape(folder), "*") if folder else "*")


def left_clones(alias: str, in_use: list[str]) -> dict[str, str]:
    """``alias``'s clones that exist besides ``in_use`` (suffixes): suffix -> name."""
    marked = _marked_clone_name(alias)
    if marked is None:
        return {}
    pattern = clone_pattern(marked)
    names = _names_on_server(alias) if is_server(alias) else _names_on_disk(marked)
    found = {}
    for name in names:
        match = pattern.fullmatch(name)
        if match and match[1] not in in_use:
            found[match[1]] = name
    return dict(sorted(found.items(), key=lambda item: int(item[0])))


def destroy_left_clones(alias: str, in_use: list[str], verbosity: int) -> list[str]:
    """Destroy the clones of ``alias``'s test database that earlier runs left; their names."""
    destroyed = []
    creation: Any = connections[alias].creation
    for suffix, name in left_clones(alias, in_use).items():
        try:
            lock = lock_test_databases([(alias, name)])
        except DatabaseInUseError:
            continue  # another run's own test database, named like a clone
        try:
            creation.destroy_test_db(suffix=suffix, verbosity=0, keepdb=False)
            destroyed.append(name)
        except Exception as exc:
            creation.log(f"Could not destroy '{name}', left by an earlier run: {exc}")
        finally:
            connections[alias].close()
            lock.release()
    if destroyed and verbosity >= 1:
        creation.log(
            f"Destroyed {len(destroyed)} worker clone{'s' if len(destroyed) > 1 else ''} of "
            f"alias '{alias}' that an earlier run left: {', '.join(destroyed)}."
        )
    return destroyed
