"""Plan which test databases to create: pure, dicts in, a ``DatabasePlan`` out.

The plan closes the set of aliases the selected tests need under TEST ``MIRROR``
(a mirror needs the test database of the alias it mirrors, followed through
chains) and TEST ``DEPENDENCIES`` (an alias is created after, and together with,
the aliases it depends on), and refuses configurations that cannot work before
anything is created. It reads no ENGINE string: each alias's backend facts (its
vendor, the test database name Django would use) come from
:mod:`django_testkit.databases.facts`. The order of creation
comes from :mod:`django_testkit.databases.order`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import PurePath
from typing import Any

from django_testkit.databases.names import differs_only_in_case, same_sqlite_file, server_address
from django_testkit.databases.order import (
    creation_order,
    dependency_graph,
    mirror_roots,
    unused_cycle_warnings,
)
from django_testkit.exceptions import ConfigurationError
from django_testkit.records import field, record

#: PostgreSQL cuts identifiers at 63 bytes (MySQL at 64); clones add "_N".
MAX_SERVER_NAME_LENGTH = 60

#: Top-level keys of old Django versions and the TEST key each became.
LEGACY_TEST_KEYS = {
    "TEST_MIRROR": "MIRROR",
    "TEST_DEPENDENCIES": "DEPENDENCIES",
    "TEST_NAME": "NAME",
    "TEST_CHARSET": "CHARSET",
    "TEST_COLLATION": "COLLATION",
}

Settings = Mapping[str, Any]


@record
class BackendFacts:
    """What Django's backend says about one alias, so that the planner reads no ENGINE."""

    #: ``connection.vendor``: ``sqlite``, ``postgresql``, ``mysql``, ``oracle``, ...
    vendor: str
    #: The test database name Django would use; None when it is in memory.
    test_name: str | None


@record
class DatabasePlan:
    """What to set up for one run.

    ``create`` holds the aliases whose test databases are created, dependencies
    first; ``mirrors`` maps every mirror alias to the created alias it points at;
    ``requires`` says which created aliases each one waits for, so that aliases
    with no dependency path between them can be created at the same time.
    """

    create: tuple[str, ...]
    mirrors: Mapping[str, str]
    added: frozenset[str]
    #: For each created alias, the created aliases that must exist before it.
    requires: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: For each created alias, its test database name (None: in-memory SQLite).
    test_names: Mapping[str, str | None] = field(default_factory=dict)
    #: One-line warnings about settings the run does not depend on.
    warnings: tuple[str, ...] = ()

    @property
    def aliases(self) -> frozenset[str]:
        """Every alias that ends on a test database: created ones and mirrors."""
        return frozenset(self.create) | frozenset(self.mirrors)


def legacy_test_settings(alias: str, settings: Settings) -> tuple[dict[str, Any], str | None]:
    """Merge old top-level ``TEST_*`` keys into ``TEST``; say how to write them now.

    Returns the effective TEST dict and a one-line deprecation message, or None
    when the alias uses no legacy key. A key present in both places keeps the
    ``TEST`` value.
    """
    test = dict(settings.get("TEST") or {})
    legacy = {new: settings[old] for old, new in LEGACY_TEST_KEYS.items() if old in settings}
    if not legacy:
        return test, None
    merged = {**legacy, **test}
    old_keys = ", ".join(old for old in LEGACY_TEST_KEYS if old in settings)
    message = (
        f"DATABASES[{alias!r}] uses the legacy key(s) {old_keys}; "
        f"write them as 'TEST': {dict(sorted(legacy.items()))!r} instead."
    )
    return merged, message


def with_suffix(name: str | None, suffix: str, vendor: str) -> str | None:
    """``name`` with ``_suffix`` appended (before a SQLite file's extension)."""
    if not name or not suffix:
        return name
    if vendor == "sqlite":
        path = PurePath(name)
        return str(path.with_name(f"{path.stem}_{suffix}{path.suffix}"))
    test_name = f"{name}_{suffix}"
    if len(test_name) > MAX_SERVER_NAME_LENGTH:
        raise ConfigurationError(
            f"The test database name {test_name!r} (with DB_SUFFIX {suffix!r}) is longer than "
            f"{MAX_SERVER_NAME_LENGTH} characters, which servers cut short; use a shorter "
            "--db-suffix / TESTKIT_DB_SUFFIX."
        )
    return test_name


