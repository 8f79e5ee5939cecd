"""Mirrors in tests: they see their primary's writes, and are cleaned up like it.

Django ticket #23718: inside a ``TestCase`` every test runs in a transaction that is rolled back at
the end. A mirror alias has its own connection, outside that transaction, so
it cannot see what the test wrote through the primary, unlike a real replica
with no lag. While a ``TestCase`` test runs, each mirror alias is served by its
primary's connection object in this thread, so reads through the mirror run
in the test's transaction. ``TransactionTestCase`` commits for real, and keeps
separate connections.

A ``TransactionTestCase`` that uses a mirror without its primary writes into
the primary's test database through the mirror; :func:`include_mirror_primaries`
makes Django clean that up as it cleans up the primary.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from django.db import connections
from django.test import TestCase, TransactionTestCase

from django_testkit import _compat
from django_testkit.databases.plan import legacy_test_settings


class MirrorSharing:
    """Swap mirror connections for their primaries' around ``TestCase`` tests."""

    def __init__(self, mirrors: Mapping[str, str]) -> None:
        self.mirrors = dict(mirrors)
        self._saved: dict[str, Any] = {}

    def applies_to(self, test: object) -> bool:
        return bool(self.mirrors) and isinstance(test, TestCase)

    def start(self) -> None:
        if self._saved:
            return
        for mirror, primary in self.mirrors.items():
            self._saved[mirror] = connections[mirror]
            connections[mirror] = connections[primary]

    def stop(self) -> None:
        for mirror, original in self._saved.items():
            connections[mirror] = original
        self._saved.clear()


class MirrorSharingResult:
    """Mixed into the run's result class; ``mirror_sharing`` is set on the subclass."""

    mirror_sharing: MirrorSharing

    def startTest(self, test: Any) -> None:
        if self.mirror_sharing.applies_to(test):
            self.mirror_sharing.start()
        super().startTest(test)  # type: ignore[misc]

    def stopTest(self, test: Any) -> None:
        try:
            super().stopTest(test)  # type: ignore[misc]
        finally:
            self.mirror_sharing.stop()


def with_mirror_sharing(resultclass: type, sharing: MirrorSharing) -> type:
    """A subclass of ``resultclass`` that shares mirrors during ``TestCase`` tests."""
    return type(
        resultclass.__name__,
        (MirrorSharingResult, resultclass),
        {"mirror_sharing": sharing, "__module__": resultclass.__module__},
    )


#: Test classes whose ``databases`` this process extended: (module, qualname) -> added
#: aliases. Workers started fresh (spawn, forkserver) import the classes again and
#: repeat the extension from this record (see :mod:`django_testkit.databases.workers`).
_extended: dict[tuple[str, str], tuple[str, ...]] = {}


def mirror_primaries(databases: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Map every TEST ``MIRROR`` alias of ``databases`` to the end of its mirror chain.

    Legacy top-level ``TEST_MIRROR`` keys count too. A chain that names an
    unknown alias or loops is left out: planning the databases reports it.
    """
    tests = {
        alias: legacy_test_settings(alias, settings)[0] for alias, settings in databases.items()
    }
    primaries = {}
    for alias in tests:
        seen = [alias]
        current = alias
        while (target := tests[current].get("MIRROR")) and target in tests and target not in seen:
            seen.append(target)
            current = target
        if current != alias and not tests[current].get("MIRROR"):
            primaries[alias] = current
    return primaries


def _cleans_up_by_flushing(cls: type) -> bool:
    return issubclass(cls, TransactionTestCase) and not issubclass(cls, TestCase)


def _add_primaries(cls: type, primaries: Mapping[str, str]) -> tuple[str, ...]:
    """Add the primaries of the mirrors ``cls`` uses to its ``databases``; return them."""
    databases = getattr(cls, "databases", None)
    if not databases or databases == "__all__" or isinstance(databases, str):
        return ()
    added = tuple(
        sorted({primaries[alias] for alias in databases if alias in primaries} - set(databases))
    )
    if added:
        cls.databases = frozenset(databases) | frozenset(added)  # type: ignore[attr-defined]
    return added


def include_mirror_primaries(suite: Any) -> list[str]:
    """Let ``TransactionTestCase`` tests that use a mirror also use its primary.

    Django flushes (and resets sequences, restores ``serialized_rollback``
    data, loads ``fixtures``) only on the non-mirror aliases in a test's
    ``databases``, so rows a test wrote through a mirror alone stayed in the
    primary's test database. Adding the primary makes Django treat those rows
    exactly as if they were written through the primary, in this process and in
    forked workers; :func:`repeat_extensions` does it in fresh worker processes.
    ``TestCase`` tests roll back instead and are left alone. Returns the names
    of the classes changed.
    """
    primaries = mirror_primaries(
        {alias: connections[alias].settings_dict for alias in connections}
    )
    if not primaries:
        return []
    changed = []
    for test in _compat.iter_test_cases(suite):
        cls = type(test)
        if not _cleans_up_by_flushing(cls):
            continue
        added = _add_primaries(cls, primaries)
        if added:
            _extended[(cls.__module__, cls.__qualname__)] = added
            changed.append(f"{cls.__module__}.{cls.__qualname__}")
    return changed


def extensions() -> dict[tuple[str, str], tuple[str, ...]]:
    """The ``databases`` extensions made in this process, to repeat in workers."""
    return dict(_extended)


def repeat_extensions(record: Mapping[tuple[str, str], tuple[str, ...]]) -> None:
    """In a fresh worker, import each extended test class and add the same aliases."""
    for (module_name, qualname), added in record.items():
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
        databases = getattr(target, "databases", None)
        if databases and databases != "__all__":
            target.databases = frozenset(databases) | frozenset(added)
