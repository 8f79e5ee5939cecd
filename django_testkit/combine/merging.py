"""What ``combine`` makes of the shards' files besides coverage: one JUnit report, the
durations and failures stores for the next run, and one timeline of every shard."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from django_testkit.combine.manifest import CombineError, Manifest
from django_testkit.parallel import durations, failures
from django_testkit.parallel.timeline import Timeline, together

#: The counts a ``testsuites`` element adds up from its suites.
COUNTS = ("tests", "failures", "errors", "skipped")


def _suites(manifest: Manifest, folder: Path) -> list[ElementTree.Element]:
    path = folder / manifest.files["junit"]
    try:
        root = ElementTree.fromstring(path.read_bytes())
    except (OSError, ElementTree.ParseError) as error:
        raise CombineError(
            f"combine: {path} ({manifest.label}) cannot be read as JUnit XML ({error}); "
            "run that shard again."
        ) from None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    for suite in suites:
        suite.set("name", f"django-testkit {manifest.label}")
    return suites


def junit(found: Sequence[tuple[Manifest, Path]]) -> tuple[bytes, set[str]]:
    """One JUnit document with every shard's suite, and the ids of the tests in it."""
    root = ElementTree.Element("testsuites", {"name": "django-testkit"})
    totals = dict.fromkeys(COUNTS, 0)
    seconds = 0.0
    ran: set[str] = set()
    for manifest, folder in found:
        for suite in _suites(manifest, folder):
            root.append(suite)
            for name in COUNTS:
                totals[name] += int(suite.get(name, "0") or 0)
            seconds += float(suite.get("time", "0") or 0)
            for case in suite.iter("testcase"):
                ran.add(f"{case.get('classname', '')}.{case.get('name', '')}")
    for name, count in totals.items():
        root.set(name, str(count))
    root.set("time", f"{seconds:.3f}")
    ElementTree.indent(root)
    text: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return text + b"\n", ran


def record_durations(found: Sequence[tuple[Manifest, Path]], store: Path, whole: bool) -> str:
    """Merge the shards' measured durations into the store; a warning, or ""."""
    measured: dict[str, float] = {}
    for manifest, folder in found:
        read, warning = durations.load_durations(folder / manifest.files["durations"])
        if warning:
            return warning
        measured.update(read)
    old, _ = durations.load_durations(store)
    # A whole run shows which classes still exist: the others leave the store.
    present = set(measured) if whole else None
    durations.save_durations(store, durations.merge_durations(old, measured, present))
    return ""


def record_failures(
    found: Sequence[tuple[Manifest, Path]], store: Path, ran: set[str], complete: bool
) -> failures.Failed:
    """Write the union of the shards' failures into the store (what ran and passed leaves
    it; a run cut short only adds); the union."""
    now = failures.Failed()
    for manifest, folder in found:
        part = failures.load(folder / manifest.files["failed"])
        now.tests |= part.tests
        now.groups |= part.groups
    old = failures.load(store)
    if old or now:
        failures.record(store, old, now, ran if complete else None)
    return now


def timeline(found: Sequence[tuple[Manifest, Path]], title: str) -> Timeline:
    """Every shard's timeline on one page, each from its own start."""
    parts: list[tuple[str, Any]] = []
    for manifest, folder in found:
        path = folder / manifest.files["timeline"]
        try:
            parts.append((manifest.label, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError) as error:
            raise CombineError(
                f"combine: {path} ({manifest.label}) cannot be read ({error}); run that "
                "shard again."
            ) from None
    try:
        return together(parts, title)
    except (KeyError, TypeError, ValueError) as error:
        raise CombineError(f"combine: a timeline.json is not as written ({error!r}).") from None
