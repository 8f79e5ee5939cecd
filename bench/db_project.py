"""Generate a multi-database PostgreSQL Django project for bench/db_setup.py.

Four aliases in two independent TEST DEPENDENCIES chains (``default`` <- ``reports``,
``archive`` <- ``search``), one app per alias with a long migration history (about
30 migrations each: AddField, AlterField, AddIndex, CreateModel and RunPython data
migrations after a three-model 0001), a router that keeps each app on its alias, and
a few ``TestCase`` tests per app that use only that app's alias, so a test run needs
all four test databases.

The output is a function of the arguments alone. The generated settings read, at
run time:

``BENCH_TEST_RUNNER``
    the test runner (default ``django_testkit.TestkitRunner``);
``BENCH_DB_PREFIX``
    the start of every TEST NAME (TEST NAME = prefix + alias), so that concurrent or
    successive benchmark runs, and the two runners, never share a test database;
``BENCH_PG_HOST``, ``BENCH_PG_PORT``, ``BENCH_PG_USER``
    where PostgreSQL is (a password, if any, comes from libpq's ``PGPASSWORD``).

Also usable by hand: ``python bench/db_project.py DEST [--migrations 30]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from project_templates import MANAGE_PY, PROJECT_PACKAGE
from projectgen import DEFAULT_CONTRIB_APPS, DEFAULT_RUNNER, RUNNER_ENV, write_project

PREFIX_ENV = "BENCH_DB_PREFIX"
HOST_ENV = "BENCH_PG_HOST"
PORT_ENV = "BENCH_PG_PORT"
USER_ENV = "BENCH_PG_USER"

#: alias -> (app label, TEST DEPENDENCIES)
ALIASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "default": ("core", ()),
    "reports": ("reports", ("default",)),
    "archive": ("archive", ()),
    "search": ("search", ("archive",)),
}
DEFAULT_MIGRATIONS = 30
TESTS_PER_APP = 3
#: What migrations 0002, 0003, ... do, cycled.
STEP_KINDS = ("add_field", "alter_field", "add_index", "create_model", "add_field", "run_python")
ID_FIELD = (
    'models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")'
)
#: Field types AddField adds, cycled, and what a later AlterField turns each into.
ADDED_FIELDS = (
    "models.IntegerField(default=0)",
    'models.CharField(blank=True, default="", max_length=32)',
    "models.BooleanField(default=False)",
)
ALTERED_FIELDS = {
    "models.IntegerField(default=0)": "models.BigIntegerField(default=0)",
    'models.CharField(blank=True, default="", max_length=32)': (
        'models.CharField(blank=True, db_index=True, default="", max_length=64)'
    ),
    "models.BooleanField(default=False)": "models.BooleanField(default=True)",
}


def total_tests() -> int:
    return TESTS_PER_APP * len(ALIASES)


@dataclass
class _Model:
    name: str
    fields: dict[str, str]
    indexes: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass
class _History:
    """An app's models as its migrations so far leave them, and the migration files."""

    label: str
    models: dict[str, _Model] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    unaltered: list[tuple[str, str]] = field(default_factory=list)
    added: int = 0

    @property
    def last_name(self) -> str:
        return list(self.files)[-1]


def _create_model(model: _Model) -> str:
    fields = [("id", ID_FIELD), *model.fields.items()]
    lines = "".join(f'                ("{name}", {code}),\n' for name, code in fields)
    return (
        f'migrations.CreateModel(\n            name="{model.name}",\n'
        f"            fields=[\n{lines}            ],\n        )"
    )


def _initial_models(label: str) -> list[_Model]:
    return [
        _Model(
            "Record",
            {
                "name": "models.CharField(db_index=True, max_length=100)",
                "value": "models.IntegerField(default=0)",
                "created": "models.DateTimeField(auto_now_add=True)",
            },
        ),
        _Model("Tag", {"name": "models.CharField(max_length=50, unique=True)"}),
        _Model(
            "Entry",
            {
                "record": f'models.ForeignKey(on_delete=models.CASCADE, to="{label}.record")',
                "tag": (
                    f'models.ForeignKey(null=True, on_delete=models.SET_NULL, to="{label}.tag")'
                ),
                "note": "models.TextField(blank=True)",
            },
        ),
    ]


