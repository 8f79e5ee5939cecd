"""Generate a throwaway Django project whose test suite has a chosen shape.

The output is a function of the :class:`SuiteShape` alone (no timestamps, no
randomness), so two projects generated from the same shape are byte-identical.

Layout of a generated project::

    manage.py
    benchproject/settings.py   # SQLite; TEST_RUNNER from $BENCH_TEST_RUNNER
    benchapp/models.py         # Item(label, value)
    benchapp/migrations/0001_initial.py
    benchapp/workload.py       # burn() and write_items(), called by the tests
    benchapp/tests/test_mNNN.py
    pytest.ini                 # only with pytest_config=True / --pytest

Also usable by hand: ``python bench/projectgen.py DEST --classes 20 --tests-per-class 5``.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from project_templates import (
    APP_LABEL,
    MANAGE_PY,
    MIGRATION_PY,
    MODELS_PY,
    PROJECT_PACKAGE,
    PYTEST_INI,
    SETTINGS_TEMPLATE,
    WORKLOAD_TEMPLATE,
)

RUNNER_ENV = "BENCH_TEST_RUNNER"
DEFAULT_RUNNER = "django_testkit.TestkitRunner"
DISCOVER_RUNNER = "django.test.runner.DiscoverRunner"
BASE_CLASSES = ("SimpleTestCase", "TestCase", "TransactionTestCase")
DB_BASE_CLASSES = frozenset({"TestCase", "TransactionTestCase"})
DEFAULT_CONTRIB_APPS = ("django.contrib.contenttypes", "django.contrib.auth")


@dataclass(frozen=True)
class SuiteShape:
    """What the generated suite looks like.

    Per-test work (``cpu_loops``, ``db_writes``, ``sleep``) is multiplied by the
    class's ``skew`` entry (class index -> multiplier, default 1.0), so
    ``skew={0: 8.0}`` makes class 0 about eight times as slow as the others.
    ``base_mix`` is cycled over the classes in order. ``SimpleTestCase`` classes
    never touch the database, so they skip ``db_writes``.
    """

    classes: int = 10
    tests_per_class: int = 10
    classes_per_module: int = 10
    base_mix: tuple[str, ...] = ("TestCase",)
    assertions: int = 3
    cpu_loops: int = 0
    db_writes: int = 0
    sleep: float = 0.0
    skew: Mapping[int, float] = field(default_factory=dict)
    contrib_apps: tuple[str, ...] = DEFAULT_CONTRIB_APPS

    def __post_init__(self) -> None:
        for name in ("classes", "tests_per_class", "classes_per_module"):
            if getattr(self, name) < 1:
                raise ValueError(f"SuiteShape.{name} must be >= 1")
        for name in ("assertions", "cpu_loops", "db_writes"):
            if getattr(self, name) < 0:
                raise ValueError(f"SuiteShape.{name} must be >= 0")
        if self.sleep < 0:
            raise ValueError("SuiteShape.sleep must be >= 0")
        if not self.base_mix:
            raise ValueError("SuiteShape.base_mix must name at least one base class")
        unknown = sorted(set(self.base_mix) - set(BASE_CLASSES))
        if unknown:
            raise ValueError(f"unknown base classes {unknown}; choose from {BASE_CLASSES}")
        for index, factor in self.skew.items():
            if not 0 <= index < self.classes or factor < 0:
                raise ValueError(f"bad skew entry {index}: {factor}")

    @property
    def total_tests(self) -> int:
        return self.classes * self.tests_per_class

    def base_for(self, index: int) -> str:
        return self.base_mix[index % len(self.base_mix)]

    def multiplier(self, index: int) -> float:
        return float(self.skew.get(index, 1.0))


def burn(loops: int) -> int:
    """Deterministic busy work; copied verbatim into the generated workload module."""
    total = 0
    for i in range(loops):
        total = (total + i * i) % 1_000_003
    return total


@cache
def _burn_result(loops: int) -> int:
    return burn(loops)


def render_settings(shape: SuiteShape) -> str:
    apps = "".join(f'    "{app}",\n' for app in (*shape.contrib_apps, APP_LABEL))
    return SETTINGS_TEMPLATE.format(apps=apps, env=RUNNER_ENV, runner=DEFAULT_RUNNER)


def _assertion(class_index: int, test_index: int, k: int) -> str:
    a = class_index + 3 * k
    b = test_index + k + 1
    kind = (class_index + test_index + k) % 3
    if kind == 0:
        return f"self.assertEqual({a} + {b}, {a + b})"
    if kind == 1:
        return f"self.assertIn({b}, range({a + b + 1}))"
    return f"self.assertLess({a}, {a + b})"


def render_test_method(shape: SuiteShape, class_index: int, test_index: int) -> list[str]:
    factor = shape.multiplier(class_index)
    loops = round(shape.cpu_loops * factor)
    writes = round(shape.db_writes * factor)
    pause = shape.sleep * factor
    body: list[str] = []
    if loops:
        body.append(f"self.assertEqual(burn({loops}), {_burn_result(loops)})")
    if writes and shape.base_for(class_index) in DB_BASE_CLASSES:
        label = f"c{class_index:04d}t{test_index:04d}"
        body.append(f'self.assertEqual(write_items("{label}", {writes}), {writes})')
    if pause > 0:
        body.append(f"time.sleep({pause!r})")
    body.extend(_assertion(class_index, test_index, k) for k in range(shape.assertions))
    if not body:
        body.append("pass")
    lines = [f"    def test_{test_index:04d}(self):"]
    lines.extend(f"        {statement}" for statement in body)
    return lines


def render_test_module(shape: SuiteShape, class_indexes: Sequence[int]) -> str:
    bases = sorted({shape.base_for(index) for index in class_indexes})
    uses_burn = shape.cpu_loops > 0
    uses_db = shape.db_writes > 0 and any(base in DB_BASE_CLASSES for base in bases)
    uses_sleep = shape.sleep > 0
    lines = ['"""Generated by bench/projectgen.py."""', ""]
    if uses_sleep:
        lines += ["import time", ""]
    lines.append(f"from django.test import {', '.join(bases)}")
    helpers = [name for name, used in (("burn", uses_burn), ("write_items", uses_db)) if used]
    if helpers:
        lines += ["", f"from {APP_LABEL}.workload import {', '.join(helpers)}"]
    for class_index in class_indexes:
        base = shape.base_for(class_index)
        lines += ["", "", f"class Case{class_index:04d}({base}):"]
        for test_index in range(shape.tests_per_class):
            if test_index:
                lines.append("")
            lines += render_test_method(shape, class_index, test_index)
    return "\n".join(lines) + "\n"


def render_project(shape: SuiteShape) -> dict[str, str]:
    """Return ``{relative path: file text}`` for the whole project, in a stable order."""
    files = {
        "manage.py": MANAGE_PY,
        f"{PROJECT_PACKAGE}/__init__.py": "",
        f"{PROJECT_PACKAGE}/settings.py": render_settings(shape),
        f"{APP_LABEL}/__init__.py": "",
        f"{APP_LABEL}/models.py": MODELS_PY,
        f"{APP_LABEL}/migrations/__init__.py": "",
        f"{APP_LABEL}/migrations/0001_initial.py": MIGRATION_PY,
        f"{APP_LABEL}/workload.py": WORKLOAD_TEMPLATE.format(
            app=APP_LABEL, burn=inspect.getsource(burn)
        ),
        f"{APP_LABEL}/tests/__init__.py": "",
    }
    per_module = shape.classes_per_module
    for module_index, start in enumerate(range(0, shape.classes, per_module)):
        indexes = range(start, min(start + per_module, shape.classes))
        files[f"{APP_LABEL}/tests/test_m{module_index:03d}.py"] = render_test_module(
            shape, indexes
        )
    return files


def render_pytest_config() -> dict[str, str]:
    """Extra files that let pytest-django (and pytest-xdist) run the generated tests.

    ``generate_project(..., pytest_config=True)`` writes them along with the project.
    """
    return {"pytest.ini": PYTEST_INI}


def generate_project(shape: SuiteShape, dest: Path, *, pytest_config: bool = False) -> Path:
    """Write the project for ``shape`` into ``dest`` (absent or empty); return ``dest``.

    With ``pytest_config`` the project also gets a ``pytest.ini`` for pytest-django.
    """
    files = render_project(shape)
    if pytest_config:
        files.update(render_pytest_config())
    return write_project(files, dest)


def write_project(files: dict[str, str], dest: Path) -> Path:
    """Write rendered project ``files`` into ``dest`` (absent or empty); return ``dest``."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"refusing to generate into non-empty directory {dest}")
    for relative, text in files.items():
        path = dest / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (dest / "manage.py").chmod(0o755)
    return dest


