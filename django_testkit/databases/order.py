"""Order test databases by TEST ``MIRROR`` and ``DEPENDENCIES``, with :mod:`graphlib`: pure.

A mirror ends on the alias its MIRROR chain leads to; an alias is created after
the aliases it depends on (a dependency on a mirror means its primary). A cycle
in either setting is one clear line that names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from graphlib import CycleError, TopologicalSorter
from typing import Any

from django_testkit.exceptions import ConfigurationError

DEFAULT_ALIAS = "default"

Settings = Mapping[str, Any]


def _default_first(alias: str) -> tuple[bool, str]:
    # The default database first, as Django does: data migrations use it.
    return (alias != DEFAULT_ALIAS, alias)


def _cycle(error: CycleError, first: Callable[[str], Any]) -> str:
    """``a -> b -> a``: the cycle in ``error``, each alias followed by the one it names.

    graphlib lists a cycle from each node to a node that needs it, the first
    node repeated last; it is reversed and begins at the alias ``first`` ranks lowest.
    """
    ring = list(reversed(error.args[1]))[:-1]
    start = ring.index(min(ring, key=first))
    ring = ring[start:] + ring[:start]
    return " -> ".join([*ring, ring[0]])


def mirror_roots(tests: Mapping[str, Settings]) -> dict[str, str]:
    """Map each mirror alias to the alias owning the test database its MIRROR chain ends on."""
    targets = {alias: test["MIRROR"] for alias, test in tests.items() if test.get("MIRROR")}
    for alias, target in targets.items():
        if target not in tests:
            raise ConfigurationError(
                f"DATABASES[{alias!r}]['TEST']['MIRROR'] = {target!r} names no database "
                f"alias; use one of: {', '.join(sorted(tests))}."
            )
    written = list(tests)  # a cycle is named from the alias DATABASES lists first
    sorter = TopologicalSorter({alias: {target} for alias, target in targets.items()})
    try:
        order = list(sorter.static_order())
    except CycleError as error:
        raise ConfigurationError(
            f"DATABASES TEST MIRROR settings form a cycle: {_cycle(error, written.index)}; "
            "at least one of these aliases must have its own test database (no MIRROR)."
        ) from None
    roots: dict[str, str] = {}
    for alias in order:  # every target comes before the aliases that mirror it
        if alias in targets:
            roots[alias] = roots.get(targets[alias], targets[alias])
    return roots


def dependencies_of(alias: str, tests: Mapping[str, Settings]) -> list[str]:
    """TEST DEPENDENCIES of ``alias``, with Django's default of ``["default"]``."""
    if "DEPENDENCIES" in tests[alias]:
        return list(tests[alias]["DEPENDENCIES"] or [])
    return [] if alias == DEFAULT_ALIAS or DEFAULT_ALIAS not in tests else [DEFAULT_ALIAS]


def dependency_graph(
    tests: Mapping[str, Settings], mirrors: Mapping[str, str]
) -> dict[str, list[str]]:
    """Each alias that owns a test database -> the owners it must be created after."""
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


def _with_dependencies(wanted: Iterable[str], graph: Mapping[str, list[str]]) -> set[str]:
    """``wanted`` and every alias it depends on, directly or not."""
    found: set[str] = set()
    pending = list(wanted)
    while pending:
        alias = pending.pop()
        if alias not in found:
            found.add(alias)
            pending.extend(graph[alias])
    return found


def creation_order(wanted: Iterable[str], graph: Mapping[str, list[str]]) -> list[str]:
    """``wanted`` and its dependencies, each after what it depends on; default first,
    then by name among aliases that are ready together."""
    sorter = TopologicalSorter(
        {alias: graph[alias] for alias in _with_dependencies(wanted, graph)}
    )
    try:
        sorter.prepare()
    except CycleError as error:
        raise ConfigurationError(
            f"DATABASES TEST DEPENDENCIES form a cycle: {_cycle(error, _default_first)}; "
            "remove one of these dependencies."
        ) from None
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=_default_first)
        order.extend(ready)
        sorter.done(*ready)
    return order


def unused_cycle_warnings(graph: Mapping[str, list[str]]) -> tuple[str, ...]:
    """Name a DEPENDENCIES cycle among aliases this run does not set up (called once the
    run's own aliases are known to have none; a run that needs one is refused instead)."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        return (
            f"DATABASES TEST DEPENDENCIES form a cycle: {_cycle(error, _default_first)}; this "
            "run does not use these aliases, but a run that does will stop. Remove one of "
            "these dependencies.",
        )
    return ()
