"""Generate a throwaway Django project whose test suite has a chosen shape.

The output is a function of the :class:`SuiteShape` alone (no timestamps, no
randomness), so two projects generated from the same shape are byte-identical.

Layout of a generated project::

    manage.py
    benchproject/settings.py   # SQLite; TEST_RUNNER from $BENCH_TEST_RUNNER
    benchapp/models.py         # Item(label, value)
    benchapp/migrations/0001_initial.py
    benchapp/workload.py       # burn() and write_items(), called by the tests
    benchapp/logic/mNNN.py     # only with logic_modules: line-heavy work, run_all()
    benchapp/tests/test_mNNN.py
    pytest.ini                 # only with pytest_config=True / --pytest

Also usable by hand: ``python bench/projectgen.py DEST --classes 20 --tests-per-class 5``.
"""

from __future__ import annotations

import argparse
import inspect
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from project_templates import (
    APP_LABEL,
    LOGIC_FUNCTION_TEMPLATES,
    LOGIC_INIT_TEMPLATE,
    LOGIC_MODULE_TEMPLATE,
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
    ``logic_rounds`` (also multiplied by ``skew``) is how many times a test runs every
    function of the ``logic_modules`` generated source modules (``logic_functions``
    each: plain Python, many cheap lines, so a line tracer such as coverage has work).
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
    logic_modules: int = 0
    logic_functions: int = 12
    logic_rounds: int = 0

    def __post_init__(self) -> None:
        for name in ("classes", "tests_per_class", "classes_per_module"):
            if getattr(self, name) < 1:
                raise ValueError(f"SuiteShape.{name} must be >= 1")
        for name in ("assertions", "cpu_loops", "db_writes", "logic_modules", "logic_rounds"):
            if getattr(self, name) < 0:
                raise ValueError(f"SuiteShape.{name} must be >= 0")
        if self.logic_functions < 1:
            raise ValueError("SuiteShape.logic_functions must be >= 1")
        if self.logic_rounds and not self.logic_modules:
            raise ValueError("SuiteShape.logic_rounds needs logic_modules >= 1")
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


def drive(modules, seed, rounds):
    """Run every logic module in turn; copied verbatim into the generated logic package."""
    acc = seed
    for module in modules:
        acc = (acc * 31 + module.run(acc % 1009, rounds)) % 1000003
    return acc


def render_logic_module(module_index: int, functions: int) -> str:
    """Source of logic module ``module_index``: ``functions`` functions and ``run()``."""
    names = [f"f{index:03d}" for index in range(functions)]
    bodies = [
        LOGIC_FUNCTION_TEMPLATES[index % len(LOGIC_FUNCTION_TEMPLATES)].format(
            name=name, a=7 + (module_index * 5 + index) % 13, b=1 + (module_index + index) % 9
        )
        for index, name in enumerate(names)
    ]
    calls = "\n".join(f"        acc = {name}(acc, data)" for name in names)
    return LOGIC_MODULE_TEMPLATE.format(
        functions="\n\n".join(bodies), calls=calls, a=31 + module_index, b=7 + module_index
    )


@cache
def _logic_namespaces(modules: int, functions: int) -> tuple[types.SimpleNamespace, ...]:
    """The generated logic modules, executed here to compute the tests' expected values."""
    executed = []
    for module_index in range(modules):
        namespace: dict[str, object] = {}
        exec(render_logic_module(module_index, functions), namespace)
        executed.append(types.SimpleNamespace(**namespace))
    return tuple(executed)


def _logic_result(shape: SuiteShape, seed: int, rounds: int) -> int:
    return drive(_logic_namespaces(shape.logic_modules, shape.logic_functions), seed, rounds)


def render_logic_package(shape: SuiteShape) -> dict[str, str]:
    """``{relative path: text}`` of the logic package (empty without ``logic_modules``)."""
    if not shape.logic_modules:
        return {}
    names = [f"m{index:03d}" for index in range(shape.logic_modules)]
    files = {
        f"{APP_LABEL}/logic/__init__.py": LOGIC_INIT_TEMPLATE.format(
            app=APP_LABEL, names=", ".join(names), drive=inspect.getsource(drive)
        )
    }
    for index, name in enumerate(names):
        files[f"{APP_LABEL}/logic/{name}.py"] = render_logic_module(index, shape.logic_functions)
    return files


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
    rounds = round(shape.logic_rounds * factor)
    body: list[str] = []
    if loops:
        body.append(f"self.assertEqual(burn({loops}), {_burn_result(loops)})")
    if rounds:
        seed = (class_index * 37 + test_index * 11) % 1009
        expected = _logic_result(shape, seed, rounds)
        body.append(f"self.assertEqual(run_all({seed}, {rounds}), {expected})")
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
    uses_logic = shape.logic_rounds > 0
    if helpers or uses_logic:
        lines.append("")
    if uses_logic:
        lines.append(f"from {APP_LABEL}.logic import run_all")
    if helpers:
        lines.append(f"from {APP_LABEL}.workload import {', '.join(helpers)}")
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
        **render_logic_package(shape),
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
    parser.add_argument("--logic-modules", type=int, default=0)
    parser.add_argument("--logic-functions", type=int, default=12)
    parser.add_argument("--logic-rounds", type=int, default=0)
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
        logic_modules=args.logic_modules,
        logic_functions=args.logic_functions,
        logic_rounds=args.logic_rounds,
    )
    generate_project(shape, args.dest, pytest_config=args.pytest)
    print(f"wrote {shape.total_tests} tests to {args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
