"""The project's own modules that some files import, directly or through each other.

A data migration runs whatever project code it imports (a helper that lists
rows to insert, a custom field): the schema fingerprint must change when that
code does, not only when the migration file does. :func:`imported_project_files`
reads the import statements of the given files (anywhere in them, also inside
functions) and follows them, transitively, into every module that lives in the
project (not the standard library, not an installed package). It parses
source only; it never imports a module, except the parent packages Python's
own module lookup imports.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import site
import sys
import sysconfig
from collections.abc import Iterable, Iterator
from pathlib import Path


@functools.cache
def _library_roots() -> tuple[str, ...]:
    """Where the standard library and installed packages live (with a trailing sep)."""
    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    roots.update(getattr(site, "getsitepackages", list)())
    user_site = getattr(site, "getusersitepackages", lambda: "")()
    if user_site:
        roots.add(user_site)
    return tuple(sorted({os.path.join(os.path.realpath(root), "") for root in roots if root}))


def is_project_file(path: Path | str) -> bool:
    """Whether ``path`` is a source file of the project (not stdlib, not site-packages)."""
    real = os.path.realpath(path)
    return Path(real).suffix == ".py" and not real.startswith(_library_roots())


def module_file(name: str) -> Path | None:
    """The source file of module ``name``; None if it has none or cannot be found."""
    module = sys.modules.get(name)
    origin = getattr(module, "__file__", None) if module is not None else None
    if module is None:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, AttributeError, ValueError):
            # Not a module: "pkg.module.SomeClass" from "from pkg.module import SomeClass".
            return None
        if spec is not None and spec.has_location:
            origin = spec.origin
    return Path(origin) if origin else None


def imported_names(source: str, package: str) -> Iterator[str]:
    """Every module name that ``source`` (a module of package ``package``) may import.

    ``import a.b`` imports ``a`` and ``a.b``; ``from a import b`` imports ``a``
    and, if it is a module, ``a.b``; relative imports are resolved against
    ``package``.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _with_parents(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                try:
                    base = importlib.util.resolve_name("." * node.level + base, package)
                except (ImportError, ValueError):
                    continue
            if not base:
                continue
            yield from _with_parents(base)
            for alias in node.names:
                if alias.name != "*":
                    yield f"{base}.{alias.name}"


def _with_parents(name: str) -> Iterator[str]:
    parts = name.split(".")
    for end in range(1, len(parts) + 1):
        yield ".".join(parts[:end])


def imported_project_files(files: Iterable[tuple[Path, str]]) -> set[Path]:
    """The project source files that ``files`` import, transitively.

    ``files`` are ``(path, package)`` pairs: a source file and the package its
    relative imports start from. The files themselves are not in the result
    unless one of them imports another.
    """
    found: set[Path] = set()
    queue = list(files)
    while queue:
        path, package = queue.pop()
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for name in imported_names(source, package):
            target = module_file(name)
            if target is None or target in found or not is_project_file(target):
                continue
            found.add(target)
            queue.append((target, name if target.name == "__init__.py" else _parent(name)))
    return found


def _parent(name: str) -> str:
    return name.rpartition(".")[0]
