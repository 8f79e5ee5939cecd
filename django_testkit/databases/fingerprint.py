"""The schema fingerprint: a hash of everything that decides a test database's schema.

``--reuse-db`` keeps a test database only while this hash is unchanged. It
covers:

- the bytes of every migration file of every installed app (so editing,
  adding or removing a migration, or switching branch, changes it);
- the project's own modules those migrations import, transitively (a data
  migration's helper, a custom field): the code migrating actually runs;
- the schema itself, as Django sees it: every model of the migration graph's
  final project state, and every model of the apps without migrations
  (``migrate --run-syncdb`` builds their tables from the models), each with
  its options (``db_table``...) and its fields' definitions; so a setting
  that changes a table without changing a file (``DEFAULT_AUTO_FIELD``, a
  ``db_table`` read from settings) changes it too;
- the source files of those models and of project-defined field classes, the
  routers' source (they decide which alias gets which table);
- the settings that shape the schema: INSTALLED_APPS (in order),
  MIGRATION_MODULES, DATABASE_ROUTERS, CACHES, each app's default auto field,
  the alias's ENGINE and TEST options, and the Django version.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import json
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from django_testkit.databases.importscan import imported_project_files, is_project_file

#: TEST keys that do not change what a database contains.
_NEUTRAL_TEST_KEYS = {"NAME", "MIRROR", "DEPENDENCIES", "SERIALIZE"}


def schema_fingerprint(alias: str, settings_dict: Mapping[str, Any]) -> str:
    """The fingerprint of ``alias``'s test database schema, as 64 hex digits."""
    digest = hashlib.sha256(project_fingerprint().encode())
    test = settings_dict.get("TEST") or {}
    alias_state = {
        "alias": alias,
        "engine": settings_dict.get("ENGINE"),
        "test": {key: value for key, value in test.items() if key not in _NEUTRAL_TEST_KEYS},
    }
    digest.update(json.dumps(alias_state, sort_keys=True, default=str).encode())
    return digest.hexdigest()


@functools.cache
def project_fingerprint() -> str:
    """The part every alias shares: files and settings; computed once per process."""
    import django
    from django.apps import apps
    from django.conf import settings

    digest = hashlib.sha256()

    def add(label: str, value: object) -> None:
        digest.update(f"{label}={json.dumps(value, sort_keys=True, default=str)}\n".encode())

    add("django", django.VERSION)
    add("installed_apps", [config.name for config in apps.get_app_configs()])
    add("migration_modules", getattr(settings, "MIGRATION_MODULES", {}))
    add("routers", [_router_name(router) for router in settings.DATABASE_ROUTERS])
    add("caches", getattr(settings, "CACHES", {}))
    add(
        "auto_fields",
        {config.label: config.default_auto_field for config in apps.get_app_configs()},
    )
    schema, field_files = _schema()
    add("schema", schema)
    files: set[Path] = set(field_files)
    migration_sources: list[tuple[Path, str]] = []
    for router in settings.DATABASE_ROUTERS:
        if isinstance(router, str):
            files.update(_module_files(router.rpartition(".")[0]))
        else:
            files.update(_source_files([router]))
    for config in apps.get_app_configs():
        migration_files = _migration_files(config.label)
        if migration_files is None:
            files.update(_source_files(config.get_models(include_auto_created=True)))
        else:
            add(f"migrations:{config.label}", sorted(path.name for path in migration_files))
            files.update(migration_files)
            package = _migrations_package(config.label)
            migration_sources += [
                (path, package) for path in migration_files if is_project_file(path)
            ]
    files.update(imported_project_files(migration_sources))
    for path in sorted(files):
        digest.update(f"file={path}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _schema() -> tuple[list[str], set[Path]]:
    """Every model's state as migrating would build it, rendered deterministically, and
    the project files that define their field classes.

    Migrated apps: the migration graph's final project state. Apps without
    migrations: their models as they are now. A graph that cannot be loaded
    gives its error (the build will then report it properly).
    """
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.state import ModelState

    try:
        loader = MigrationLoader(None, ignore_no_migrations=True)
        states = dict(loader.project_state().models)
    except Exception as exc:
        return [f"unloadable migrations: {type(exc).__name__}: {exc}"], set()
    for config in apps.get_app_configs():
        if config.label in loader.unmigrated_apps:
            for model in config.get_models():
                states[(config.label, model._meta.model_name)] = ModelState.from_model(model)
    rendered = []
    field_files: set[Path] = set()
    for key in sorted(states):
        state = states[key]
        fields = []
        for name, field in state.fields.items():
            fields.append([name, _serialized(field)])
            source = _source_file(type(field))
            if source is not None and is_project_file(source):
                field_files.add(source)
        options = {name: _serialized(value) for name, value in sorted(state.options.items())}
        bases = [_serialized(base) for base in state.bases]
        rendered.append(json.dumps([list(key), fields, options, bases]))
    return rendered, field_files


def _serialized(value: object) -> str:
    """``value`` as a migration file would spell it; its repr (without addresses) if it
    cannot be written to one."""
    from django.db.migrations.serializer import serializer_factory

    if isinstance(value, (set, frozenset)):
        # unique_together is a set: its order must not follow the string hash seed.
        return "{" + ", ".join(sorted(_serialized(item) for item in value)) + "}"
    try:
        return str(serializer_factory(value).serialize()[0])
    except Exception:
        return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def _source_file(obj: Any) -> Path | None:
    try:
        path = inspect.getsourcefile(obj)
    except TypeError:
        return None
    return Path(path) if path else None


def _migrations_package(app_label: str) -> str:
    from django.db.migrations.loader import MigrationLoader

    module_name, _ = MigrationLoader.migrations_module(app_label)
    return str(module_name or "")


def _router_name(router: object) -> str:
    return router if isinstance(router, str) else f"{type(router).__module__}.{type(router)}"


def _migration_files(app_label: str) -> list[Path] | None:
    """The files of an app's migrations package, or None if it has no migrations."""
    from django.db.migrations.loader import MigrationLoader

    module_name, _ = MigrationLoader.migrations_module(app_label)
    if module_name is None:
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    locations = list(getattr(module, "__path__", []) or [])
    if not locations:
        return None
    found = [
        path
        for location in locations
        for path in Path(location).rglob("*")
        if path.is_file() and path.suffix in {".py", ".sql", ".json"}
    ]
    return sorted(found)


def _module_files(module_name: str) -> list[Path]:
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    path = getattr(module, "__file__", None)
    return [Path(path)] if path else []


def _source_files(objects: Iterable[object]) -> set[Path]:
    files = set()
    for obj in objects:
        try:
            path = inspect.getsourcefile(obj if inspect.isclass(obj) else type(obj))
        except TypeError:
            continue
        if path:
            files.add(Path(path))
    return files
