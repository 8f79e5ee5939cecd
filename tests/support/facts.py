"""Backend facts for planner tests, from Django's own backends, with or without their drivers."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.creation import BaseDatabaseCreation
from django.db.utils import ConnectionHandler

from django_testkit import _compat
from django_testkit.databases.facts import backend_facts
from django_testkit.databases.plan import BackendFacts


def facts_of(databases: Mapping[str, Any]) -> dict[str, BackendFacts]:
    """Each alias's facts as the runner would gather them.

    Loading a server backend needs its driver; where it is not installed (the
    environments without servers), the test name comes from Django's own rule
    (``BaseDatabaseCreation``, which every server backend uses) on a stand-in
    connection, and the vendor from the ENGINE's last part.
    """
    handler = ConnectionHandler(copy.deepcopy(dict(databases)))
    facts = {}
    for alias in handler:
        try:
            facts[alias] = backend_facts(handler[alias])
        except ImproperlyConfigured:
            configured = handler.settings[alias]
            stand_in = SimpleNamespace(settings_dict=configured, alias=alias)
            name = _compat.test_database_name(BaseDatabaseCreation(stand_in))
            vendor = str(configured["ENGINE"]).rsplit(".", 1)[-1]
            facts[alias] = BackendFacts(vendor=vendor, test_name=name)
    return facts


def driver_installed(engine: str) -> bool:
    """Whether Django can load ``engine``'s backend here."""
    try:
        ConnectionHandler({"default": {"ENGINE": engine, "NAME": "x"}})["default"]
    except ImproperlyConfigured:
        return False
    return True
