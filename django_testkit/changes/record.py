"""Recording the change map from a run's coverage data, on top of what was recorded before.

Coverage data recorded with class contexts (:mod:`django_testkit.cov.contexts`)
says, line by line, which classes ran it; each line belongs to the innermost
function around it, or to the module level. Classes that ran now replace what was
recorded for them before; a class that failed is forgotten, so that ``--changed``
runs it until it passes. A run that covered everything a change could affect
(the whole suite, or a ``--changed`` run not narrowed further) also moves the
map's state to now.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django_testkit import files
from django_testkit.changes.facts import FileFacts, file_facts
from django_testkit.changes.store import OUTSIDE, ChangeMap, FileRecord
from django_testkit.keys import classes_of_context


@dataclass(frozen=True)
class Recorded:
    """What one run adds to the map."""

    #: Classes whose tests all passed: what they ran is now known.
    passed: frozenset[str]
    #: Classes with a failure or error: forgotten until they pass.
    failed: frozenset[str]
    #: The run covered every class a change since the map's state could affect.
    complete: bool
    configuration: str


def relative(root: Path, path: str) -> str | None:
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return None


def observed(data: Any, root: Path) -> dict[str, dict[int, set[str]]]:
    """Per project file (relative to ``root``), per line, the classes that ran it."""
    found: dict[str, dict[int, set[str]]] = {}
    for path in data.measured_files():
        name = relative(root, path)
        if name is None:
            continue
        lines = found.setdefault(name, {})
        for line, labels in data.contexts_by_lineno(path).items():
            classes: set[str] = set()
            for label in labels:
                # Outside every class: at import, while Django started, between classes.
                classes.update(classes_of_context(label) or (OUTSIDE,))
            lines.setdefault(line, set()).update(classes)
    return found


def _record(facts: FileFacts, lines: Mapping[int, set[str]]) -> FileRecord:
    owners = facts.owner_of_lines()
    ran: dict[str, set[str]] = {}
    for line, classes in lines.items():
        scope = owners[line] if line < len(owners) else ""
        ran.setdefault(scope, set()).update(classes)
    return FileRecord(
        facts.sha, facts.module, {name: scope.digest for name, scope in facts.scopes.items()}, ran
    )


def update(
    old: ChangeMap | None,
    seen: Mapping[str, Mapping[int, set[str]]],
    facts: Mapping[str, FileFacts],
    run: Recorded,
    state: tuple[str, Mapping[str, str]],
    imports: Mapping[str, tuple[str, tuple[str, ...]]],
) -> ChangeMap:
    """``old`` with what the run saw (``seen``, about files whose current ``facts`` are given)."""
    if old is None or old.configuration != run.configuration:
        old = ChangeMap(configuration=run.configuration)
    # What ran outside every class stays known: a later run may not import the file.
    refreshed = run.passed | run.failed
    for known in old.files.values():
        for classes in known.ran.values():
            classes.difference_update(refreshed)
    for name, lines in seen.items():
        if name not in facts:
            continue
        kept = run.passed | {OUTSIDE}
        new = _record(facts[name], {line: classes & kept for line, classes in lines.items()})
        record = old.files.get(name)
        if record is None or run.complete:
            if record is not None:
                for scope, classes in record.ran.items():
                    if scope == "" or scope in new.scopes:
                        new.ran.setdefault(scope, set()).update(classes)
            old.files[name] = new
        else:
            for scope, classes in new.ran.items():
                record.ran.setdefault(scope, set()).update(classes)
    old.classes = (old.classes - run.failed) | run.passed
    if run.complete:
        old.commit, old.uncommitted = state[0], dict(state[1])
        old.files = {
            name: record
            for name, record in old.files.items()
            if name in seen or _kept(name, state)
        }
    old.imports = dict(imports)
    return old


def _kept(name: str, state: tuple[str, Mapping[str, str]]) -> bool:
    """A file of the map not measured now stays, unless it was deleted."""
    return state[1].get(name, None) != ""


def read_facts(
    root: Path,
    names: Collection[str],
    packages: Mapping[str, str],
    parsed: Mapping[str, FileFacts] | None = None,
) -> dict[str, FileFacts]:
    """The current facts of the Python files ``names`` that exist (``packages``: each file's
    package, for its relative imports; ``parsed``: facts already read now)."""
    found = {}
    for name in names:
        if not name.endswith(".py"):
            continue
        if parsed and name in parsed:
            found[name] = parsed[name]
            continue
        data = files.read_regular(root / name)
        if data is None:
            continue
        found[name] = file_facts(data, packages.get(name, ""))
    return found
