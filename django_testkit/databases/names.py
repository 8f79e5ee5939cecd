"""Decide whether two database names point at the same database, whatever their spelling.

SQLite names are compared by the file SQLite would open: Django connects with
``uri=True``, so ``file:`` URIs are followed; plain paths are relative to the
working directory; symbolic links are resolved and, when both files exist, hard
links are recognised by device and inode. A name that starts with ``~`` is
compared both as SQLite opens it (literally) and as a shell would expand it, so
that a doubtful spelling is refused rather than trusted. Server names are
compared on the same server (local host spellings and default ports agree) by
the server's own rule: exactly on PostgreSQL, ignoring case on MySQL/MariaDB
when the server says its names are case-insensitive.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import unquote

Settings = Mapping[str, Any]

#: Host spellings that all reach a server on this machine (empty: the local socket).
_LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1", "0.0.0.0", "localhost.localdomain"}
_DEFAULT_PORTS = {"postgresql": "5432", "mysql": "3306"}


def sqlite_path(name: object) -> str | None:
    """The file path SQLite opens for ``name``; None for an in-memory database.

    ``file:`` URIs lose their query and fragment and are percent-decoded; an
    authority must be empty or ``localhost``, as SQLite requires.
    """
    text = os.fspath(name) if isinstance(name, os.PathLike) else str(name)
    if not text or text == ":memory:":
        return None
    if not text.startswith("file:"):
        return text
    rest = text[len("file:") :]
    rest, _, query = rest.partition("?")
    rest = rest.partition("#")[0]
    if "mode=memory" in query or rest == ":memory:":
        return None
    if rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        if authority.lower() not in ("", "localhost"):
            return None  # SQLite refuses such a URI: nothing is opened
        rest = slash + path
    return unquote(rest) or None


def _spellings(path: str) -> set[str]:
    """Absolute, link-free forms of ``path``: as SQLite opens it, and ``~``-expanded."""
    forms = {path}
    if path.startswith("~"):
        forms.add(os.path.expanduser(path))
    return {os.path.realpath(os.path.abspath(form)) for form in forms}


def _inode(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def same_sqlite_file(first: object, second: object) -> bool:
    """Whether SQLite would open the same file for both names (never for in-memory ones)."""
    left, right = sqlite_path(first), sqlite_path(second)
    if left is None or right is None:
        return False
    left_forms, right_forms = _spellings(left), _spellings(right)
    if left_forms & right_forms:
        return True
    left_nodes = {_inode(path) for path in left_forms} - {None}
    right_nodes = {_inode(path) for path in right_forms} - {None}
    return bool(left_nodes & right_nodes)


@cache
def _own_names() -> frozenset[str]:
    names = {socket.gethostname().lower(), socket.getfqdn().lower()}
    return frozenset(name for name in names if name)


def server_address(vendor: str, settings: Settings) -> tuple[str, str, str]:
    """(vendor, host, port) with local spellings and default ports made one.

    ``vendor`` is Django's ``connection.vendor`` for the alias ``settings`` configure.
    """
    host = str(settings.get("HOST") or "").strip().lower()
    if host in _LOCAL_HOSTS or host.startswith("/") or host in _own_names():
        host = "local"
    port = str(settings.get("PORT") or "").strip() or _DEFAULT_PORTS.get(vendor, "")
    return vendor, host, port


def differs_only_in_case(first: str, second: str) -> bool:
    return first != second and first.lower() == second.lower()


def server_ignores_name_case(connection: Any) -> bool:
    """Whether a MySQL/MariaDB server compares database names ignoring case.

    Asked of the server itself (``lower_case_table_names``: 0 compares exactly,
    1 and 2 ignore case), on a connection to no database, so that no real
    database is opened; when the server cannot say, assume it ignores case.
    """
    scratch = type(connection)({**connection.settings_dict, "NAME": ""}, connection.alias)
    try:
        with scratch.cursor() as cursor:
            cursor.execute("SELECT @@lower_case_table_names")
            row = cursor.fetchone()
        return bool(row and int(row[0]) != 0)
    except Exception:
        return True
    finally:
        scratch.close()
