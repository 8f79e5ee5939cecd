"""Unit tests of what the --reuse-db fingerprint and state row decide (no database)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import django
import pytest

from django_testkit.databases.fingerprint import _serialized
from django_testkit.databases.importscan import (
    imported_names,
    imported_project_files,
    is_project_file,
)
from django_testkit.databases.state import StoredState, refusal

FINGERPRINT = "f" * 64


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        (None, "it has no state row"),
        (
            StoredState("0" * 64, "test_app", True),
            "its schema fingerprint does not match (migrations, models or settings changed)",
        ),
        (
            StoredState(FINGERPRINT, "test_app", True),
            "it holds the state of 'test_app' (a copy that never finished)",
        ),
        (
            StoredState(FINGERPRINT, "test_app_1", False),
            "the last run using it did not finish (killed or interrupted), so it may hold "
            "rows its tests left",
        ),
        (StoredState(FINGERPRINT, "test_app_1", True), None),
    ],
    ids=["no-row", "other-schema", "copied-row", "dirty", "reusable"],
)
def test_refusal_names_the_first_reason_not_to_reuse(
    stored: StoredState | None, reason: str | None
) -> None:
    assert refusal(stored, FINGERPRINT, "test_app_1") == reason


def test_imported_names_cover_every_form_of_import() -> None:
    source = (
        "import a.b.c\n"
        "from d import e, f as g\n"
        "from . import sibling\n"
        "from ..up import thing\n"
        "from .star import *\n"
        "def later():\n"
        "    from h.i import j\n"
    )
    names = set(imported_names(source, "pkg.migrations"))
    assert names == {
        "a",
        "a.b",
        "a.b.c",
        "d",
        "d.e",
        "d.f",
        "pkg",
        "pkg.migrations",
        "pkg.migrations.sibling",
        "pkg.up",
        "pkg.up.thing",
        "pkg.migrations.star",
        "h",
        "h.i",
        "h.i.j",
    }


def test_imported_names_of_unparsable_source_is_empty() -> None:
    assert list(imported_names("def (:\n", "pkg")) == []


def test_library_files_are_not_project_files(tmp_path: Path) -> None:
    assert not is_project_file(json.__file__)
    assert not is_project_file(django.__file__)
    (tmp_path / "mine.py").write_text("")
    assert is_project_file(tmp_path / "mine.py")
    assert not is_project_file(tmp_path / "data.json")


def test_imported_project_files_follow_project_modules_transitively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = f"fp_{uuid.uuid4().hex[:8]}"
    root = tmp_path / package
    (root / "migrations").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "migrations" / "__init__.py").write_text("")
    migration = root / "migrations" / "0002_seed.py"
    # Imported only inside the function RunPython calls.
    migration.write_text(f"def seed(apps, schema_editor):\n    from {package} import helper\n")
    (root / "helper.py").write_text("import json\nimport django\nfrom . import values\n")
    (root / "values.py").write_text("NAMES = ['alpha']\n")
    (root / "unrelated.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))

    found = imported_project_files([(migration, f"{package}.migrations")])

    assert found == {root / "__init__.py", root / "helper.py", root / "values.py"}


def test_serialized_fields_spell_what_a_migration_would() -> None:
    from django.db import models

    assert _serialized(models.CharField(max_length=100)) == "models.CharField(max_length=100)"
    assert _serialized(models.BigAutoField(primary_key=True)) != _serialized(
        models.AutoField(primary_key=True)
    )


def test_serialized_unwritable_values_carry_no_address() -> None:
    class Opaque:
        pass

    first, second = Opaque(), Opaque()
    assert _serialized(first) == _serialized(second)
    assert "0x" not in _serialized(first)


def test_serialized_sets_do_not_depend_on_the_hash_seed() -> None:
    together = {("name", "kind"), ("code", "shop"), ("a", "b")}
    assert _serialized(together) == "{('a', 'b'), ('code', 'shop'), ('name', 'kind')}"
