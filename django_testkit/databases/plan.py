"""Plan which test databases to create: pure, dicts in, a ``DatabasePlan`` out.

The plan closes the set of aliases the selected tests need under TEST ``MIRROR``
(a mirror needs the test database of the alias it mirrors, followed through
chains) and TEST ``DEPENDENCIES`` (an alias is created after, and together with,
the aliases it depends on), and refuses configurations that cannot work before
anything is created.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePath
from typing import Any

from django_testkit.databases.names import (
    differs_only_in_case,
    is_sqlite,
    same_sqlite_file,
    server_address,
    vendor,
)
from django_testkit.exceptions import ConfigurationError

DEFAULT_ALIAS = "default"
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


@dataclass(frozen=True)
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


def mirror_root(alias: str, tests: Mapping[str, Settings]) -> str:
    """Follow TEST MIRROR from ``alias`` to the alias that owns a test database."""
    seen = [alias]
    current = alias
    while target := tests[current].get("MIRROR"):
        if target not in tests:
            raise ConfigurationError(
                f"DATABASES[{current!r}]['TEST']['MIRROR'] = {target!r} names no database "
                f"alias; use one of: {', '.join(sorted(tests))}."
            )
        if target in seen:
            cycle = " -> ".join([*seen[seen.index(target) :], target])
            raise ConfigurationError(
                f"DATABASES TEST MIRROR settings form a cycle: {cycle}; "
                "at least one of these aliases must have its own test database (no MIRROR)."
            )
        seen.append(target)
        current = target
    return current


def dependencies_of(alias: str, tests: Mapping[str, Settings]) -> list[str]:
    """TEST DEPENDENCIES of ``alias``, with Django's default of ``["default"]``."""
    if "DEPENDENCIES" in tests[alias]:
        return list(tests[alias]["DEPENDENCIES"] or [])
    return [] if alias == DEFAULT_ALIAS or DEFAULT_ALIAS not in tests else [DEFAULT_ALIAS]


def _dependency_graph(
    tests: Mapping[str, Settings], mirrors: Mapping[str, str]
) -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {}
    for alias in tests:
        if alias in mirrors:
            continue
        resolved = []
        for dependency in dependencies_of(alias, tests):
            if dependency not in tests:
                raise ConfigurationError(
                    f"DATABASES[{alias!r}]['TEST']['DEPENDENCIES'] names unknown alias "
                    f"{dependency!r}; use one of: {', '.join(sorted(tests))}."
                )
            root = mirrors.get(dependency, dependency)
            if root != alias:
                resolved.append(root)
        graph[alias] = resolved
    return graph


def _creation_order(wanted: Iterable[str], graph: Mapping[str, list[str]]) -> list[str]:
    """Depth-first topological order of ``wanted`` and everything it depends on."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(alias: str, path: list[str]) -> None:
        if state.get(alias) == "done":
            return
        if state.get(alias) == "active":
            cycle = " -> ".join([*path[path.index(alias) :], alias])
            raise ConfigurationError(
                f"DATABASES TEST DEPENDENCIES form a cycle: {cycle}; "
                "remove one of these dependencies."
            )
        state[alias] = "active"
        for dependency in graph[alias]:
            visit(dependency, [*path, alias])
        state[alias] = "done"
        order.append(alias)

    # The default database first, as Django does: data migrations use it.
    for alias in sorted(wanted, key=lambda name: (name != DEFAULT_ALIAS, name)):
        visit(alias, [])
    return order


def _unused_cycle_warnings(graph: Mapping[str, list[str]], create: list[str]) -> tuple[str, ...]:
    """Name a DEPENDENCIES cycle among aliases this run does not set up (a run that
    needs one of them is refused instead)."""
    for alias in sorted(set(graph) - set(create)):
        try:
            _creation_order([alias], graph)
        except ConfigurationError as error:
            cycle = str(error).split(": ", 1)[1].split(";", 1)[0]
            return (
                f"DATABASES TEST DEPENDENCIES form a cycle: {cycle}; this run does not use "
                "these aliases, but a run that does will stop. Remove one of these "
                "dependencies.",
            )
    return ()


def test_database_name(settings: Settings, test: Settings) -> str | None:
    """The test database name Django will use, or None for an in-memory SQLite one."""
    name = test.get("NAME")
    if is_sqlite(settings):
        if not name or name == ":memory:" or "mode=memory" in str(name):
            return None
        return str(name)
    return str(name) if name else f"test_{settings.get('NAME') or ''}"


def with_suffix(name: str | None, suffix: str, settings: Settings) -> str | None:
    """``name`` with ``_suffix`` appended (before a SQLite file's extension)."""
    if not name or not suffix:
        return name
    if is_sqlite(settings):
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


def clone_names(name: str | None, clones: int, settings: Settings) -> list[str]:
    """The names Django gives a test database's worker clones 1..``clones``."""
    if not name or clones < 1:
        return []
    if is_sqlite(settings):
        root, extension = os.path.splitext(name)
        return [f"{root}_{index}{extension}" for index in range(1, clones + 1)]
    return [f"{name}_{index}" for index in range(1, clones + 1)]


def _points_at_real(
    test_name: str,
    settings: Settings,
    real_name: object,
    real_settings: Settings,
    ignore_case: Callable[[], bool],
) -> bool:
    if is_sqlite(settings) != is_sqlite(real_settings):
        return False
    if is_sqlite(settings):
        return same_sqlite_file(test_name, real_name)
    real = str(real_name)
    if server_address(settings) != server_address(real_settings):
        return False
    if test_name == real:
        return True
    return vendor(settings) == "mysql" and differs_only_in_case(test_name, real) and ignore_case()


def _refuse_real_names(
    test_names: Mapping[str, str | None],
    databases: Mapping[str, Settings],
    clones: int,
    names_ignore_case: Callable[[str], bool],
) -> None:
    """Refuse a test database or clone that is, under any spelling, a real database."""
    for alias, test_name in test_names.items():
        settings = databases[alias]
        candidates = [test_name, *clone_names(test_name, clones, settings)] if test_name else []
        for candidate in candidates:
            for other, real_settings in databases.items():
                real = real_settings.get("NAME")
                if not real:
                    continue
                if _points_at_real(
                    candidate, settings, real, real_settings, partial(names_ignore_case, alias)
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
    tests: Mapping[str, Settings] | None = None,
    suffix: str = "",
    clones: int = 0,
    names_ignore_case: Callable[[str], bool] = lambda alias: False,
) -> DatabasePlan:
    """Plan the test databases for the aliases in ``needed``.

    ``databases`` is ``DATABASES`` (alias -> settings); ``tests`` optionally holds
    each alias's effective TEST dict (after :func:`legacy_test_settings`);
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
    mirrors = {alias: mirror_root(alias, tests) for alias in tests if tests[alias].get("MIRROR")}
    graph = _dependency_graph(tests, mirrors)
    roots = {mirrors.get(alias, alias) for alias in needed}
    create = _creation_order(roots, graph)
    test_names = {
        alias: with_suffix(
            test_database_name(databases[alias], tests[alias]), suffix, databases[alias]
        )
        for alias in create
    }
    _refuse_real_names(test_names, databases, clones, names_ignore_case)
    needed_roots = {alias for alias in needed if alias not in mirrors}
    return DatabasePlan(
        create=tuple(create),
        mirrors={alias: root for alias, root in mirrors.items() if root in create},
        added=frozenset(create) - needed_roots,
        requires={alias: tuple(graph[alias]) for alias in create},
        test_names=test_names,
        warnings=_unused_cycle_warnings(graph, create),
    )
