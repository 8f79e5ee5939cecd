"""Unit tests of name identity: every spelling of a real database is recognised."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_testkit.databases.names import same_sqlite_file, server_address, sqlite_path
from django_testkit.databases.plan import DatabasePlan, plan_databases
from django_testkit.exceptions import ConfigurationError
from tests.support.facts import facts_of

SQLITE = "django.db.backends.sqlite3"


def make_plan(databases: Mapping[str, Any], needed: Iterable[str], **options: Any) -> DatabasePlan:
    """The plan, with each alias's backend facts from Django's own backend for it."""
    facts = facts_of(databases)
    return plan_databases(databases, needed, facts, **options)


def sqlite_db(name: object, test_name: object) -> dict[str, Any]:
    return {"ENGINE": SQLITE, "NAME": name, "TEST": {"NAME": test_name}}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory that is the working directory, holding a real database."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "app.sqlite3").write_bytes(b"real data")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def _spell(project: Path, how: list[str]) -> str:
    """One spelling of project/app.sqlite3 built from the steps in ``how``."""
    directory = str(project) if "absolute" in how else "."
    if "detour" in how:
        directory += "/sub/.."
    if "doubled" in how:
        directory += "/"
    if "home" in how:
        directory = "~"
    path = f"{directory}/app.sqlite3" if directory != "." or "dot" in how else "app.sqlite3"
    if "uri" in how:
        encoded = quote(path, safe="/~") if "encoded" in how else path
        if "authority" in how and path.startswith("/"):
            return f"file://localhost{encoded}?mode=rwc"
        return f"file:{encoded}?cache=shared" if "query" in how else f"file:{encoded}"
    return path


STEPS = ["absolute", "detour", "doubled", "home", "dot", "uri", "encoded", "authority", "query"]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(how=st.lists(st.sampled_from(STEPS), unique=True))
def test_every_spelling_of_the_real_file_is_refused(project: Path, how: list[str]) -> None:
    spelling = _spell(project, how)
    databases = {"default": sqlite_db(project / "app.sqlite3", spelling)}
    with pytest.raises(ConfigurationError, match="refusing to risk real data"):
        make_plan(databases, {"default"})


@pytest.mark.parametrize("how", ["symlink", "hardlink", "linked-directory"])
def test_links_to_the_real_file_are_refused(project: Path, how: str) -> None:
    if how == "symlink":
        (project / "link.sqlite3").symlink_to(project / "app.sqlite3")
        spelling = "link.sqlite3"
    elif how == "hardlink":
        os.link(project / "app.sqlite3", project / "link.sqlite3")
        spelling = "link.sqlite3"
    else:
        (project / "alias").symlink_to(project)
        spelling = "alias/app.sqlite3"
    databases = {"default": sqlite_db(project / "app.sqlite3", spelling)}
    with pytest.raises(ConfigurationError) as caught:
        make_plan(databases, {"default"})
    assert str(caught.value) == (
        f"The test database of 'default' would be {spelling!r}, which is the real database of "
        f"'default' ({str(project / 'app.sqlite3')!r}); refusing to risk real data. "
        "Set DATABASES['default']['TEST']['NAME'] to a name no alias uses."
    )


@pytest.mark.parametrize(
    "spelling",
    [
        "test_app.sqlite3",
        "sub/app.sqlite3",
        ":memory:",
        "file:app.sqlite3?mode=memory&cache=shared",
        "file:memorydb_default?mode=memory",
        "",
    ],
)
def test_other_files_and_memory_are_accepted(project: Path, spelling: str) -> None:
    databases = {"default": sqlite_db(project / "app.sqlite3", spelling)}
    plan = make_plan(databases, {"default"})
    assert plan.create == ("default",)


def test_a_real_database_named_like_a_worker_clone_is_refused(project: Path) -> None:
    databases = {
        "default": sqlite_db(project / "app.sqlite3", "test_app.sqlite3"),
        "other": sqlite_db("./test_app_2.sqlite3", ""),
    }
    assert make_plan(databases, {"default"}, clones=1).create == ("default",)
    with pytest.raises(ConfigurationError) as caught:
        make_plan(databases, {"default"}, clones=2)
    assert str(caught.value).startswith(
        "The worker clone of 'default' would be 'test_app_2.sqlite3', which is the real "
        "database of 'other' ('./test_app_2.sqlite3');"
    )


def test_sqlite_paths_follow_uri_rules() -> None:
    assert sqlite_path("file:a%20b.sqlite3?mode=ro#x") == "a b.sqlite3"
    assert sqlite_path("file:///srv/app.sqlite3") == "/srv/app.sqlite3"
    assert sqlite_path("file://localhost/srv/app.sqlite3") == "/srv/app.sqlite3"
    assert sqlite_path("file://elsewhere/srv/app.sqlite3") is None
    assert sqlite_path(Path("/srv/app.sqlite3")) == "/srv/app.sqlite3"
    assert sqlite_path("file::memory:") is None
    assert not same_sqlite_file(":memory:", ":memory:")


def server(engine: str, name: str, test_name: str, **where: str) -> dict[str, Any]:
    return {"ENGINE": engine, "NAME": name, "TEST": {"NAME": test_name}, **where}


PG = "django.db.backends.postgresql"
MYSQL = "django.db.backends.mysql"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"HOST": "", "PORT": ""}, {"HOST": "localhost", "PORT": "5432"}),
        ({"HOST": "127.0.0.1"}, {"HOST": "LOCALHOST"}),
        ({"HOST": "/var/run/postgresql"}, {"HOST": "::1", "PORT": "5432"}),
    ],
)
def test_local_spellings_of_one_server_are_one_server(
    first: dict[str, str], second: dict[str, str]
) -> None:
    databases = {
        "default": server(PG, "shop", "test_shop", **first),
        "legacy": server(PG, "test_shop", "test_legacy", **second),
    }
    assert server_address("postgresql", databases["default"]) == server_address(
        "postgresql", databases["legacy"]
    )
    with pytest.raises(ConfigurationError, match="real database of 'legacy'"):
        make_plan(databases, {"default"})


def test_another_port_is_another_server() -> None:
    databases = {
        "default": server(PG, "shop", "test_shop", HOST="localhost", PORT="5433"),
        "legacy": server(PG, "test_shop", "test_legacy", HOST="localhost"),
    }
    assert make_plan(databases, {"default"}).create == ("default",)


@pytest.mark.parametrize("ignore_case", [True, False])
def test_mysql_case_follows_what_the_server_reports(ignore_case: bool) -> None:
    databases = {
        "default": server(MYSQL, "shop", "Test_Shop"),
        "legacy": server(MYSQL, "test_shop", "test_legacy"),
    }
    asked: list[str] = []

    def names_ignore_case(alias: str) -> bool:
        asked.append(alias)
        return ignore_case

    if ignore_case:
        with pytest.raises(ConfigurationError, match="real database of 'legacy'"):
            make_plan(databases, {"default"}, names_ignore_case=names_ignore_case)
    else:
        plan = make_plan(databases, {"default"}, names_ignore_case=names_ignore_case)
        assert plan.create == ("default",)
    assert asked == ["default"]


def test_postgresql_names_differing_in_case_are_different_databases() -> None:
    databases = {
        "default": server(PG, "shop", "Test_Shop"),
        "legacy": server(PG, "test_shop", "test_legacy"),
    }
    assert make_plan(databases, {"default"}).create == ("default",)
