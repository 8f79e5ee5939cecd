"""``--changed`` and the change map in a run: which tests to keep, and recording what ran.

Selecting reads the map beside the durations store, asks git what changed since
the map's state (and since ``--changed REF``), and keeps the tests of the classes
:mod:`django_testkit.changes.select` names, or all of them with one line saying why.
A measured run records the map after its coverage reports (never a shard's part).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django_testkit import files, git
from django_testkit.changes import project, record, select, store, tree
from django_testkit.exceptions import ConfigurationError
from django_testkit.keys import key_of
from django_testkit.parallel import failures
from django_testkit.parallel.durations import durations_path

#: Outputs of runs, never sources: a change to them affects no test.
_OUTPUTS = (".coverage", "htmlcov/", "__pycache__/", ".pytest_cache/")


def map_file(config: Any) -> Path:
    return store.map_path(durations_path(config))


def configuration() -> str:
    """What a map is only valid for: the settings module the tests ran with."""
    return os.environ.get("DJANGO_SETTINGS_MODULE", "")


def _module_file(name: str, root: Path) -> str | None:
    """The project file (relative to ``root``) of the loaded module ``name``, if any."""
    path = getattr(sys.modules.get(name), "__file__", None)
    return record.relative(root, path) if path else None


def startup_files(modules: Iterable[str], root: Path) -> set[str]:
    """The project files of the modules ``modules`` names (those loaded before the tests)."""
    return {found for name in modules if (found := _module_file(name, root)) is not None}


def _import_roots(root: Path) -> list[Path]:
    return [Path(entry or os.getcwd()) for entry in sys.path if _inside(Path(entry or "."), root)]


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return False
    return True


def _outputs(config: Any, root: Path) -> list[str]:
    """What the run writes (the stores' folder, its reports), relative to ``root``."""
    written = [map_file(config).parent]
    written += [
        Path(value) for value in (config.junit_xml, config.timeline, config.artifacts) if value
    ]
    relative = (record.relative(root, str(files.project_dir() / path)) for path in written)
    return [name for name in relative if name]


def _ignored(name: str, outputs: list[str]) -> bool:
    if any(name == output or name.startswith(output.rstrip("/") + "/") for output in outputs):
        return True
    base = name.rsplit("/", 1)[-1]
    return (
        base.startswith(".coverage")
        or base.endswith((".pyc", ".pyo"))
        or any(part + "/" in _OUTPUTS for part in name.split("/")[:-1])
    )


def _changed_files(runner: Any, change_map: store.ChangeMap, root: Path) -> tuple[set[str], str]:
    """Files that differ from the map's state (and from ``--changed REF``); what since."""
    since = change_map.commit[:8]
    changed = tree.changed_since(root, change_map.commit)
    # Files uncommitted when the map was recorded changed only if they differ from then.
    for name, sha in change_map.uncommitted.items():
        now = tree.file_sha(root / name)
        if now == sha:
            changed.discard(name)
        else:
            changed.add(name)
    ref = runner.config.changed
    if ref:
        changed |= tree.changed_since(root, check_base(ref) or ref)
        since = ref
    outputs = _outputs(runner.config, root)
    return {name for name in changed if not _ignored(name, outputs)}, since


@functools.cache
def check_base(ref: str) -> str | None:
    """The commit ``--changed REF`` names (None outside git); one line when it names none."""
    root = tree.repository_root(files.project_dir())
    if root is None or not ref:
        return None
    commit = git.commit_of(ref, root)
    if commit is None:
        label = os.path.exists(ref) or importlib.util.find_spec(ref.split(".")[0]) is not None
        hint = (
            f"; if {ref!r} is a test label, put it before --changed (--changed takes an "
            "optional REF)"
            if label
            else ""
        )
        raise ConfigurationError(
            f"--changed / settings.TESTKIT['CHANGED'] = {ref!r} is not a commit in the git "
            f"repository at {root}; use a branch, tag or commit such as origin/main{hint}."
        )
    return commit


def decide(runner: Any, tests: list[Any]) -> tuple[select.Decision, str]:
    """Which classes of ``tests`` to run (or why all), and the "since" of the summary."""
    root = tree.repository_root(files.project_dir())
    if root is None:
        return select.Decision(whole="the project is not in a git repository"), ""
    change_map, problem = store.load(map_file(runner.config))
    if change_map is None:
        return select.Decision(whole=problem), ""
    if change_map.configuration != configuration():
        return select.Decision(
            whole=f"the change map was recorded with settings {change_map.configuration!r}"
        ), ""
    if not change_map.commit:
        return select.Decision(whole="the change map was recorded before the first commit"), ""
    try:
        changed, since = _changed_files(runner, change_map, root)
    except tree.GitError as exc:
        return select.Decision(whole=f"git could not tell what changed ({exc})"), ""
    scanned = project.scan(root, _import_roots(root), change_map.imports)
    facts = record.read_facts(root, changed, scanned.packages, scanned.parsed)
    situation = select.Situation(
        project=scanned,
        changed={name: facts.get(name) for name in changed},
        classes={key_of(test): _module_file(type(test).__module__, root) or "" for test in tests},
        startup=startup_files(runner.startup_modules, root),
        settings=startup_files([configuration()], root),
    )
    decision = select.decide(change_map, situation)
    return decision, f"{len(changed):,} file{'s' if len(changed) != 1 else ''} since {since}"


def keep(runner: Any, tests: list[Any]) -> list[Any]:
    """The tests ``--changed`` runs, in their order; logs the summary line (and why, at -v 2)."""
    decision, since = decide(runner, tests)
    total = len(tests)
    prefix = f"Changed: {since}; " if since else "Changed: "
    if decision.whole:
        runner.log(f"{prefix}running all {total:,} tests: {decision.whole}.")
        return tests
    kept = [test for test in tests if key_of(test) in decision.reasons]
    classes = len({key_of(test) for test in kept})
    runner.log(
        f"{prefix}running {len(kept):,} of {total:,} tests ({classes:,} "
        f"{'class' if classes == 1 else 'classes'}); {total - len(kept):,} not affected."
    )
    if runner.verbosity >= 2:
        shown = dict.fromkeys(key_of(test) for test in kept)
        for key in shown:
            runner.log(f"  {key}: {decision.reasons[key]}")
    return kept


def record_map(runner: Any, result: Any, complete: bool) -> None:
    """Add what this run measured to the map; a map that cannot be written is a warning.

    ``complete``: the run ended normally with all its coverage data. The map's state
    moves on only when the run also covered every class a change could affect: the
    whole suite, or ``--changed`` narrowed by nothing else.
    """
    if not runner.coverage.records_map or runner.shard is not None or not runner.measured:
        return
    config = runner.config
    filtered = runner.labels or runner.tags or runner.exclude_tags or runner.test_name_patterns
    narrowed_by_changed_only = (
        config.changed is not None and not filtered and not config.last_failed
    )
    complete = complete and (runner.whole_selection or narrowed_by_changed_only)
    root = tree.repository_root(files.project_dir())
    if root is None:
        return
    failed = failures.failed_in(result)
    failed_classes = {name.rpartition(".")[0] for name in failed.tests}
    ran = set(runner.measured)
    bad = frozenset(key for key in ran if key in failed_classes or failed.matches(f"{key}.-"))
    path = map_file(runner.config)
    old, _ = store.load(path)
    try:
        data = runner.coverage.data()
        seen = record.observed(data, root)
        scanned = project.scan(root, _import_roots(root), old.imports if old else None)
        commit = tree.head_commit(root)
        state = (commit, tree.uncommitted(root, commit))
        facts = record.read_facts(root, seen, scanned.packages, scanned.parsed)
        run = record.Recorded(
            frozenset(ran - bad), bad, complete and bool(commit), configuration()
        )
        new = record.update(old, seen, facts, run, state, scanned.imports)
        store.save(path, new)
    except (OSError, tree.GitError) as exc:
        runner.log(f"Could not record the change map in {path}: {exc}", level=logging.WARNING)