def _step(history: _History, number: int) -> tuple[str, list[str], str]:
    """Apply migration ``number``'s change to ``history``: (name, operations, helpers)."""
    label = history.label
    kind = STEP_KINDS[(number - 2) % len(STEP_KINDS)]
    names = list(history.models)
    if kind == "alter_field" and history.unaltered:
        owner, name = history.unaltered.pop(0)
        code = ALTERED_FIELDS[history.models[owner].fields[name]]
        history.models[owner].fields[name] = code
        operation = (
            f'migrations.AlterField(model_name="{owner.lower()}", name="{name}", field={code})'
        )
        return f"{number:04d}_alter_{owner.lower()}_{name}", [operation], ""
    if kind == "add_index":
        model = history.models[names[number % len(names)]]
        indexed = [list(model.fields)[-1]]
        index_name = f"{label[:6]}_{model.name.lower()[:8]}_i{number:02d}"
        model.indexes.append((index_name, indexed))
        operation = (
            f'migrations.AddIndex(model_name="{model.name.lower()}", '
            f"index=models.Index(fields={indexed!r}, name={index_name!r}))"
        ).replace("'", '"')
        return f"{number:04d}_{model.name.lower()}_index", [operation], ""
    if kind == "create_model":
        model = _Model(
            f"Detail{number:02d}",
            {
                "record": f'models.ForeignKey(on_delete=models.CASCADE, to="{label}.record")',
                "label": "models.CharField(max_length=64)",
                "amount": "models.IntegerField(default=0)",
            },
        )
        history.models[model.name] = model
        return f"{number:04d}_{model.name.lower()}", [_create_model(model)], ""
    if kind == "run_python":
        helpers = (
            "def seed(apps, schema_editor):\n"
            "    alias = schema_editor.connection.alias\n"
            f'    Tag = apps.get_model("{label}", "Tag")\n'
            f'    Record = apps.get_model("{label}", "Record")\n'
            f'    Tag.objects.using(alias).get_or_create(name="seed-{number:04d}")\n'
            "    Record.objects.using(alias).filter(value__lt=0).update(value=0)\n"
        )
        operation = "migrations.RunPython(seed, migrations.RunPython.noop)"
        return f"{number:04d}_seed_tags", [operation], helpers
    # add_field, and alter_field with nothing left to alter
    model = history.models[names[history.added % len(names)]]
    code = ADDED_FIELDS[history.added % len(ADDED_FIELDS)]
    name = f"extra_{number:02d}"
    history.added += 1
    model.fields[name] = code
    history.unaltered.append((model.name, name))
    operation = (
        f'migrations.AddField(model_name="{model.name.lower()}", name="{name}", field={code})'
    )
    return f"{number:04d}_{model.name.lower()}_{name}", [operation], ""


def _migration_file(
    dependencies: list[tuple[str, str]], operations: list[str], helpers: str = ""
) -> str:
    deps = "".join(f'\n        ("{app}", "{name}"),' for app, name in dependencies)
    deps += "\n    " if deps else ""
    ops = "".join(f"        {operation},\n" for operation in operations)
    initial = "" if dependencies else "    initial = True\n\n"
    return (
        '"""Generated by bench/db_project.py."""\n\nfrom django.db import migrations, models\n\n'
        + (f"\n{helpers}\n" if helpers else "")
        + f"\nclass Migration(migrations.Migration):\n{initial}"
        + f"    dependencies = [{deps}]\n\n    operations = [\n{ops}    ]\n"
    )


def app_history(label: str, migrations: int = DEFAULT_MIGRATIONS) -> _History:
    """All migration files of app ``label`` and the model state they end in."""
    if migrations < 1:
        raise ValueError("an app needs at least one migration")
    history = _History(label)
    initial = _initial_models(label)
    history.models = {model.name: model for model in initial}
    history.files["0001_initial"] = _migration_file(
        [], [_create_model(model) for model in initial]
    )
    for number in range(2, migrations + 1):
        previous = history.last_name
        name, operations, helpers = _step(history, number)
        history.files[name] = _migration_file([(label, previous)], operations, helpers)
    return history


def render_models(history: _History) -> str:
    blocks = ['"""Generated by bench/db_project.py."""\n\nfrom django.db import models\n']
    for model in history.models.values():
        lines = [f"class {model.name}(models.Model):"]
        lines += [f"    {name} = {code}" for name, code in model.fields.items()]
        if model.indexes:
            lines += ["", "    class Meta:", "        indexes = ["]
            lines += [
                f'            models.Index(fields={fields!r}, name="{name}"),'.replace("'", '"')
                for name, fields in model.indexes
            ]
            lines.append("        ]")
        blocks.append("\n".join(lines) + "\n")
    return "\n\n".join(blocks)


