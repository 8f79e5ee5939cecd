"""Single-line mutations of a project's source, for proving that ``--changed`` misses nothing.

Each mutation edits one line of one file and leaves a file that still parses:
it flips a comparison, changes a constant (a default argument, a class attribute
or module-level data when that is where the constant is), or replaces a statement
with ``pass``. :func:`mutants` lists them all; a caller samples them with a seed.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_FLIPS = {
    ast.Eq: "!=",
    ast.NotEq: "==",
    ast.Lt: ">=",
    ast.GtE: "<",
    ast.Gt: "<=",
    ast.LtE: ">",
    ast.Is: "is not",
    ast.IsNot: "is",
    ast.In: "not in",
    ast.NotIn: "in",
}


@dataclass(frozen=True)
class Mutant:
    """One edit: in ``path`` (relative), line ``line`` becomes ``new``."""

    path: str
    line: int
    kind: str
    old: str
    new: str

    def describe(self) -> str:
        return (
            f"{self.path}:{self.line} ({self.kind}): {self.old.strip()!r} -> {self.new.strip()!r}"
        )

    def apply(self, root: Path) -> str:
        """Write the mutant; the file's original text, to restore it."""
        target = root / self.path
        original = target.read_text(encoding="utf-8")
        lines = original.split("\n")
        lines[self.line - 1] = self.new
        target.write_text("\n".join(lines), encoding="utf-8")
        return original


def _constant(value: object) -> str | None:
    if isinstance(value, bool):
        return repr(not value)
    if isinstance(value, int | float):
        return repr(value + 1)
    if isinstance(value, str) and "\n" not in value:
        return repr(value + "x")
    return None


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _kind_of_constant(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str:
    parent = parents.get(node)
    while parent is not None and not isinstance(parent, ast.stmt | ast.arguments):
        parent = parents.get(parent)
    if isinstance(parent, ast.arguments):
        return "default argument"
    holder = parents.get(parent) if parent is not None else None
    if isinstance(holder, ast.ClassDef):
        return "class attribute"
    if isinstance(holder, ast.Module):
        return "module level"
    return "constant"


def _in_docstring(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    return isinstance(parent, ast.Expr)


def _edits(tree: ast.Module, lines: list[str]) -> Iterator[tuple[int, str, str]]:
    parents = _parents(tree)
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) != getattr(node, "end_lineno", -1):
            continue
        row = node.lineno - 1 if hasattr(node, "lineno") else 0
        text = lines[row] if row < len(lines) else ""
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            start, end = node.left.end_col_offset, node.comparators[0].col_offset
            if start is None or end is None:
                continue
            flipped = _FLIPS.get(type(node.ops[0]))
            if flipped:
                yield node.lineno, "comparison", f"{text[:start]} {flipped} {text[end:]}"
        elif isinstance(node, ast.Constant) and not _in_docstring(node, parents):
            new = _constant(node.value)
            start, end = node.col_offset, node.end_col_offset
            if new is not None and end is not None and text[start:end] == repr(node.value):
                yield (
                    node.lineno,
                    _kind_of_constant(node, parents),
                    text[:start] + new + text[end:],
                )
        elif isinstance(node, ast.stmt) and not isinstance(node, ast.Pass):
            holder = parents.get(node)
            body = getattr(holder, "body", None)
            if isinstance(body, list) and node in body and len(body) > 1:
                if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom):
                    continue
                indent = text[: len(text) - len(text.lstrip())]
                yield node.lineno, "statement deleted", f"{indent}pass"


def mutants(root: Path, files: list[str]) -> list[Mutant]:
    """Every mutant of ``files`` (relative to ``root``) that parses and changes the code."""
    found = []
    for name in files:
        source = (root / name).read_text(encoding="utf-8")
        lines = source.split("\n")
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        before = ast.dump(tree)
        for line, kind, new in _edits(tree, lines):
            changed = [*lines[: line - 1], new, *lines[line:]]
            try:
                after = ast.dump(ast.parse("\n".join(changed)))
            except SyntaxError:
                continue
            if after != before:
                found.append(Mutant(name, line, kind, lines[line - 1], new))
    return found


def sample(found: list[Mutant], count: int, seed: int) -> list[Mutant]:
    """``count`` mutants drawn with ``seed``: each kind in turn, at most one per line."""
    shuffled = random.Random(seed).sample(found, len(found))
    kinds: dict[str, list[Mutant]] = {}
    for mutant in shuffled:
        kinds.setdefault(mutant.kind, []).append(mutant)
    picked: dict[tuple[str, int], Mutant] = {}
    while len(picked) < count and any(kinds.values()):
        for group in kinds.values():
            while group:
                mutant = group.pop()
                if (mutant.path, mutant.line) not in picked:
                    picked[(mutant.path, mutant.line)] = mutant
                    break
    return list(picked.values())[:count]


def project_sources(root: Path) -> list[str]:
    """The project's own code: Python files that are not tests, migrations or settings."""
    names = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        parts = relative.split("/")
        if any(
            part in ("tests", "migrations", "__pycache__") or part.startswith(".")
            for part in parts
        ):
            continue
        if parts[-1].startswith("test") or parts[-1] in (
            "manage.py",
            "settings.py",
            "wsgi.py",
            "asgi.py",
        ):
            continue
        names.append(relative)
    return names
