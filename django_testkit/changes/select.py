"""Which test classes a change can affect: pure, from the change map and the files now.

The rules, for each file changed since the map's state:

- not Python, settings, migrations: anything may depend on it: the whole suite;
- a test module: all of its classes;
- a measured file whose module level is unchanged: the classes that ran a function
  whose code changed (or that is gone);
- a module-level change (imports, constants, class bodies, decorators, a function
  added or removed), a deleted or unparsable file, or a file coverage does not
  measure: the classes that ran any line of it or of a file importing it (directly
  or not), and the classes of the test modules importing it; the whole suite when
  Django imports it at start-up, when it was first imported while a test ran (Django
  loads it by name: a URLconf, middleware), or when no test can be told to use it.

And always: every class the map does not know (new, or failed when recorded).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from django_testkit.changes.facts import FileFacts
from django_testkit.changes.project import Project
from django_testkit.changes.store import OUTSIDE, ChangeMap, FileRecord

#: Files no map follows: the whole suite may depend on them.
_PACKAGING = ("requirements", "pyproject.toml", "setup.py", "setup.cfg", "tox.ini", "Pipfile")


@dataclass
class Decision:
    """The classes to run and why, or why the whole suite runs."""

    whole: str = ""
    reasons: dict[str, str] = field(default_factory=dict)

    def pick(self, classes: Collection[str], why: str) -> None:
        for key in sorted(set(classes) - {OUTSIDE}):
            self.reasons.setdefault(key, why)


@dataclass(frozen=True)
class Situation:
    """What the decision is made from, besides the map."""

    project: Project
    #: Changed files -> their facts now (None: deleted, or not Python).
    changed: Mapping[str, FileFacts | None]
    #: Every class of the suite -> the file it is defined in ("" when unknown).
    classes: Mapping[str, str]
    #: Files imported when Django started, before the tests were loaded.
    startup: Collection[str] = ()
    settings: Collection[str] = ()


def _not_followed(name: str, situation: Situation) -> str:
    base = name.rsplit("/", 1)[-1]
    if name in situation.settings:
        return f"the settings file {name} changed"
    if "migrations" in name.split("/")[:-1]:
        return f"the migration {name} changed"
    if base.startswith(_PACKAGING):
        return f"{name} changed (dependencies or packaging)"
    if not name.endswith(".py"):
        return f"{name} changed, and the map does not follow files that are not Python"
    return ""


def _module_level(
    name: str, change_map: ChangeMap, situation: Situation, decision: Decision
) -> str:
    """Pick what a module-level change of ``name`` can affect; why the whole suite runs ("")."""
    dependents = situation.project.dependents(name)
    loaded = sorted(dependents & {*situation.startup, *situation.settings})
    if loaded:
        via = "" if loaded[0] == name else f" (through {loaded[0]})"
        return f"module-level code of {name} changed, and Django imports it at start-up{via}"
    record = change_map.files.get(name)
    if record is not None and record.ran.get("", set()) - {OUTSIDE}:
        return (
            f"module-level code of {name} changed, and it was first imported while a test ran "
            "(Django loads it by name), so any later test may use it"
        )
    users: set[str] = set()
    test_modules = set(situation.classes.values())
    for path in dependents:
        known = change_map.files.get(path)
        if known is not None:
            users |= known.users()
        if path in test_modules:
            users |= {key for key, where in situation.classes.items() if where == path}
    if record is None and not users and name not in test_modules:
        return f"{name} changed; coverage does not measure it and no test module imports it"
    decision.pick(users, f"it uses {name}, whose module-level code changed")
    return ""


def _functions_only(
    name: str, facts: FileFacts | None, record: FileRecord | None, decision: Decision
) -> bool:
    """Pick the classes that ran the changed functions of ``name``; False when the change
    is not to functions only (its module level changed, or a changed function ran at
    import, computing a constant)."""
    if record is None or facts is None or facts.broken or facts.module != record.module:
        return False
    changed = [
        scope
        for scope, digest in record.scopes.items()
        if getattr(facts.scopes.get(scope), "digest", None) != digest
    ]
    if any(OUTSIDE in record.ran.get(scope, ()) for scope in changed):
        return False
    for scope in changed:
        decision.pick(record.ran.get(scope, set()), f"it ran {name}:{scope}, which changed")
    return True


def decide(change_map: ChangeMap, situation: Situation) -> Decision:
    """The classes the changes can affect (see the module's rules)."""
    decision = Decision()
    for name in sorted(situation.changed):
        why = _not_followed(name, situation)
        if why:
            return Decision(whole=why)
        facts = situation.changed[name]
        mine = [key for key, where in situation.classes.items() if where == name]
        decision.pick(mine, f"its test module {name} changed")
        if _functions_only(name, facts, change_map.files.get(name), decision):
            continue
        why = _module_level(name, change_map, situation, decision)
        if why:
            return Decision(whole=why)
    unknown = [key for key in situation.classes if key not in change_map.classes]
    decision.pick(unknown, "the map does not know it (new, or it failed when recorded)")
    return decision
