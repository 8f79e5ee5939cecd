"""The project as it is now: its files, their module names, and who imports whom."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django_testkit import files
from django_testkit.changes import tree
from django_testkit.changes.facts import FileFacts, file_facts, sha_of


@dataclass
class Project:
    """A git checkout's files, with the imports of each Python file."""

    root: Path
    files: list[str]
    by_module: dict[str, str]
    packages: dict[str, str]
    #: Python file -> (its content digest, the modules it imports).
    imports: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    #: The facts of the files parsed by the scan (those the cache did not know).
    parsed: dict[str, FileFacts] = field(default_factory=dict)

    def dependents(self, name: str) -> set[str]:
        """``name`` and every file that imports it, directly or through others."""
        importers: dict[str, set[str]] = {}
        for path, (_, modules) in self.imports.items():
            for module in modules:
                target = self.by_module.get(module)
                if target is not None and target != path:
                    importers.setdefault(target, set()).add(path)
        seen = {name}
        todo = [name]
        while todo:
            for path in importers.get(todo.pop(), ()):
                if path not in seen:
                    seen.add(path)
                    todo.append(path)
        return seen

    def module_files(self, modules: Iterable[str]) -> set[str]:
        """The project files of the modules named (others are not the project's)."""
        return {self.by_module[name] for name in modules if name in self.by_module}


def scan(
    root: Path,
    import_roots: Iterable[Path],
    cached: Mapping[str, tuple[str, tuple[str, ...]]] | None = None,
) -> Project:
    """The project under ``root`` now; a file whose digest is in ``cached`` is not parsed again."""
    names = tree.project_files(root)
    by_module = tree.module_names(root, names, import_roots)
    packages = tree.packages(by_module)
    imports = {}
    parsed = {}
    for name in names:
        if not name.endswith(".py"):
            continue
        data = files.read_regular(root / name)
        if data is None:
            continue
        sha = sha_of(data)
        known = (cached or {}).get(name)
        if known is not None and known[0] == sha:
            imports[name] = known
        else:
            parsed[name] = file_facts(data, packages.get(name, ""))
            imports[name] = (sha, parsed[name].imports)
    return Project(root, names, by_module, packages, imports, parsed)