def _parse_skew(items: Sequence[str]) -> dict[int, float]:
    skew: dict[int, float] = {}
    for item in items:
        index, _, factor = item.partition("=")
        skew[int(index)] = float(factor)
    return skew


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a benchmark Django project.")
    parser.add_argument("dest", type=Path, help="directory to create (absent or empty)")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--tests-per-class", type=int, default=10)
    parser.add_argument("--classes-per-module", type=int, default=10)
    parser.add_argument("--base", action="append", choices=BASE_CLASSES, dest="bases")
    parser.add_argument("--assertions", type=int, default=3)
    parser.add_argument("--cpu-loops", type=int, default=0)
    parser.add_argument("--db-writes", type=int, default=0)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--skew", action="append", default=[], metavar="INDEX=FACTOR")
    parser.add_argument(
        "--pytest", action="store_true", help="also write a pytest.ini for pytest-django"
    )
    args = parser.parse_args(argv)
    shape = SuiteShape(
        classes=args.classes,
        tests_per_class=args.tests_per_class,
        classes_per_module=args.classes_per_module,
        base_mix=tuple(args.bases or ("TestCase",)),
        assertions=args.assertions,
        cpu_loops=args.cpu_loops,
        db_writes=args.db_writes,
        sleep=args.sleep,
        skew=_parse_skew(args.skew),
    )
    generate_project(shape, args.dest, pytest_config=args.pytest)
    print(f"wrote {shape.total_tests} tests to {args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
