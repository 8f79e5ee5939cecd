"""Unit tests of the mirror helpers: which alias a mirror ends on, and which test
classes get their mirrors' primaries added to ``databases``."""

from __future__ import annotations

from django.test import TestCase, TransactionTestCase

from django_testkit.databases.mirrors import (
    _add_primaries,
    _cleans_up_by_flushing,
    mirror_primaries,
)


def test_mirror_chains_end_on_the_alias_with_its_own_database() -> None:
    databases = {
        "default": {"TEST": {}},
        "replica": {"TEST": {"MIRROR": "default"}},
        "replica2": {"TEST": {"MIRROR": "replica"}},
        "legacy": {"TEST_MIRROR": "default"},
        "other": {},
    }
    assert mirror_primaries(databases) == {
        "replica": "default",
        "replica2": "default",
        "legacy": "default",
    }


def test_broken_mirror_chains_are_left_to_the_plan() -> None:
    databases = {
        "a": {"TEST": {"MIRROR": "b"}},
        "b": {"TEST": {"MIRROR": "a"}},
        "c": {"TEST": {"MIRROR": "missing"}},
    }
    assert mirror_primaries(databases) == {}


def test_only_flushing_test_cases_get_primaries() -> None:
    class Flushing(TransactionTestCase):
        databases = {"replica"}

    class RollingBack(TestCase):
        databases = {"replica"}

    assert _cleans_up_by_flushing(Flushing)
    assert not _cleans_up_by_flushing(RollingBack)
    assert _add_primaries(Flushing, {"replica": "default"}) == ("default",)
    assert Flushing.databases == frozenset({"replica", "default"})
    # Idempotent: a second pass (a second runner in the same process) adds nothing.
    assert _add_primaries(Flushing, {"replica": "default"}) == ()


def test_classes_that_use_the_primary_or_all_databases_are_unchanged() -> None:
    class Both(TransactionTestCase):
        databases = {"default", "replica"}

    class Everything(TransactionTestCase):
        databases = "__all__"

    assert _add_primaries(Both, {"replica": "default"}) == ()
    assert Both.databases == {"default", "replica"}
    assert _add_primaries(Everything, {"replica": "default"}) == ()
    assert Everything.databases == "__all__"