def render_tests(alias: str, label: str) -> str:
    return f'''"""Generated by bench/db_project.py."""

from django.test import TestCase

from {label}.models import Entry, Record, Tag


class {label.capitalize()}Tests(TestCase):
    databases = {{"{alias}"}}

    def test_create_and_read(self):
        Record.objects.create(name="alpha", value=3)
        self.assertEqual(Record.objects.get(name="alpha").value, 3)

    def test_entry_links_record(self):
        record = Record.objects.create(name="beta")
        tag = Tag.objects.create(name="bench-tag")
        Entry.objects.create(record=record, tag=tag, note="note")
        self.assertEqual(Entry.objects.filter(record__name="beta").count(), 1)

    def test_data_migrations_ran(self):
        self.assertTrue(Tag.objects.filter(name__startswith="seed-").exists())
'''


ROUTER_PY = '''"""Generated by bench/db_project.py: every app lives on its own alias."""

APP_DATABASES = {app_databases}


def _alias(app_label):
    return APP_DATABASES.get(app_label, "default")


class AppRouter:
    def db_for_read(self, model, **hints):
        return _alias(model._meta.app_label)

    def db_for_write(self, model, **hints):
        return _alias(model._meta.app_label)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == _alias(app_label)
'''

SETTINGS_TEMPLATE = '''"""Settings of a generated benchmark project (bench/db_project.py)."""

import os

SECRET_KEY = "bench-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = []
INSTALLED_APPS = {apps}
TEST_PREFIX = os.environ.get("{prefix_env}", "test_bench_manual_")
DEPENDENCIES = {dependencies}
DATABASES = {{
    alias: {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": f"bench_{{alias}}",
        "HOST": os.environ.get("{host_env}", "127.0.0.1"),
        "PORT": os.environ.get("{port_env}", "5432"),
        "USER": os.environ.get("{user_env}", "postgres"),
        "TEST": {{"NAME": f"{{TEST_PREFIX}}{{alias}}", "DEPENDENCIES": dependencies}},
    }}
    for alias, dependencies in DEPENDENCIES.items()
}}
DATABASE_ROUTERS = ["{package}.routers.AppRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TEST_RUNNER = os.environ.get("{runner_env}", "{runner}")
'''


def render_settings() -> str:
    apps = [*DEFAULT_CONTRIB_APPS, *(label for label, _ in ALIASES.values())]
    dependencies = {alias: list(deps) for alias, (_, deps) in ALIASES.items()}
    return SETTINGS_TEMPLATE.format(
        apps=repr(apps).replace("'", '"'),
        dependencies=repr(dependencies).replace("'", '"'),
        prefix_env=PREFIX_ENV,
        host_env=HOST_ENV,
        port_env=PORT_ENV,
        user_env=USER_ENV,
        package=PROJECT_PACKAGE,
        runner_env=RUNNER_ENV,
        runner=DEFAULT_RUNNER,
    )


def render_project(migrations: int = DEFAULT_MIGRATIONS) -> dict[str, str]:
    """Return ``{relative path: file text}`` for the whole project, in a stable order."""
    app_databases = {label: alias for alias, (label, _) in ALIASES.items()}
    files = {
        "manage.py": MANAGE_PY,
        f"{PROJECT_PACKAGE}/__init__.py": "",
        f"{PROJECT_PACKAGE}/settings.py": render_settings(),
        f"{PROJECT_PACKAGE}/routers.py": ROUTER_PY.format(
            app_databases=repr(app_databases).replace("'", '"')
        ),
    }
    for alias, (label, _) in ALIASES.items():
        history = app_history(label, migrations)
        files[f"{label}/__init__.py"] = ""
        files[f"{label}/models.py"] = render_models(history)
        files[f"{label}/tests.py"] = render_tests(alias, label)
        files[f"{label}/migrations/__init__.py"] = ""
        for name, text in history.files.items():
            files[f"{label}/migrations/{name}.py"] = text
    return files


def generate_project(dest: Path, migrations: int = DEFAULT_MIGRATIONS) -> Path:
    """Write the project into ``dest`` (absent or empty); return ``dest``."""
    return write_project(render_project(migrations), dest)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the multi-database benchmark project.")
    parser.add_argument("dest", type=Path, help="directory to create (absent or empty)")
    parser.add_argument("--migrations", type=int, default=DEFAULT_MIGRATIONS, help="per app")
    args = parser.parse_args(argv)
    generate_project(args.dest, args.migrations)
    print(f"wrote {len(ALIASES)} apps with {args.migrations} migrations each to {args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
