"""``--reuse-db``: kept test databases and clones are reused while the schema fingerprint
matches and rebuilt, with one line, whenever a migration is edited, added or removed,
including by switching git branch."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.projects import Run, run_tests
from tests.support.servers import leftover_databases

LABELS = (
    "shop.tests.test_mirror.MirrorInTransactionTestCaseTests",
    "shop.tests.test_mirror.OtherAliasTests",
)
PRICE_MIGRATION = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AddField("item", "price", models.IntegerField(default=0))]
"""
PRICE_TEST = """\
from django.test import TransactionTestCase

from shop.models import Item


class PriceTests(TransactionTestCase):
    databases = {"default", "other"}

    def test_price_column_exists_on_both_aliases(self):
        for alias in ("default", "other"):
            Item.objects.using(alias).create(name="priced", price=5)
            self.assertEqual(Item.objects.using(alias).get().price, 5)
"""


def _reuse(project: Path, backend: str, suffix: str, *labels: str) -> Run:
    env = {"EXAMPLE_DB_SUFFIX": suffix, "DBSETUP_SQLITE_FILES": "1"}
    run = run_tests(
        project, "-v", "2", "--reuse-db", "--parallel", "2", *labels, backend=backend, env=env
    )
    assert run.returncode == 0, run.describe()
    return run


def _lines(run: Run, start: str) -> list[str]:
    return sorted(line for line in run.stderr.splitlines() if line.startswith(start))


def _reused(run: Run) -> None:
    assert [line.split("'")[1] for line in _lines(run, "Using existing test database")] == [
        "default",
        "other",
    ], run.describe()
    assert "Operations to perform" not in run.stdout + run.stderr  # migrate never ran
    assert len(_lines(run, "Using existing clone")) == 4, run.describe()
    assert not _lines(run, "Rebuilding")


def _rebuilt(run: Run) -> None:
    rebuilding = _lines(run, "Rebuilding test database for alias")
    assert [line.split("'")[1] for line in rebuilding] == ["default", "other"], run.describe()
    assert rebuilding[0].endswith(
        "its schema fingerprint does not match (migrations, models or settings changed)."
    )
    assert len(_lines(run, "Cloning test database")) == 4, run.describe()
    assert not _lines(run, "Using existing")


def _git(project: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=project,
        check=True,
        capture_output=True,
    )


def test_reuse_db_reuses_until_the_schema_changes(
    dbsetup_project: Path, backend: str, db_suffix: str
) -> None:
    project, suffix = dbsetup_project, db_suffix
    first = _reuse(project, backend, suffix, *LABELS)
    assert [line.split("'")[1] for line in _lines(first, "Creating test database")] == [
        "default",
        "other",
    ]
    _reused(_reuse(project, backend, suffix, *LABELS))

    migration = project / "shop" / "migrations" / "0001_initial.py"
    migration.write_text(migration.read_text() + "\n# an edit that changes no schema\n")
    _rebuilt(_reuse(project, backend, suffix, *LABELS))
    _reused(_reuse(project, backend, suffix, *LABELS))

    # A branch that adds a migration; the workers' clones must have the new column.
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "main")
    _git(project, "checkout", "-q", "-b", "feature")
    (project / "shop" / "migrations" / "0002_item_price.py").write_text(PRICE_MIGRATION)
    models = project / "shop" / "models.py"
    models.write_text(models.read_text() + "    price = models.IntegerField(default=0)\n")
    (project / "shop" / "tests" / "test_price.py").write_text(PRICE_TEST)
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "feature")
    price_labels = (*LABELS, "shop.tests.test_price")
    on_feature = _reuse(project, backend, suffix, *price_labels)
    _rebuilt(on_feature)
    assert on_feature.outcomes.ran == 3

    _git(project, "checkout", "-q", "main")  # the migration is gone again
    assert not (project / "shop" / "migrations" / "0002_item_price.py").exists()
    _rebuilt(_reuse(project, backend, suffix, *LABELS))
    _reused(_reuse(project, backend, suffix, *LABELS))

    if backend == "sqlite":
        expected = [
            f"test_{alias}{clone}.sqlite3"
            for alias in ("default", "other")
            for clone in ("", "_1", "_2")
        ]
    else:
        expected = [
            f"test_dbsetup_{alias}{suffix}{clone}"
            for alias in ("default", "other")
            for clone in ("", "_1", "_2")
        ]
    assert leftover_databases(project, backend, suffix) == sorted(expected)
