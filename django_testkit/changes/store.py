"""The change map on disk (``.testkit/map.json``): which test classes ran which code.

For each measured project file: its content digest, its module-level digest, the
digest of each function, and which test classes ran lines of each function (or
of the module level). Classes are listed once and named by their index, so a
project of thousands of classes and files writes a few megabytes at most. The map
is tied to the state it was recorded at: a commit, and the digest of each file
that differed from it then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django_testkit import files

FORMAT = 1
KIND = "django-testkit change map"
NAME = "map.json"
#: Stands for code run outside every test class (at import, while Django started).
OUTSIDE = "<outside>"


@dataclass
class FileRecord:
    """What the map knows of one measured file."""

    sha: str
    module: str
    scopes: dict[str, str] = field(default_factory=dict)
    #: Scope ("" for the module level) -> the classes that ran lines of it.
    ran: dict[str, set[str]] = field(default_factory=dict)

    def users(self) -> set[str]:
        """Every class that ran any line of the file."""
        return set().union(*self.ran.values()) - {OUTSIDE} if self.ran else set()


@dataclass
class ChangeMap:
    """The recorded state, the classes it knows, and what they ran."""

    commit: str = ""
    #: Files that differed from ``commit`` when recorded, with their digests then.
    uncommitted: dict[str, str] = field(default_factory=dict)
    configuration: str = ""
    #: Every class whose run was recorded completely (it passed), in order.
    classes: set[str] = field(default_factory=set)
    files: dict[str, FileRecord] = field(default_factory=dict)
    #: Project file -> (its digest, the modules it imports), for the import closure.
    imports: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    def to_document(self) -> dict[str, Any]:
        ran = {
            key for record in self.files.values() for keys in record.ran.values() for key in keys
        }
        names = sorted(self.classes | ran)
        index = {name: number for number, name in enumerate(names)}
        return {
            "format": FORMAT,
            "kind": KIND,
            "commit": self.commit,
            "uncommitted": dict(sorted(self.uncommitted.items())),
            "configuration": self.configuration,
            "classes": names,
            "known": sorted(index[name] for name in self.classes),
            "files": {
                path: {
                    "sha": record.sha,
                    "module": record.module,
                    "scopes": record.scopes,
                    "ran": {
                        scope: sorted(index[key] for key in keys)
                        for scope, keys in sorted(record.ran.items())
                        if keys
                    },
                }
                for path, record in sorted(self.files.items())
            },
            "imports": {
                path: [sha, list(names)] for path, (sha, names) in sorted(self.imports.items())
            },
        }

    @classmethod
    def from_document(cls, data: Any) -> ChangeMap:
        """The map a document holds; ``ValueError`` when it is not one."""
        if not isinstance(data, dict) or data.get("kind") != KIND or data.get("format") != FORMAT:
            raise ValueError("not a change map of this version")
        names = [str(name) for name in data["classes"]]
        records = {}
        for path, item in data["files"].items():
            ran = {
                str(scope): {names[number] for number in keys}
                for scope, keys in item["ran"].items()
            }
            records[str(path)] = FileRecord(
                str(item["sha"]), str(item["module"]), dict(item["scopes"]), ran
            )
        return cls(
            commit=str(data["commit"]),
            uncommitted={str(k): str(v) for k, v in data["uncommitted"].items()},
            configuration=str(data["configuration"]),
            classes={names[number] for number in data["known"]},
            files=records,
            imports={str(p): (str(v[0]), tuple(v[1])) for p, v in data["imports"].items()},
        )


def map_path(durations_file: Path) -> Path:
    """The map lives beside the durations store."""
    return durations_file.parent / NAME


def load(path: Path) -> tuple[ChangeMap | None, str]:
    """The map at ``path``, or None and why it cannot be used."""
    data = files.read_regular(path)
    if data is None:
        if files.kind_of(path) == files.MISSING:
            return None, (
                f"there is no change map at {path} yet (--record-map records one, and so does "
                "--cov where coverage uses its C tracer)"
            )
        return None, f"the change map {path} is not a regular file that can be read"
    try:
        return ChangeMap.from_document(json.loads(data)), ""
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError):
        return None, f"the change map {path} is not one this version can read"


def save(path: Path, change_map: ChangeMap) -> None:
    """Write the map whole (or leave the old one): ``OSError`` when that fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(change_map.to_document(), separators=(",", ":"))
    files.write_text(path, text + "\n")
