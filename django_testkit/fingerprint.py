"""The schema fingerprint: a hash of everything that decides a test database's schema.

``--reuse-db`` keeps a test database only while this hash is unchanged. It
covers the bytes of every migration file of every installed app (so editing,
adding or removing a migration, or switching branch, changes it), the model
source files of apps without migrations (``migrate --run-syncdb`` builds their
tables from the models), the routers' source (they decide which alias gets
which table), and the settings that shape the schema: INSTALLED_APPS,
MIGRATION_MODULES, DATABASE_ROUTERS, CACHES, the alias's ENGINE and TEST
options, and the Django version.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

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
    files: set[Path] = set()
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
    for path in sorted(files):
        digest.update(f"file={path}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


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
