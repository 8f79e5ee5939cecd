"""Mirrors that see their primary's writes inside ``TestCase`` (Django ticket #23718).

Inside a ``TestCase`` every test runs in a transaction that is rolled back at
the end. A mirror alias has its own connection, outside that transaction, so
it cannot see what the test wrote through the primary, unlike a real replica
with no lag. While a ``TestCase`` test runs, each mirror alias is served by its
primary's connection object in this thread, so reads through the mirror run
in the test's transaction. ``TransactionTestCase`` commits for real, and keeps
separate connections.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import connections
from django.test import TestCase


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
