"""Unit tests of the database planner: dicts in, plan or one-line error out."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.db.utils import ConnectionHandler
from hypothesis import given, settings
from hypothesis import strategies as st

from django_testkit.databases.facts import all_backend_facts, backend_facts
from django_testkit.databases.plan import (
    BackendFacts,
    DatabasePlan,
    legacy_test_settings,
    plan_databases,
)
from django_testkit.exceptions import ConfigurationError
from tests.support.facts import driver_installed, facts_of

SQLITE = "django.db.backends.sqlite3"
PG = {"ENGINE": "django.db.backends.postgresql", "HOST": "db", "PORT": "5432"}


def make_plan(databases: Mapping[str, Any], needed: Iterable[str], **options: Any) -> DatabasePlan:
    """The plan, with each alias's backend facts from Django's own backend for it."""
    facts = facts_of(databases)
    return plan_databases(databases, needed, facts, **options)


def db(name: str, **test: Any) -> dict[str, Any]:
    return {**PG, "NAME": name, "TEST": test}


SHOP = {
    "default": db("shop"),
    "replica": db("shop", MIRROR="default"),
    "ledger": db("ledger", DEPENDENCIES=[]),
    "audit": db("audit", DEPENDENCIES=["ledger"]),
}


def test_mirror_alone_brings_in_its_primary() -> None:
    plan = make_plan(SHOP, {"replica"})
    assert plan.create == ("default",)
    assert plan.mirrors == {"replica": "default"}
    assert plan.added == {"default"}


def test_dependencies_are_pulled_in_and_created_first() -> None:
    plan = make_plan(SHOP, {"audit"})
    assert plan.create == ("ledger", "audit")
    assert plan.added == {"ledger"}


def test_implicit_dependency_on_default() -> None:
    databases = {"default": db("a"), "other": db("b")}
    assert make_plan(databases, {"other"}).create == ("default", "other")


def test_default_is_created_first_when_independent() -> None:
    assert make_plan(SHOP, set(SHOP)).create[0] == "default"


def test_mirror_chain_in_any_order() -> None:
    databases = {"r2": db("x", MIRROR="r1"), "r1": db("x", MIRROR="default"), "default": db("x")}
    plan = make_plan(databases, {"r2"})
    assert plan.create == ("default",)
    assert plan.mirrors == {"r1": "default", "r2": "default"}


def test_dependency_on_a_mirror_means_its_primary() -> None:
    databases = {**SHOP, "ledger": db("ledger", DEPENDENCIES=["replica"])}
    assert make_plan(databases, {"ledger"}).create == ("default", "ledger")


@pytest.mark.parametrize(
    ("databases", "message"),
    [
        (
            {
                "default": db("d"),
                "a": db("a", DEPENDENCIES=["b"]),
                "b": db("b", DEPENDENCIES=["a"]),
            },
            "DATABASES TEST DEPENDENCIES form a cycle: a -> b -> a; remove one of these "
            "dependencies.",
        ),
        (
            {
                "default": db("d"),
                "c": db("c", DEPENDENCIES=["a"]),
                "b": db("b", DEPENDENCIES=["c"]),
                "a": db("a", DEPENDENCIES=["b"]),
            },
            "DATABASES TEST DEPENDENCIES form a cycle: a -> b -> c -> a; remove one of these "
            "dependencies.",
        ),
        (
            {"default": db("d"), "a": db("a", DEPENDENCIES=["archive"])},
            "DATABASES['a']['TEST']['DEPENDENCIES'] names unknown alias 'archive'; "
            "use one of: a, default.",
        ),
        (
            {"default": db("d"), "a": db("d", MIRROR="primary")},
            "DATABASES['a']['TEST']['MIRROR'] = 'primary' names no database alias; "
            "use one of: a, default.",
        ),
        (
            {"default": db("d"), "a": db("d", MIRROR="b"), "b": db("d", MIRROR="a")},
            "DATABASES TEST MIRROR settings form a cycle: a -> b -> a; at least one of these "
            "aliases must have its own test database (no MIRROR).",
        ),
        (
            {"default": db("d"), "self": db("d", MIRROR="self")},
            "DATABASES TEST MIRROR settings form a cycle: self -> self; at least one of these "
            "aliases must have its own test database (no MIRROR).",
        ),
        (
            {"default": db("d"), "a": db("a", NAME="d")},
            "The test database of 'a' would be 'd', which is the real database of 'default' "
            "('d'); refusing to risk real data. Set DATABASES['a']['TEST']['NAME'] to a name "
            "no alias uses.",
        ),
    ],
    ids=[
        "dependency-cycle",
        "three-alias-cycle",
        "unknown-dependency",
        "unknown-mirror",
        "mirror-cycle",
        "self-mirror",
        "real-name",
    ],
)
def test_errors_are_one_clear_line(databases: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_plan(databases, set(databases))
    assert str(caught.value) == message


def test_same_name_on_another_server_is_not_a_clash() -> None:
    databases = {"default": db("d"), "a": {**db("a", NAME="d"), "HOST": "elsewhere"}}
    assert make_plan(databases, {"a"}).create == ("default", "a")


def test_in_memory_sqlite_never_clashes() -> None:
    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3", "TEST": {}}
    assert make_plan({"default": sqlite}, {"default"}).create == ("default",)


def test_legacy_keys_are_merged_and_explained() -> None:
    settings = {
        **PG,
        "NAME": "x",
        "TEST": {"NAME": "kept"},
        "TEST_MIRROR": "default",
        "TEST_NAME": "ignored",
    }
    test, message = legacy_test_settings("replica", settings)
    assert test == {"MIRROR": "default", "NAME": "kept"}
    assert message == (
        "DATABASES['replica'] uses the legacy key(s) TEST_MIRROR, TEST_NAME; write them as "
        "'TEST': {'MIRROR': 'default', 'NAME': 'ignored'} instead."
    )
    assert legacy_test_settings("default", db("x")) == ({}, None)


ALIASES = ["default", "a", "b", "c", "d", "e"]


@st.composite
def alias_graphs(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    names = ALIASES[: draw(st.integers(min_value=1, max_value=len(ALIASES)))]
    databases: dict[str, dict[str, Any]] = {}
    for name in names:
        test: dict[str, Any] = {}
        if name != "default" and draw(st.booleans()):
            test["MIRROR"] = draw(st.sampled_from(names))
        else:
            test["DEPENDENCIES"] = draw(st.lists(st.sampled_from(names), max_size=3, unique=True))
        databases[name] = db(f"real_{name}", **test)
    return databases


def _has_cycle(edges: dict[str, list[str]], start: str) -> bool:
    stack, seen = [(start, ())], set()
    while stack:
        node, path = stack.pop()
        if node in path:
            return True
        if (node, path) in seen:
            continue
        seen.add((node, path))
        stack.extend((nxt, (*path, node)) for nxt in edges.get(node, []))
    return False


@settings(max_examples=300, deadline=None)
@given(alias_graphs(), st.data())
def test_plans_respect_every_rule(
    databases: dict[str, dict[str, Any]], data: st.DataObject
) -> None:
    needed = set(data.draw(st.lists(st.sampled_from(sorted(databases)), min_size=1, unique=True)))
    mirror_edges = {
        a: [s["TEST"]["MIRROR"]] for a, s in databases.items() if "MIRROR" in s["TEST"]
    }
    try:
        plan = make_plan(databases, needed)
    except ConfigurationError as error:
        message = str(error)
        assert "\n" not in message
        assert "cycle" in message or "real database" in message
        if "MIRROR settings form a cycle" in message:
            assert any(_has_cycle(mirror_edges, alias) for alias in mirror_edges)
        return
    # Every needed alias ends on a test database; no mirror is created as its own.
    assert needed <= plan.aliases
    assert not set(plan.create) & set(plan.mirrors)
    assert all(target in plan.create for target in plan.mirrors.values())
    # Every dependency (resolved through mirrors) is created before its dependant.
    position = {alias: index for index, alias in enumerate(plan.create)}
    for alias in plan.create:
        for dependency in databases[alias]["TEST"].get("DEPENDENCIES", []):
            root = plan.mirrors.get(dependency, dependency)
            if root != alias:
                assert position[root] < position[alias]
                # ... and the plan says so, so that concurrent builders wait for it.
                assert root in plan.requires[alias]
    # Whatever runs at the same time has no dependency path between the two aliases.
    for alias in plan.create:
        assert all(position[dependency] < position[alias] for dependency in plan.requires[alias])


def test_requires_lets_independent_chains_build_at_once() -> None:
    databases = {
        "default": db("shop"),
        "reports": db("reports", DEPENDENCIES=["default"]),
        "archive": db("archive", DEPENDENCIES=[]),
        "search": db("search", DEPENDENCIES=["archive"]),
    }
    plan = make_plan(databases, set(databases))
    assert plan.requires == {
        "default": (),
        "reports": ("default",),
        "archive": (),
        "search": ("archive",),
    }


def test_test_names_carry_the_suffix() -> None:
    sqlite = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": "/srv/app.sqlite3",
        "TEST": {"NAME": "/tmp/test_app.sqlite3"},
    }
    memory = {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/m.sqlite3", "TEST": {}}
    databases = {"default": db("shop"), "files": sqlite, "memory": memory}
    plan = make_plan(databases, set(databases), suffix="ci42")
    assert plan.test_names == {
        "default": "test_shop_ci42",
        "files": "/tmp/test_app_ci42.sqlite3",
        "memory": None,
    }
    assert make_plan(databases, {"default"}).test_names == {"default": "test_shop"}


def test_suffix_that_makes_a_server_name_too_long_is_refused() -> None:
    databases = {"default": db("s" * 40)}
    with pytest.raises(ConfigurationError) as error:
        make_plan(databases, {"default"}, suffix="x" * 20)
    assert str(error.value) == (
        f"The test database name 'test_{'s' * 40}_{'x' * 20}' (with DB_SUFFIX '{'x' * 20}') is "
        "longer than 60 characters, which servers cut short; use a shorter --db-suffix / "
        "TESTKIT_DB_SUFFIX."
    )


def test_suffixed_name_equal_to_a_real_name_is_refused() -> None:
    databases = {"default": db("shop"), "other": db("test_shop_ci")}
    with pytest.raises(ConfigurationError, match="the real database of 'other'"):
        make_plan(databases, {"default"}, suffix="ci")


def test_a_cycle_among_unneeded_aliases_is_a_warning() -> None:
    databases = {
        "default": db("d"),
        "a": db("a", DEPENDENCIES=["b"]),
        "b": db("b", DEPENDENCIES=["a"]),
    }
    plan = make_plan(databases, {"default"})
    assert plan.create == ("default",)
    assert plan.warnings == (
        "DATABASES TEST DEPENDENCIES form a cycle: a -> b -> a; this run does not use these "
        "aliases, but a run that does will stop. Remove one of these dependencies.",
    )
    assert make_plan(SHOP, {"default"}).warnings == ()


SPATIALITE = {
    "ENGINE": "django.contrib.gis.db.backends.spatialite",
    "NAME": "/path/db.sqlite3",
    "TEST": {},
}


def test_spatialite_tests_in_memory_as_django_does() -> None:
    # SpatiaLite's backend keeps SQLite's creation class (GDAL, absent here, is not
    # needed to ask it): its default test database is in memory, not test_/path/...
    configured = ConnectionHandler({"default": copy.deepcopy(SPATIALITE)}).settings["default"]
    facts = backend_facts(SQLiteWrapper(configured, "default"))
    assert facts == BackendFacts(vendor="sqlite", test_name=None)
    plan = plan_databases({"default": SPATIALITE}, {"default"}, {"default": facts}, suffix="ci")
    assert plan.test_names == {"default": None}


def test_the_planner_reads_facts_not_engine_names() -> None:
    engine = {"ENGINE": "project.backends.audited", "NAME": "/srv/app.db", "TEST": {}}
    files = {"default": BackendFacts("sqlite", "/tmp/test_app.db")}
    plan = plan_databases({"default": engine}, {"default"}, files, clones=2, suffix="ci")
    assert plan.test_names == {"default": "/tmp/test_app_ci.db"}
    server = {"default": BackendFacts("postgresql", "test_app")}
    plan = plan_databases({"default": SPATIALITE}, {"default"}, server, suffix="ci")
    assert plan.test_names == {"default": "test_app_ci"}


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({**PG, "NAME": "shop", "TEST": {}}, BackendFacts("postgresql", "test_shop")),
        ({**PG, "NAME": "shop", "TEST": {"NAME": "qa"}}, BackendFacts("postgresql", "qa")),
        ({"ENGINE": SQLITE, "NAME": "a.db"}, BackendFacts("sqlite", None)),
        ({"ENGINE": SQLITE, "TEST": {"NAME": ":memory:"}}, BackendFacts("sqlite", None)),
        ({"ENGINE": SQLITE, "TEST": {"NAME": "file:m?mode=memory"}}, BackendFacts("sqlite", None)),
        ({"ENGINE": SQLITE, "TEST": {"NAME": Path("t.db")}}, BackendFacts("sqlite", "t.db")),
    ],
    ids=["server", "server-test-name", "sqlite", "memory", "memory-uri", "path"],
)
def test_facts_are_what_django_says(settings: dict[str, Any], expected: BackendFacts) -> None:
    if not driver_installed(settings["ENGINE"]):
        pytest.skip(f"{settings['ENGINE']}'s driver is not installed here (servers environments)")
    assert all_backend_facts(ConnectionHandler({"default": settings})) == {"default": expected}


def test_aliases_ready_together_are_created_default_first_then_by_name() -> None:
    databases = {
        "default": db("d", DEPENDENCIES=["zeta"]),
        "zeta": db("z", DEPENDENCIES=[]),
        "beta": db("b", DEPENDENCIES=[]),
        "alpha": db("a", DEPENDENCIES=["default", "beta"]),
    }
    assert make_plan(databases, set(databases)).create == ("beta", "zeta", "default", "alpha")


def test_a_mirror_cycle_is_named_from_the_alias_databases_lists_first() -> None:
    databases = {"default": db("d"), "zed": db("d", MIRROR="amy"), "amy": db("d", MIRROR="zed")}
    with pytest.raises(ConfigurationError, match="form a cycle: zed -> amy -> zed;"):
        make_plan(databases, {"default"})
