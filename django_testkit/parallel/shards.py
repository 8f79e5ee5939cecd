"""CI shards: which part of the selected suite one CI job runs; pure, no Django.

``--shard K/N`` runs the K-th (1-based) of N disjoint parts; ``--shard auto``
reads K and N from the CI's own variables. The parts are balanced by the
durations store: units (TestCase classes, never split) go longest first onto
the shard with the least work so far, ties broken by the number of units and
then the shard's number, so units without history (estimated from their
size) spread evenly. The split depends only on the units and the durations,
so every job of one pipeline computes the same one.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django_testkit.exceptions import ConfigurationError
from django_testkit.keys import key_of
from django_testkit.parallel.scheduling import Unit, estimate_durations

#: CI systems that number parallel jobs themselves: name, index and total variables,
#: and the number of the first job.
CI_VARIABLES = (
    ("GitLab CI", "CI_NODE_INDEX", "CI_NODE_TOTAL", 1),
    ("CircleCI", "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", 0),
    ("Buildkite", "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", 0),
)


@dataclass(frozen=True)
class Shard:
    """Part ``index`` (1-based) of ``total``; ``origin`` says where that came from."""

    index: int
    total: int
    origin: str = ""

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


def _count(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def _from_ci(environ: Mapping[str, str], where: str) -> Shard:
    for name, index_variable, total_variable, first in CI_VARIABLES:
        if index_variable not in environ and total_variable not in environ:
            continue
        index = _count(environ.get(index_variable, ""))
        total = _count(environ.get(total_variable, ""))
        if index is None or total is None or total < 1 or not first <= index < total + first:
            shown = f"{index_variable}={environ.get(index_variable)!r}, "
            shown += f"{total_variable}={environ.get(total_variable)!r}"
            raise ConfigurationError(
                f"{where} = 'auto' found {name}'s {shown}, which name no job of a parallel "
                "set; check the job's parallel settings, or give --shard K/N."
            )
        return Shard(index - first + 1, total, f"{name}'s {index_variable}/{total_variable}")
    known = ", ".join(f"{index}/{total}" for _, index, total, _ in CI_VARIABLES)
    raise ConfigurationError(
        f"{where} = 'auto' found no CI shard variables ({known}); give --shard K/N "
        "(on GitHub Actions, from a matrix: see the README)."
    )


def resolve(text: str, where: str, environ: Mapping[str, str]) -> Shard | None:
    """The shard a checked ``--shard`` value names (None: the whole suite)."""
    if not text:
        return None
    if text == "auto":
        return _from_ci(environ, where)
    index, total = text.split("/")
    return Shard(int(index), int(total), where)


def split(units: Sequence[Unit], estimates: Mapping[str, float], total: int) -> list[list[Unit]]:
    """``units`` in ``total`` disjoint parts of nearly equal estimated seconds.

    Longest first onto the lightest part; each part keeps Django's order (``index``).
    """
    if total < 1:
        raise ValueError(f"a suite splits into at least one part, not {total}")
    parts: list[list[Unit]] = [[] for _ in range(total)]
    lightest = [(0.0, 0, number) for number in range(total)]
    for unit in sorted(units, key=lambda unit: (-estimates[unit.key], unit.key, unit.index)):
        load, count, number = heapq.heappop(lightest)
        parts[number].append(unit)
        heapq.heappush(lightest, (load + estimates[unit.key], count + 1, number))
    return [sorted(part, key=lambda unit: unit.index) for part in parts]


def digest(parts: Sequence[Sequence[Unit]]) -> str:
    """A fingerprint of a split: equal for jobs that cut the same suite the same way."""
    assigned = sorted((unit.key, number) for number, part in enumerate(parts) for unit in part)
    text = json.dumps([len(parts), assigned], separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def select(
    tests: Sequence[Any], shard: Shard, durations: Mapping[str, float]
) -> tuple[list[Any], str, str]:
    """The tests of ``shard`` (in their order), one line saying what it runs, and the
    split's :func:`digest`."""
    by_key: dict[str, list[Any]] = {}
    for test in tests:
        by_key.setdefault(key_of(test), []).append(test)
    units = [Unit(key, index, 0, len(group)) for index, (key, group) in enumerate(by_key.items())]
    estimates = estimate_durations(units, durations)
    parts = split(units, estimates, shard.total)
    mine = parts[shard.index - 1]
    keys = {unit.key for unit in mine}
    chosen = [test for test in tests if key_of(test) in keys]
    seconds = sum(estimates[unit.key] for unit in mine)
    whole = sum(estimates.values())
    recorded = sum(unit.key in durations for unit in units)
    summary = (
        f"Shard {shard} ({shard.origin}): {len(chosen)} of {len(tests)} tests, "
        f"{len(mine)} of {len(units)} classes, ~{seconds:.1f}s of ~{whole:.1f}s "
        f"({recorded} of {len(units)} classes with recorded durations)."
    )
    return chosen, summary, digest(parts)


def shard_of(config: Any) -> Shard | None:
    """The run's shard (None: the whole suite); a bad ``auto`` raises ConfigurationError."""
    from django_testkit.config import BY_NAME

    where = BY_NAME["shard"].where(config.origin("shard"))
    return resolve(config.shard, where, os.environ)
