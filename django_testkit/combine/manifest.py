"""The manifest of a run's artifacts, and the checks that a set of them is one whole run.

``manifest.json`` says what the run was (its shard, the split's fingerprint, the
selection, the options that decide the verdict, the versions) and how it ended.
It is written last, so a folder with a manifest is complete. Pure: JSON in and
out, and :func:`check_set` turns a set of manifests into the first problem found,
one line naming the shards and folders concerned.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from django_testkit import records
from django_testkit.exceptions import TestkitError
from django_testkit.options import Source, TestkitConfig
from django_testkit.specs import ReportSpec, parse_report

FORMAT = 1
FILE_NAME = "manifest.json"
KIND = "django-testkit artifacts"
#: Options each CI job may set its own way: they change neither the tests a shard
#: runs nor how the whole is judged.
PER_JOB = frozenset(
    {
        "artifacts",
        "create_db",
        "db_suffix",
        "durations_file",
        "junit_xml",
        "reuse_db",
        "schedule",
        "setup_processes",
        "shard",
        "start_method",
        "timeline",
        "timeout",
    }
)


class CombineError(TestkitError):
    """The artifacts given to ``combine`` are not the whole of one run."""


@dataclass(frozen=True)
class Manifest:
    """What one run (one shard, or a whole run) wrote into its artifacts folder."""

    #: (K, N), or None for a run that was not a shard.
    shard: tuple[int, int] | None
    #: The split's fingerprint (equal for jobs that cut the suite the same way).
    split: str
    #: Test labels, tags, excluded tags and -k patterns.
    selection: dict[str, list[str]]
    #: No labels, tags, -k or --last-failed narrowed the suite (the shard's cut aside).
    whole_selection: bool
    #: Tests the selection held before a shard's cut.
    selected: int
    config: dict[str, Any]
    origins: dict[str, str]
    versions: dict[str, str]
    #: The run's working directory and the checkout it ran in (absolute).
    cwd: str
    root: str
    #: tests, failures, errors, skipped, failed (what counts for the status), status.
    outcome: dict[str, int]
    #: Why the run's results miss part of its tests ("" when they do not).
    incomplete: str = ""
    #: config_file, options, data_file and app_roots; empty when coverage was off.
    coverage: dict[str, Any] = field(default_factory=dict)
    #: The durations store the run used, relative to ``cwd`` when inside it.
    durations_store: str = ""
    #: What else the folder holds: kind -> file name.
    files: dict[str, str] = field(default_factory=dict)
    #: When the run began (seconds since the epoch) and how long it took.
    started: float = 0.0
    seconds: float = 0.0

    @property
    def label(self) -> str:
        return f"shard {self.shard[0]}/{self.shard[1]}" if self.shard else "the whole run"

    def to_json(self) -> str:
        document = {"format": FORMAT, "kind": KIND, **asdict(self)}
        return json.dumps(document, indent=2, sort_keys=True) + "\n"

    def testkit_config(self) -> TestkitConfig:
        """The run's options again (those each job may set its own way left out)."""
        values: dict[str, Any] = {}
        for name, value in self.config.items():
            if name == "cov_report" and value is not None:
                value = tuple(parse_report(item, FILE_NAME) for item in value)
            elif name == "cov" and value is not None:
                value = tuple(value)
            values[name] = value
        origins = {name: Source(origin) for name, origin in self.origins.items()}
        return TestkitConfig(**values, origins=origins)


def _report_text(spec: ReportSpec) -> str:
    """A report as ``--cov-report`` writes it."""
    skip = ["skip-covered"] if spec.skip_covered else []
    return ":".join([spec.kind, *([spec.dest] if spec.dest else []), *skip])


def config_document(config: TestkitConfig) -> tuple[dict[str, Any], dict[str, str]]:
    """The options a manifest records (as JSON values), and where each came from."""
    values: dict[str, Any] = {}
    for item in records.fields(TestkitConfig):
        if item.name == "origins" or item.name in PER_JOB:
            continue
        value = getattr(config, item.name)
        if item.name == "cov_report" and value is not None:
            value = [_report_text(spec) for spec in value]
        elif isinstance(value, tuple):
            value = list(value)
        values[item.name] = value
    origins = {name: str(source) for name, source in config.origins.items() if name in values}
    return values, origins