def clone_names(name: str | None, clones: int, vendor: str) -> list[str]:
    """The names Django gives a test database's worker clones 1..``clones``."""
    if not name or clones < 1:
        return []
    if vendor == "sqlite":
        root, extension = os.path.splitext(name)
        return [f"{root}_{index}{extension}" for index in range(1, clones + 1)]
    return [f"{name}_{index}" for index in range(1, clones + 1)]


def _points_at_real(
    test_name: str,
    where: tuple[str, Settings],
    real_name: object,
    real_where: tuple[str, Settings],
    ignore_case: Callable[[], bool],
) -> bool:
    """Whether ``test_name`` (on ``where``: vendor and settings) is ``real_name`` (on
    ``real_where``) under another spelling."""
    vendor, settings = where
    if vendor != real_where[0]:
        return False
    if vendor == "sqlite":
        return same_sqlite_file(test_name, real_name)
    real = str(real_name)
    if server_address(vendor, settings) != server_address(*real_where):
        return False
    if test_name == real:
        return True
    return vendor == "mysql" and differs_only_in_case(test_name, real) and ignore_case()


def _refuse_real_names(
    test_names: Mapping[str, str | None],
    databases: Mapping[str, Settings],
    facts: Mapping[str, BackendFacts],
    clones: int,
    names_ignore_case: Callable[[str], bool],
) -> None:
    """Refuse a test database or clone that is, under any spelling, a real database."""
    for alias, test_name in test_names.items():
        where = (facts[alias].vendor, databases[alias])
        candidates = [test_name, *clone_names(test_name, clones, where[0])] if test_name else []
        for candidate in candidates:
            for other, real_settings in databases.items():
                real = real_settings.get("NAME")
                if not real:
                    continue
                if _points_at_real(
                    candidate,
                    where,
                    real,
                    (facts[other].vendor, real_settings),
                    partial(names_ignore_case, alias),
                ):
                    what = "test database" if candidate == test_name else "worker clone"
                    raise ConfigurationError(
                        f"The {what} of {alias!r} would be {candidate!r}, which is the real "
                        f"database of {other!r} ({str(real)!r}); refusing to risk real data. "
                        f"Set DATABASES[{alias!r}]['TEST']['NAME'] to a name no alias uses."
                    )


def plan_databases(
    databases: Mapping[str, Settings],
    needed: Iterable[str],
    facts: Mapping[str, BackendFacts],
    tests: Mapping[str, Settings] | None = None,
    suffix: str = "",
    clones: int = 0,
    names_ignore_case: Callable[[str], bool] = lambda alias: False,
) -> DatabasePlan:
    """Plan the test databases for the aliases in ``needed``.

    ``databases`` is ``DATABASES`` (alias -> settings); ``facts`` holds every
    alias's :class:`BackendFacts`; ``tests`` optionally holds each alias's
    effective TEST dict (after :func:`legacy_test_settings`);
    ``suffix`` is appended to every test database name (``--db-suffix``);
    ``clones`` is the number of worker clones each will get; ``names_ignore_case``
    says whether an alias's server compares database names ignoring case (asked
    only when two names on one MySQL server differ in case alone).
    Raises :class:`ConfigurationError` for an unknown alias in MIRROR or
    DEPENDENCIES, a cycle in either, or a test database or clone that is a real
    database under another spelling (see :mod:`django_testkit.databases.names`).
    """
    if tests is None:
        tests = {alias: settings.get("TEST") or {} for alias, settings in databases.items()}
    needed = set(needed)
    unknown = sorted(needed - set(databases))
    if unknown:
        raise ConfigurationError(
            f"Tests use database alias(es) {', '.join(map(repr, unknown))} that DATABASES does "
            f"not define; add them to DATABASES or remove them from the tests' `databases`."
        )
    mirrors = mirror_roots(tests)
    graph = dependency_graph(tests, mirrors)
    create = creation_order({mirrors.get(alias, alias) for alias in needed}, graph)
    test_names = {
        alias: with_suffix(facts[alias].test_name, suffix, facts[alias].vendor) for alias in create
    }
    _refuse_real_names(test_names, databases, facts, clones, names_ignore_case)
    needed_roots = {alias for alias in needed if alias not in mirrors}
    return DatabasePlan(
        create=tuple(create),
        mirrors={alias: root for alias, root in mirrors.items() if root in create},
        added=frozenset(create) - needed_roots,
        requires={alias: tuple(graph[alias]) for alias in create},
        test_names=test_names,
        warnings=unused_cycle_warnings(graph),
    )
