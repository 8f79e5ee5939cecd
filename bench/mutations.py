#!/usr/bin/env python
"""Does ``--changed`` miss a failure? Random single-line mutations, the full suite against it.

For each project (the example project, and a generated one of many small modules
whose tests check exact values), a git checkout is made, its change map recorded
once by ``manage.py test --record-map --parallel 2``, then for each of COUNT mutations
(drawn with SEED, each kind in turn: a flipped comparison, a changed constant,
default argument, class attribute or module-level value, a statement replaced by
``pass``): the mutation is applied, the full suite runs, ``--changed`` runs, and
the mutation is undone. The full suite's failing tests must all be among the tests
``--changed`` ran (recall 100 %); every miss is printed with its mutation. Prints
per kind and overall: mutations, misses, how many broke a test, the median
fraction of tests ``--changed`` ran, and the median of its wall time over the full
run's. Then the map's own cost: ``--cov`` with the map recorded against ``--cov``
with ``TESTKIT_RECORD_MAP=0``, interleaved rounds.

Run from the repository root: ``python bench/mutations.py [--count 200] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.mutations import Mutant, mutants, project_sources, sample  # noqa: E402

MODULES = 40

MANAGE = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genproject.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""
SETTINGS = """\
SECRET_KEY = "mutation-bench"
INSTALLED_APPS = ["shop"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
TEST_RUNNER = "django_testkit.TestkitRunner"
USE_TZ = True
"""
COMMON = """\
SCALE = 3


def scale(value, by=SCALE):
    if value < 0:
        return 0
    return value * by
"""
MODULE = """\
from shop.common import scale
{imports}
RATE = {rate}


class Box:
    size = {size}
    label = "box{index}"

    def area(self, factor=2):
        if factor > 0:
            return self.size * factor
        return 0


def price(count, discount=1):
    total = count * RATE
    if total >= 10:
        total = total - discount
    return total


def scaled(count):
    return scale(price(count)){extra}
"""
TEST = """\
import time

from django.test import SimpleTestCase

from shop.m{index:02d} import Box, price, scaled


class M{index:02d}Tests(SimpleTestCase):
    def setUp(self):
        time.sleep(0.02)  # a test's own work, so that running fewer of them shows

    def test_price(self):
        self.assertEqual(price(1), {price1})
        self.assertEqual(price(5), {price5})

    def test_box(self):
        self.assertEqual(Box().area(), {area})
        self.assertEqual(Box().area(0), 0)
        self.assertEqual(Box.label, "box{index}")

    def test_scaled(self):
        self.assertEqual(scaled(5), {scaled5})
{more}"""


def _price(rate: int, count: int, discount: int = 1) -> int:
    total = count * rate
    return total - discount if total >= 10 else total


def generate(dest: Path) -> None:
    """Modules m00..m39; every fourth one uses the one before it."""
    files = {
        "manage.py": MANAGE,
        "genproject/__init__.py": "",
        "genproject/settings.py": SETTINGS,
        "shop/__init__.py": "",
        "shop/common.py": COMMON,
        "shop/tests/__init__.py": "",
    }
    for index in range(MODULES):
        rate, size = 2 + index % 5, 3 + index % 7
        uses = index % 4 == 3
        imports = f"from shop.m{index - 1:02d} import price as earlier\n" if uses else ""
        extra = (
            "\n\n\ndef combined(count):\n    return price(count) + earlier(count)\n"
            if uses
            else "\n"
        )
        files[f"shop/m{index:02d}.py"] = MODULE.format(
            imports=imports, rate=rate, size=size, index=index, extra=extra
        )
        more = ""
        if uses:
            before = 2 + (index - 1) % 5
            both = _price(rate, 4) + _price(before, 4)
            more = (
                "\n    def test_combined(self):\n"
                f"        from shop.m{index:02d} import combined\n\n"
                f"        self.assertEqual(combined(4), {both})\n"
            )
        files[f"shop/tests/test_m{index:02d}.py"] = TEST.format(
            index=index,
            price1=_price(rate, 1),
            price5=_price(rate, 5),
            area=size * 2,
            scaled5=max(_price(rate, 5), 0) * 3,
            more=more,
        )
    for name, text in files.items():
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def manage(project: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, float, str]:
    environ = {**os.environ, "PYTHONPATH": str(REPO), "CI": "1", **(env or {})}
    environ.pop("PYTHONDONTWRITEBYTECODE", None)
    environ.setdefault("EXAMPLE_TEST_RUNNER", "django_testkit.TestkitRunner")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", "test", "--noinput", *args],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, time.perf_counter() - started, done.stdout + done.stderr


def cases(path: Path) -> tuple[set[str], set[str]]:
    """(every test, the tests that failed or errored) of a JUnit file."""
    every, failed = set(), set()
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname')}.{case.get('name')}"
        every.add(name)
        if any(child.tag in ("failure", "error") for child in case):
            failed.add(name)
    return every, failed


def prepare(project: Path) -> None:
    git(project, "init", "-q")
    (project / ".gitignore").write_text("*.xml\n.coverage*\n.testkit/\n", encoding="utf-8")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "initial")
    status, _, output = manage(project, "--record-map", "--cov-report=", "--parallel", "2")
    if status != 0 or not (project / ".testkit" / "map.json").is_file():
        raise SystemExit(f"recording the map failed in {project}:\n{output[-3000:]}")


def one(project: Path, mutant: Mutant) -> dict[str, object]:
    original = mutant.apply(project)
    try:
        _, full_time, _ = manage(project, "--junit-xml", "full.xml")
        _, changed_time, output = manage(project, "--changed", "--junit-xml", "changed.xml")
        if not (project / "full.xml").exists():
            # The project no longer starts: the run of what changed must not pass.
            started = (project / "changed.xml").exists()
            return {"missed": ["(the project does not start)"] if started else [], "broke": True}
        every, failed = cases(project / "full.xml")
        ran, _ = (
            cases(project / "changed.xml")
            if (project / "changed.xml").exists()
            else (set(), set())
        )
        return {
            "missed": sorted(failed - ran),
            "broke": bool(failed),
            "fraction": len(ran) / max(len(every), 1),
            "ratio": changed_time / full_time,
            "summary": next(
                (line for line in output.splitlines() if line.startswith("Changed:")), ""
            ),
        }
    finally:
        (project / mutant.path).write_text(original, encoding="utf-8")
        for name in ("full.xml", "changed.xml"):
            (project / name).unlink(missing_ok=True)


def report(name: str, results: list[tuple[Mutant, dict[str, object]]]) -> int:
    misses = 0
    kinds: dict[str, list[dict[str, object]]] = {}
    for mutant, result in results:
        kinds.setdefault(mutant.kind, []).append(result)
        if result["missed"]:
            misses += 1
            print(f"MISSED {name} {mutant.describe()}: {result['missed']}")
    print(
        f"\n{name}: kind, mutations, misses, broke a test, median fraction run, median time ratio"
    )
    for kind, items in [*sorted(kinds.items()), ("all", [r for _, r in results])]:
        fractions = [float(r["fraction"]) for r in items if "fraction" in r]  # type: ignore[arg-type]
        ratios = [float(r["ratio"]) for r in items if "ratio" in r]  # type: ignore[arg-type]
        missed = sum(1 for r in items if r["missed"])
        broke = sum(1 for r in items if r["broke"])
        print(
            f"  {kind:18} {len(items):4} {missed:3} {broke:4}   "
            f"{statistics.median(fractions) if fractions else 0:.3f} "
            f"({min(fractions, default=0):.3f}-{max(fractions, default=0):.3f})   "
            f"{statistics.median(ratios) if ratios else 0:.3f} "
            f"({min(ratios, default=0):.3f}-{max(ratios, default=0):.3f})"
        )
    return misses


def map_cost(project: Path, rounds: int) -> None:
    """``--cov`` with and without recording the map, interleaved."""
    times: dict[str, list[float]] = {"map": [], "no map": []}
    for number in range(rounds):
        order = ["map", "no map"] if number % 2 == 0 else ["no map", "map"]
        for variant in order:
            env = {"TESTKIT_RECORD_MAP": "0"} if variant == "no map" else {}
            status, took, output = manage(
                project, "--cov", "--cov-report=", "--parallel", "2", env=env
            )
            if status != 0:
                raise SystemExit(output[-2000:])
            times[variant].append(took)
    pairs = [a / b for a, b in zip(times["map"], times["no map"], strict=True)]
    print(
        f"  map recording: --cov {statistics.median(times['map']):.2f}s with the map, "
        f"{statistics.median(times['no map']):.2f}s without; ratio of medians "
        f"{statistics.median(times['map']) / statistics.median(times['no map']):.3f}, paired "
        f"{statistics.median(pairs):.3f} ({min(pairs):.3f}-{max(pairs):.3f}), {rounds} rounds"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="mutations per project")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--projects", default="example,generated")
    parser.add_argument("--cost-rounds", type=int, default=7)
    args = parser.parse_args(argv)
    misses = 0
    with tempfile.TemporaryDirectory(prefix="mutation-bench-") as scratch:
        for name in args.projects.split(","):
            project = Path(scratch) / name
            if name == "example":
                shutil.copytree(
                    REPO / "example_project",
                    project,
                    ignore=shutil.ignore_patterns(
                        "*.sqlite3", "__pycache__", ".testkit", ".coverage*"
                    ),
                )
            else:
                generate(project)
            prepare(project)
            found = mutants(project, project_sources(project))
            chosen = sample(found, args.count, args.seed)
            print(
                f"{name}: {len(found)} possible mutations, {len(chosen)} drawn "
                f"with seed {args.seed}"
            )
            results = []
            for number, mutant in enumerate(chosen, start=1):
                result = one(project, mutant)
                results.append((mutant, result))
                summary = str(result.get("summary", ""))[9:80]
                print(
                    f"  {number:3}/{len(chosen)} {mutant.describe()[:90]:90} {summary}", flush=True
                )
            misses += report(name, results)
            if args.cost_rounds:
                map_cost(project, args.cost_rounds)
    print(f"\nrecall: {'100 %' if not misses else f'{misses} mutation(s) missed'}")
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
