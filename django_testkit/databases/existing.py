"""Django's question before building over a test database that exists, asked in the parent."""

from __future__ import annotations

import os
import sys

from django_testkit.databases.build import BuildOptions, is_server, scratch_connection
from django_testkit.databases.names import sqlite_path
from django_testkit.records import replace


def ask_before_building(
    owners: list[str], builds: dict[str, BuildOptions], *, keepdb: bool
) -> dict[str, BuildOptions]:
    """Ask Django's question about each existing test database here, one at a time,
    before any builder starts: concurrent builders would ask at once, on one line.

    A "no" stops the run as Django does (``Tests cancelled.``), before anything is
    created or destroyed.
    """
    asked = dict(builds)
    for alias in owners:
        build = builds[alias]
        name = build.test_name
        if build.recreate:
            # --create-db asked for it on the command line: no question.
            asked[alias] = replace(build, confirmed=True)
            continue
        if keepdb and not build.fingerprint:
            continue  # --keepdb uses an existing database: nothing to ask
        if not name or build.stored is not None or not _exists(alias, name):
            continue
        answer = input(
            "Type 'yes' if you would like to try deleting the test database "
            f"'{name}', or 'no' to cancel: "
        )
        if not sys.stdin.isatty():
            print()  # the answer was not echoed: end the question's line
        if answer != "yes":
            print("Tests cancelled.")
            raise SystemExit(1)
        asked[alias] = replace(build, confirmed=True)
    return asked


def _exists(alias: str, name: str | None) -> bool:
    if not name:
        return False
    if not is_server(alias):
        path = sqlite_path(name)
        return path is not None and os.path.exists(path)
    scratch = scratch_connection(alias, name)
    try:
        scratch.ensure_connection()
        return True
    except Exception:
        return False
    finally:
        scratch.close()