def read(folder: Path) -> Manifest:
    """The manifest in ``folder``; a one-line ``CombineError`` when there is none to use."""
    path = folder / FILE_NAME
    fix = "pass the folders that `manage.py test --artifacts DIR` wrote"
    if not folder.is_dir():
        raise CombineError(f"combine: {folder} is not a folder; {fix}.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CombineError(
            f"combine: {folder} has no {FILE_NAME} (the run did not finish, or this is "
            f"another folder); {fix}."
        ) from None
    except (OSError, ValueError, RecursionError) as error:
        problem = " ".join(str(error).split())[:100]
        raise CombineError(f"combine: {path} cannot be read ({problem}); {fix}.") from None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise CombineError(f"combine: {path} is not a django-testkit manifest; {fix}.")
    if data.get("format") != FORMAT:
        raise CombineError(
            f"combine: {path} is in format {data.get('format')!r} and this version reads "
            f"format {FORMAT}; combine with the django-testkit version the shards ran."
        )
    known = {item.name for item in fields(Manifest)}
    try:
        values = {name: value for name, value in data.items() if name in known}
        shard = values.get("shard")
        values["shard"] = tuple(shard) if shard else None
        return Manifest(**values)
    except TypeError as error:
        raise CombineError(f"combine: {path} is incomplete ({error}); {fix}.") from None


def _where(found: Sequence[tuple[Manifest, Path]]) -> str:
    return ", ".join(f"{manifest.label} in {folder}" for manifest, folder in found)


def _differences(first: Mapping[str, Any], other: Mapping[str, Any]) -> list[str]:
    """``--option 'theirs' vs 'ours'`` for each value that differs (the second run's first)."""
    from django_testkit.config import BY_NAME

    return [
        f"{BY_NAME[name].option_string if name in BY_NAME else name} "
        f"{other.get(name)!r} vs {first.get(name)!r}"
        for name in sorted(set(first) | set(other))
        if first.get(name) != other.get(name)
    ]


def check_set(found: Sequence[tuple[Manifest, Path]]) -> None:
    """Raise a one-line ``CombineError`` unless ``found`` is every shard of one run, once."""
    if not found:
        raise CombineError("combine: no artifacts folder given; pass one per shard.")
    whole = [(manifest, folder) for manifest, folder in found if manifest.shard is None]
    if whole and len(found) > 1:
        raise CombineError(
            f"combine: {_where(whole)} is not a shard, and cannot be combined with "
            f"anything else ({_where(found)}); pass the folders of one sharded run."
        )
    first, first_folder = found[0]
    if first.shard is not None:
        total = first.shard[1]
        for manifest, _ in found:
            if manifest.shard is not None and manifest.shard[1] != total:
                raise CombineError(
                    f"combine: the folders are from splits into different numbers of shards "
                    f"({_where(found)}); pass the folders of one run."
                )
        by_index: dict[int, list[Path]] = {}
        for manifest, folder in found:
            assert manifest.shard is not None
            by_index.setdefault(manifest.shard[0], []).append(folder)
        twice = {index: folders for index, folders in by_index.items() if len(folders) > 1}
        if twice:
            index, folders = min(twice.items())
            raise CombineError(
                f"combine: shard {index}/{total} is given more than once "
                f"({', '.join(map(str, folders))}); pass each shard's folder once."
            )
        missing = [index for index in range(1, total + 1) if index not in by_index]
        if missing:
            named = ", ".join(f"{index}/{total}" for index in missing)
            raise CombineError(
                f"combine: {'shard' if len(missing) == 1 else 'shards'} {named} "
                f"{'is' if len(missing) == 1 else 'are'} missing (given: {_where(found)}); "
                "pass the artifacts of every shard."
            )
    for manifest, folder in found[1:]:
        here = f"{manifest.label} ({folder})"
        there = f"{first.label} ({first_folder})"
        changed = _differences(first.versions, manifest.versions)
        if changed:
            raise CombineError(
                f"combine: {here} ran on other versions than {there}: {'; '.join(changed)}; "
                "run every shard on the same versions."
            )
        changed = _differences(first.config, manifest.config) + _differences(
            first.selection, manifest.selection
        )
        if changed:
            raise CombineError(
                f"combine: {here} ran with other options than {there}: {'; '.join(changed)}; "
                "run every shard with the same options and test labels."
            )
        if manifest.split != first.split or manifest.selected != first.selected:
            raise CombineError(
                f"combine: {here} split the suite differently from {there} (their selections "
                f"held {manifest.selected} and {first.selected} tests, or their durations "
                "stores differed), so tests may have run twice or not at all; give every "
                "shard the same durations file (commit it, or restore one cache in every job)."
            )
