"""The project's files as git sees them: what changed since a recorded state, and who imports whom.

Paths are relative to the repository's top directory, with "/" separators. Files
git ignores are not the project's (a virtual environment, coverage data).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from django_testkit import files, git
from django_testkit.changes.facts import sha_of


class GitError(Exception):
    """git could not answer: the line says why."""


def _git(root: str | os.PathLike[str], *args: str) -> str:
    """What git printed; ``GitError`` when it did not start or failed."""
    done = git.run(*args, cwd=root)
    if done is None:
        raise GitError("git did not start")
    if done.returncode != 0:
        reason = git.decode(done.stderr).strip().splitlines()
        raise GitError(reason[-1] if reason else f"git {args[0]} failed")
    return git.decode(done.stdout)


def repository_root(start: str | os.PathLike[str]) -> Path | None:
    """The top directory of the git repository holding ``start``; None outside one."""
    top = git.top_level(start)
    return Path(top) if top else None


def head_commit(root: Path) -> str:
    """HEAD's commit; "" in a repository without commits."""
    return git.commit_of("HEAD", root) or ""


def _names(text: str) -> list[str]:
    return [name for name in text.split("\0") if name]


def project_files(root: Path) -> list[str]:
    """Tracked files and untracked ones git does not ignore."""
    return sorted(
        set(_names(_git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")))
    )


def changed_since(root: Path, commit: str) -> set[str]:
    """Files whose working-tree content differs from ``commit`` (staged or not, deleted
    ones too), and untracked files git does not ignore."""
    changed = set(_names(_git(root, "diff", "--name-only", "--no-renames", "-z", commit, "--")))
    changed.update(_names(_git(root, "ls-files", "-z", "--others", "--exclude-standard")))
    return changed


def uncommitted(root: Path, commit: str) -> dict[str, str]:
    """The files that differ from ``commit`` now, with their content's digest ("" if deleted)."""
    return {name: file_sha(root / name) for name in changed_since(root, commit)} if commit else {}


def file_sha(path: Path) -> str:
    """The digest of a regular file's content; "" when there is none (a FIFO is not read)."""
    data = files.read_regular(path)
    return "" if data is None else sha_of(data)


def module_names(root: Path, files: Iterable[str], import_roots: Iterable[Path]) -> dict[str, str]:
    """Module name -> file, for the Python files under each directory Python imports from."""
    found: dict[str, str] = {}
    bases = []
    for folder in import_roots:
        try:
            bases.append(Path(folder).resolve().relative_to(root.resolve()).as_posix())
        except ValueError:
            continue
    for name in files:
        if not name.endswith(".py"):
            continue
        for base in bases:
            prefix = "" if base == "." else f"{base}/"
            if not name.startswith(prefix):
                continue
            parts = name[len(prefix) : -3].split("/")
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts and all(part.isidentifier() for part in parts):
                found.setdefault(".".join(parts), name)
    return found


def packages(by_module: Mapping[str, str]) -> dict[str, str]:
    """Each file's package, that its relative imports start from."""
    return {
        path: module if path.endswith("__init__.py") else module.rpartition(".")[0]
        for module, path in by_module.items()
    }
