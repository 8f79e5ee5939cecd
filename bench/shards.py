#!/usr/bin/env python
"""CI shards: how evenly ``--shard K/N`` splits a suite, against a split by test count.

A generated project of 48 ``SimpleTestCase`` classes x 4 tests that sleep (so the
figures do not depend on how busy the machine is), about 3 minutes of work serially,
with class times from 0.6 s to 14 s spread the way real suites are (many quick
classes, a few slow ones). Its durations store holds the classes' true times, as a
recorded run would. N shards x 2 workers are simulated on this machine one shard at
a time, each shard a whole ``manage.py test --parallel 2`` run, for two splits:

``duration``
    ``--shard K/N``: whole classes, longest first onto the lightest shard.
``count``
    what a naive CI split does: the classes in discovery order cut into N runs of
    consecutive classes with (nearly) the same number of tests, passed as labels.

Every shard measures coverage (``--cov``); the duration split's shards also write
``--artifacts``, and ``python -m django_testkit combine`` then judges them as one
run. For each split and round: the slowest shard's wall time over the ideal, the
shards' wall times summed and shared evenly (``total / N``); and combine's own wall
time. Prints the median and the spread over the rounds. Run from the repository
root: ``python bench/shards.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLASSES = 48
TESTS_PER_CLASS = 4

MANAGE = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shardproject.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""
SETTINGS = """\
SECRET_KEY = "shard-bench"
INSTALLED_APPS = ["shardapp"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
TEST_RUNNER = "django_testkit.TestkitRunner"
USE_TZ = True
"""


WORK = """\
import time


def nap(seconds):
    if seconds > 0:
        time.sleep(seconds)
    return seconds
"""


def class_seconds(total: float) -> list[float]:
    """48 class times, skewed (a few slow classes), adding up to ``total``."""
    raw = [0.6 + 13.4 * (index / (CLASSES - 1)) ** 4 for index in range(CLASSES)]
    # Discovery order is not sorted by time: interleave slow and quick classes.
    shuffled = [raw[(index * 29) % CLASSES] for index in range(CLASSES)]
    scale = total / sum(shuffled)
    return [round(seconds * scale, 3) for seconds in shuffled]


def generate(dest: Path, seconds: Sequence[float]) -> list[str]:
    """Write the project; return its class labels in discovery order."""
    (dest / "shardproject").mkdir(parents=True)
    (dest / "shardapp" / "tests").mkdir(parents=True)
    (dest / "manage.py").write_text(MANAGE, encoding="utf-8")
    (dest / "shardproject" / "__init__.py").write_text("", encoding="utf-8")
    (dest / "shardproject" / "settings.py").write_text(SETTINGS, encoding="utf-8")
    (dest / "shardapp" / "__init__.py").write_text("", encoding="utf-8")
    # Code for coverage to measure: every test sleeps through it.
    (dest / "shardapp" / "work.py").write_text(WORK, encoding="utf-8")
    (dest / "shardapp" / "tests" / "__init__.py").write_text("", encoding="utf-8")
    labels, units = [], {}
    for index, total in enumerate(seconds):
        module = f"test_c{index:02d}"
        lines = ["from django.test import SimpleTestCase", "", "from shardapp.work import nap"]
        lines += ["", "", f"class C{index:02d}Tests(SimpleTestCase):"]
        for test in range(TESTS_PER_CLASS):
            lines += [f"    def test_{test}(self):", f"        nap({total / 4!r})", ""]
        path = dest / "shardapp" / "tests" / f"{module}.py"
        path.write_text("\n".join(lines), encoding="utf-8")
        label = f"shardapp.tests.{module}.C{index:02d}Tests"
        labels.append(label)
        units[label] = total
    store = dest / ".testkit" / "durations.json"
    store.parent.mkdir()
    store.write_text(json.dumps({"format": 1, "units": units}, indent=2), encoding="utf-8")
    return labels


def count_split(labels: Sequence[str], shards: int) -> list[list[str]]:
    """Consecutive classes, cut into ``shards`` runs of nearly equal test counts."""
    size, extra = divmod(len(labels), shards)
    parts, start = [], 0
    for number in range(shards):
        end = start + size + (1 if number < extra else 0)
        parts.append(list(labels[start:end]))
        start = end
    return parts


def timed(project: Path, args: Sequence[str], command: Sequence[str] = ()) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(project)]), "CI": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    test = ["manage.py", "test", "--noinput", "--parallel", "2"]
    # --cov last: it takes an optional SOURCE, and would take a test label for one.
    argv = [sys.executable, *(command or test), *args, *([] if command else ["--cov"])]
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    return took


def one_round(
    project: Path, labels: Sequence[str], shards: int, store: str
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"duration": [], "count": [], "combine": []}
    # The classes' true times, whatever the last round's runs recorded.
    (project / ".testkit" / "durations.json").write_text(store, encoding="utf-8")
    parts = count_split(labels, shards)
    folders = [str(project / "artifacts" / f"shard-{number}") for number in range(1, shards + 1)]
    # Every shard of a split reads the same store; the runs by label write theirs into it,
    # so they come after (combine refuses shards whose stores differed).
    for number in range(1, shards + 1):
        artifacts = ["--artifacts", folders[number - 1]]
        times["duration"].append(timed(project, ["--shard", f"{number}/{shards}", *artifacts]))
    for number in range(1, shards + 1):
        times["count"].append(timed(project, parts[number - 1]))
    combine = ["-m", "django_testkit", "combine", "--no-record", "--cov-report="]
    times["combine"].append(timed(project, folders, combine))
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--serial-seconds", type=float, default=180.0)
    args = parser.parse_args(argv)
    seconds = class_seconds(args.serial_seconds)
    print(
        f"{CLASSES} classes x {TESTS_PER_CLASS} sleeping tests, {sum(seconds):.0f}s serially "
        f"(classes {min(seconds):.1f}s to {max(seconds):.1f}s); {args.shards} shards x 2 "
        f"workers, one shard at a time; {args.rounds} rounds"
    )
    ratios: dict[str, list[float]] = {"duration": [], "count": []}
    with tempfile.TemporaryDirectory(prefix="shard-bench-") as scratch:
        project = Path(scratch) / "project"
        labels = generate(project, seconds)
        store = (project / ".testkit" / "durations.json").read_text(encoding="utf-8")
        combined: list[float] = []
        for number in range(1, args.rounds + 1):
            times = one_round(project, labels, args.shards, store)
            combined += times.pop("combine")
            print(f"round {number} combine : {combined[-1]:.2f} s for {args.shards} shards")
            for split, walls in times.items():
                ideal = sum(walls) / args.shards
                ratio = max(walls) / ideal
                ratios[split].append(ratio)
                shown = ", ".join(f"{wall:.1f}" for wall in walls)
                print(
                    f"round {number} {split:8}: shards {shown} s; slowest {max(walls):.1f}s, "
                    f"ideal {ideal:.1f}s: {ratio:.3f}"
                )
    print()
    print("split     slowest shard / ideal: median (min-max)")
    for split, values in ratios.items():
        print(f"{split:9} {statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})")
    print(
        f"combine   {statistics.median(combined):.2f}s ({min(combined):.2f}-{max(combined):.2f}) "
        f"for the {args.shards} shards' artifacts"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
