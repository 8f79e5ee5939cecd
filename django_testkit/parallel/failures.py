"""The tests that failed last time: recorded after each run, selected or run first by the next.

The store, ``failed.json`` beside the durations store, holds the ids of the tests
that failed or errored (a crashed or timed-out test errored) and the names of the
classes and modules whose fixtures errored (``setUpClass``, ``setUpModule``): all
of their tests count as failed. A run that ends normally forgets what it ran and
passed; one that stopped early only adds. ``--last-failed`` keeps only those tests
(all of them, with one line, when none of the selection failed); ``--failed-first``
runs their classes first inside each of Django's ordering groups.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from django_testkit import records
from django_testkit.files import MISSING, REGULAR, kind_of, read_regular, write_text

FORMAT = 1
FILE_NAME = "failed.json"
#: How unittest names an error of a class or module fixture: "setUpClass (app.tests.C)".
_FIXTURE = re.compile(r"^\w+ \((?P<name>[\w.]+)\)$")


@records.record(frozen=False)
class Failed:
    """Test ids, and class or module names whose every test counts as failed."""

    tests: set[str] = records.field(default_factory=set)
    groups: set[str] = records.field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.tests or self.groups)

    def matches(self, test_id: str) -> bool:
        if test_id in self.tests:
            return True
        parts = test_id.split(".")
        return any(".".join(parts[:end]) in self.groups for end in range(1, len(parts)))

    def count(self) -> str:
        described = [f"{len(self.tests)} failed"] if self.tests else []
        if self.groups:
            described.append(f"{len(self.groups)} class or module fixture(s) errored")
        return " and ".join(described)


def path_beside(durations_file: Path) -> Path | None:
    """The store beside a durations file; None when that is no file (``/dev/stdout``,
    a FIFO): the folder of a device is no place for it."""
    try:
        kind = kind_of(durations_file)
    except OSError:
        return None
    if kind not in (MISSING, REGULAR):
        return None
    return durations_file.with_name(FILE_NAME)


def load(path: Path | None) -> Failed:
    """What the store says; empty when it is missing or unusable (it is rewritten)."""
    if path is None:
        return Failed()
    raw = read_regular(path)  # a FIFO there would wait for a writer forever
    try:
        data = json.loads(raw) if raw is not None else None
    except (ValueError, RecursionError):
        return Failed()
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return Failed()
    tests, groups = data.get("tests"), data.get("groups")
    if not isinstance(tests, list) or not isinstance(groups, list):
        return Failed()
    return Failed(
        {item for item in tests if isinstance(item, str)},
        {item for item in groups if isinstance(item, str)},
    )


def identify(test: Any) -> tuple[str, bool]:
    """A failed test's id, and whether it names a class or module (a fixture error)."""
    case = getattr(test, "test_case", None)  # a subtest: its test
    test_id = str((case or test).id())
    fixture = _FIXTURE.match(test_id)
    if fixture:
        return fixture["name"], True
    return test_id, False


def failed_in(result: Any) -> Failed:
    """The tests a finished result counts as failed or errored."""
    failed = Failed()
    problems = [*result.failures, *result.errors]
    # Entries are (test, text), or (test, text, queries) under Django's --debug-sql.
    tests = [entry[0] for entry in problems] + list(getattr(result, "unexpectedSuccesses", ()))
    for test in tests:
        name, group = identify(test)
        (failed.groups if group else failed.tests).add(name)
    return failed


def record(path: Path, old: Failed, now: Failed, ran: Iterable[str] | None) -> None:
    """Write the store: ``old`` less the tests of ``ran`` (None: a run stopped early,
    which only adds), plus ``now``."""
    tests, groups = set(old.tests), set(old.groups)
    if ran is not None:
        ran = set(ran)
        tests -= ran
        groups = {
            group for group in groups if not any(test.startswith(group + ".") for test in ran)
        }
    tests |= now.tests
    groups |= now.groups
    document = {"format": FORMAT, "tests": sorted(tests), "groups": sorted(groups)}
    write_text(path, json.dumps(document, indent=2, sort_keys=True) + "\n")


def order_group(test: Any, reorder_by: Sequence[type]) -> int:
    """Django's ordering group of ``test`` (lower runs first)."""
    return next(
        (rank for rank, kind in enumerate(reorder_by) if isinstance(test, kind)), len(reorder_by)
    )


def select(
    tests: Sequence[Any], failed: Failed, *, first: bool, reorder_by: Sequence[type]
) -> tuple[list[Any], str]:
    """``--last-failed`` (only them) or ``--failed-first`` (them first), and one line."""
    marked = [failed.matches(test.id()) for test in tests]
    hits = sum(marked)
    if not hits:
        mode = "Failed first" if first else "Last failed"
        return list(tests), (
            f"{mode}: no test of this selection failed last time; running all {len(tests)}."
        )
    if first:
        # Whole classes move, so that each class's fixtures still run once.
        classes = {type(test) for test, hit in zip(tests, marked, strict=True) if hit}
        order = sorted(
            range(len(tests)),
            key=lambda index: (
                order_group(tests[index], reorder_by),
                type(tests[index]) not in classes,
                index,
            ),
        )
        return [tests[index] for index in order], (
            f"Failed first: {hits} of {len(tests)} tests failed last time; "
            f"their {len(classes)} class{'es' if len(classes) > 1 else ''} run first."
        )
    chosen = [test for test, hit in zip(tests, marked, strict=True) if hit]
    return (
        chosen,
        f"Last failed: running {hits} of {len(tests)} tests ({failed.count()} last time).",
    )
