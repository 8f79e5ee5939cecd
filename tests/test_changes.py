"""The change map's pure parts: file facts, the store, recording and the selection rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from django_testkit.changes import facts as facts_module
from django_testkit.changes import record, select, store
from django_testkit.changes.facts import file_facts
from django_testkit.changes.project import Project
from django_testkit.changes.store import OUTSIDE, ChangeMap, FileRecord
from django_testkit.keys import class_context, classes_of_context

SOURCE = b"""\
import os
from . import helpers
from .models import Order as O

LIMIT = 10


def total(items, rate=2):
    return sum(items) * rate


class View:
    template = "a.html"

    @property
    def name(self):
        def inner():
            return "x"
        return inner()

    @name.setter
    def name(self, value):
        pass
"""


def _facts(text: bytes) -> facts_module.FileFacts:
    return file_facts(text, "shop")


def test_scopes_are_named_by_qualified_name_and_span_their_bodies() -> None:
    found = _facts(SOURCE)
    assert set(found.scopes) == {"total", "View.name", "View.name.inner", "View.name#2"}
    assert (found.scopes["total"].first, found.scopes["total"].last) == (9, 9)
    owners = found.owner_of_lines()
    assert owners[9] == "total"
    assert owners[18] == "View.name.inner"
    assert owners[19] == "View.name"
    assert owners[5] == ""  # LIMIT: the module level


def test_imports_are_absolute_and_include_submodules_and_dotted_names() -> None:
    found = _facts(SOURCE + b'ROOT_URLCONF = "config.urls"\nnot_a_module = "two words"\n')
    assert {"os", "shop", "shop.helpers", "shop.models", "shop.models.Order"} <= set(found.imports)
    assert {"config", "config.urls"} <= set(found.imports)
    assert "two words" not in found.imports


def test_moving_code_down_changes_no_digest() -> None:
    before, after = _facts(SOURCE), _facts(b"\n\n# a comment\n" + SOURCE)
    assert before.sha != after.sha
    assert before.module == after.module
    assert {n: s.digest for n, s in before.scopes.items()} == {
        n: s.digest for n, s in after.scopes.items()
    }


@pytest.mark.parametrize(
    ("old", "new", "scope_changed", "module_changed"),
    [
        (b"return sum(items) * rate", b"return sum(items) / rate", "total", False),
        (b"rate=2", b"rate=3", "total", False),  # a default: only callers see it
        (b"LIMIT = 10", b"LIMIT = 11", None, True),
        (b'template = "a.html"', b'template = "b.html"', None, True),
        (b"    @property\n", b"    @staticmethod\n", "View.name", True),
        (b"import os\n", b"import sys\n", None, True),
    ],
)
def test_an_edit_changes_its_function_or_the_module_level(
    old: bytes, new: bytes, scope_changed: str | None, module_changed: bool
) -> None:
    before, after = _facts(SOURCE), _facts(SOURCE.replace(old, new))
    changed = {n for n, s in before.scopes.items() if after.scopes[n].digest != s.digest}
    assert changed == ({scope_changed} if scope_changed else set())
    assert (before.module != after.module) is module_changed


def test_a_file_that_does_not_parse_is_broken() -> None:
    assert _facts(b"def (:\n").broken


def test_context_labels_name_classes() -> None:
    assert classes_of_context(class_context("a.B")) == ("a.B",)
    assert classes_of_context(class_context("a.B", "c.D")) == ("a.B", "c.D")
    assert classes_of_context("static|" + class_context("a.B")) == ("a.B",)
    assert classes_of_context("app.tests.T.test_one") == ("app.tests.T",)
    assert classes_of_context("") == ()


def _map() -> ChangeMap:
    return ChangeMap(
        commit="c" * 40,
        configuration="config.settings",
        classes={"t.A", "t.B", "t.C"},
        files={
            "shop/views.py": FileRecord(
                "sha",
                "mod",
                {"total": "d1", "other": "d2", "setup": "d3"},
                {"total": {"t.A"}, "other": {"t.B"}, "setup": {OUTSIDE}, "": {OUTSIDE}},
            ),
            "shop/lazy.py": FileRecord("sha", "mod", {}, {"": {"t.C"}}),
        },
    )


def test_the_store_round_trips_and_refuses_other_documents(tmp_path: Path) -> None:
    path = tmp_path / "map.json"
    store.save(path, _map())
    loaded, problem = store.load(path)
    assert problem == ""
    assert loaded == _map()
    path.write_text('{"kind": "something else"}')
    assert store.load(path)[0] is None
    assert "is not one this version can read" in store.load(path)[1]
    assert "no change map" in store.load(tmp_path / "missing.json")[1]


def _project(imports: dict[str, tuple[str, ...]]) -> Project:
    by_module = {
        "shop.views": "shop/views.py",
        "shop.lazy": "shop/lazy.py",
        "shop.util": "shop/util.py",
        "config.settings": "config/settings.py",
        "t": "t.py",
        "u": "u.py",
    }
    return Project(
        Path("/r"),
        list(by_module.values()),
        by_module,
        {},
        {path: ("sha", modules) for path, modules in imports.items()},
    )


def _facts_like(module: str = "mod", **digests: str) -> facts_module.FileFacts:
    scopes = {
        name: facts_module.Scope(10 * index + 1, 10 * index + 5, digest)
        for index, (name, digest) in enumerate(digests.items())
    }
    return facts_module.FileFacts("new", module, scopes)


def _decide(changed: dict[str, facts_module.FileFacts | None], **extra: object) -> select.Decision:
    imports = extra.pop("imports", {"t.py": ("shop.util",), "shop/views.py": ("shop.util",)})
    situation = select.Situation(
        project=_project(imports),  # type: ignore[arg-type]
        changed=changed,
        classes={"t.A": "t.py", "t.B": "t.py", "t.C": "u.py", "t.New": "u.py"},
        **extra,  # type: ignore[arg-type]
    )
    return select.decide(_map(), situation)


def test_a_changed_function_selects_the_classes_that_ran_it() -> None:
    decision = _decide({"shop/views.py": _facts_like(total="new", other="d2", setup="d3")})
    assert decision.whole == ""
    assert set(decision.reasons) == {"t.A", "t.New"}
    assert decision.reasons["t.A"] == "it ran shop/views.py:total, which changed"
    assert decision.reasons["t.New"].startswith("the map does not know it")


def test_a_removed_function_counts_as_changed() -> None:
    decision = _decide({"shop/views.py": _facts_like(total="d1", setup="d3")})
    assert set(decision.reasons) == {"t.B", "t.New"}


def test_a_function_run_at_import_changes_the_module_level() -> None:
    decision = _decide({"shop/views.py": _facts_like(total="d1", other="d2", setup="new")})
    # Users of views.py and of what imports it; the test module t.py imports util, not views.
    assert set(decision.reasons) == {"t.A", "t.B", "t.New"}
    assert "module-level code changed" in decision.reasons["t.A"]


def test_a_module_level_change_selects_users_and_importers() -> None:
    decision = _decide({"shop/util.py": None})
    # util.py is not measured: the test module importing it and the users of views.py.
    assert set(decision.reasons) == {"t.A", "t.B", "t.New"}


def test_a_module_first_imported_by_a_test_selects_everything() -> None:
    decision = _decide({"shop/lazy.py": _facts_like(module="other")})
    assert "first imported while a test ran" in decision.whole


def test_a_module_django_loads_at_start_up_selects_everything() -> None:
    decision = _decide(
        {"shop/util.py": _facts_like(module="other")},
        imports={"config/settings.py": ("shop.util",)},
        startup=("config/settings.py",),
    )
    assert decision.whole == (
        "module-level code of shop/util.py changed, and Django imports it at start-up "
        "(through config/settings.py)"
    )


def test_a_file_nobody_imports_and_coverage_does_not_measure_selects_everything() -> None:
    decision = _decide({"scripts/tool.py": _facts_like()}, imports={})
    assert decision.whole.endswith("coverage does not measure it and no test module imports it")


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("config/settings.py", "the settings file config/settings.py changed"),
        ("shop/migrations/0002_x.py", "the migration shop/migrations/0002_x.py changed"),
        ("requirements-dev.txt", "requirements-dev.txt changed (dependencies or packaging)"),
        ("pyproject.toml", "pyproject.toml changed (dependencies or packaging)"),
        (
            "templates/base.html",
            "templates/base.html changed, and the map does not follow files that are not Python",
        ),
    ],
)
def test_what_no_map_follows_selects_everything(name: str, why: str) -> None:
    decision = _decide({name: None}, settings=("config/settings.py",))
    assert decision.whole == why


def test_a_changed_test_module_selects_its_classes() -> None:
    decision = _decide({"u.py": _facts_like()}, imports={})
    assert set(decision.reasons) == {"t.C", "t.New"}
    assert decision.reasons["t.C"] == "its test module u.py changed"


def _recorded(**fields: object) -> record.Recorded:
    values: dict[str, object] = {
        "passed": frozenset({"t.A"}),
        "failed": frozenset(),
        "complete": True,
        "configuration": "config.settings",
    }
    values.update(fields)
    return record.Recorded(**values)  # type: ignore[arg-type]


def test_recording_replaces_what_a_class_ran_and_forgets_failed_classes() -> None:
    old = _map()
    now = _facts_like(total="d1", other="d2")
    seen = {"shop/views.py": {1: {"t.A"}}}
    new = record.update(
        old, seen, {"shop/views.py": now}, _recorded(failed=frozenset({"t.B"})), ("h", {}), {}
    )
    assert new.classes == {"t.A", "t.C"}  # t.B failed: unknown, so always run
    assert new.files["shop/views.py"].ran["total"] == {"t.A"}
    assert new.files["shop/views.py"].ran.get("other", set()) == set()
    assert new.commit == "h"


def test_a_partial_recording_keeps_the_state_and_the_old_facts() -> None:
    old = _map()
    now = _facts_like(module="changed", total="x")
    new = record.update(
        old,
        {"shop/views.py": {1: {"t.A"}}},
        {"shop/views.py": now},
        _recorded(complete=False),
        ("h", {}),
        {},
    )
    assert new.commit == "c" * 40
    assert new.files["shop/views.py"].module == "mod"


def test_a_map_of_another_configuration_starts_over() -> None:
    new = record.update(_map(), {}, {}, _recorded(configuration="other.settings"), ("h", {}), {})
    assert new.files == {}
    assert new.classes == {"t.A"}


def test_a_large_project_writes_a_small_map(tmp_path: Path) -> None:
    """5,000 tests in 1,000 classes, 2,000 files of 15 functions, each run by 5 classes."""
    classes = [f"app{n % 50}.tests.test_m{n}.Case{n}Tests" for n in range(1000)]
    files = {}
    for number in range(2000):
        scopes = {f"Class{k}.method_{k}": f"{number:08x}{k:08x}" for k in range(15)}
        ran = {
            name: {classes[(number * 7 + k * 13 + j) % 1000] for j in range(5)}
            for k, name in enumerate(scopes)
        }
        ran[""] = {OUTSIDE}
        files[f"app{number % 50}/module_{number}.py"] = FileRecord("a" * 20, "b" * 16, scopes, ran)
    imports = {name: ("c" * 20, tuple(f"app{i}.module_{i}" for i in range(12))) for name in files}
    big = ChangeMap("d" * 40, {}, "config.settings", set(classes), files, imports)
    path = tmp_path / "map.json"
    store.save(path, big)
    assert path.stat().st_size < 8 * 1024 * 1024
    assert store.load(path)[0] == big
