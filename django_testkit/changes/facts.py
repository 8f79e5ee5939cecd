"""What a Python file is made of, for telling what a change touched: pure, from its source.

A file is cut into *scopes*: every function and method (nested ones too), named by
its qualified name, and the *module level*: everything Python runs when it imports
the file (imports, constants, class bodies, decorators, the names of the functions a
class or module defines), with function bodies and signatures left out. Each part
has a digest of its syntax tree without line numbers, so a change that only moves
code (lines added above it) changes no digest, and an edit to a function's body or
signature (a default argument) changes that function's digest and nothing else.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import re
from dataclasses import dataclass, field

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


@dataclass(frozen=True)
class Scope:
    """A function or method: the lines its body spans and the digest of its code."""

    first: int
    last: int
    digest: str


@dataclass(frozen=True)
class FileFacts:
    """A Python file's content digest, module-level digest, scopes and imports."""

    sha: str
    module: str
    scopes: dict[str, Scope] = field(default_factory=dict)
    #: Absolute names of the modules the file imports anywhere (module level or not).
    imports: tuple[str, ...] = ()
    #: The file does not parse: every part of it counts as changed.
    broken: bool = False

    def owner_of_lines(self) -> list[str]:
        """For each line number (index), the innermost scope whose body holds it ("": the
        module level)."""
        size = max((scope.last for scope in self.scopes.values()), default=0) + 2
        owners = [""] * size
        # Outer functions start before the functions nested in them: paint outer first.
        for name, scope in sorted(self.scopes.items(), key=lambda item: item[1].first):
            owners[scope.first : scope.last + 1] = [name] * (scope.last - scope.first + 1)
        return owners


def sha_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:20]


def _digest(node: ast.AST) -> str:
    return hashlib.sha256(ast.dump(node).encode()).hexdigest()[:16]


def _scopes(tree: ast.Module) -> dict[str, Scope]:
    found: dict[str, Scope] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _FUNCTIONS):
                name = f"{prefix}{child.name}"
                # A redefinition (a property's setter) is a scope of its own.
                unique, count = name, 1
                while unique in found:
                    count += 1
                    unique = f"{name}#{count}"
                first = child.body[0].lineno if child.body else child.lineno
                last = child.end_lineno or child.lineno
                found[unique] = Scope(first, last, _digest(child))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


class _ModuleLevel(ast.NodeTransformer):
    """Strip what runs only when a function is called: bodies, arguments, annotations."""

    def _strip(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        node.body = [ast.Pass()]
        node.args = ast.arguments(
            posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], defaults=[]
        )
        node.returns = None
        node.decorator_list = [self.visit(item) for item in node.decorator_list]
        return node

    visit_FunctionDef = _strip
    visit_AsyncFunctionDef = _strip


def _absolute(module: str, level: int, package: str) -> str | None:
    """The absolute name a (relative) import names from inside ``package``."""
    if not level:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base) or None


def _names_module(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _DOTTED.fullmatch(node.value) is not None
    )


def _imports(tree: ast.Module, package: str) -> tuple[str, ...]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                names.update(".".join(parts[: index + 1]) for index in range(len(parts)))
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module or "", node.level, package)
            if base is None:
                continue
            parts = base.split(".")
            names.update(".".join(parts[: index + 1]) for index in range(len(parts)))
            # "from package import module" imports the submodule when there is one.
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif _names_module(node):
            # Django imports by name what settings and URLconfs name ("orders.urls",
            # "orders.middleware.Audit"): such a name counts as an import of its module.
            parts = str(getattr(node, "value", "")).split(".")
            names.update(".".join(parts[: index + 1]) for index in range(len(parts)))
    return tuple(sorted(names))


def file_facts(data: bytes, package: str = "") -> FileFacts:
    """The facts of a file with content ``data`` in ``package`` (for relative imports)."""
    sha = sha_of(data)
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return FileFacts(sha, sha, broken=True)
    scopes = _scopes(tree)
    imports = _imports(tree, package)
    module = _digest(_ModuleLevel().visit(copy.deepcopy(tree)))
    return FileFacts(sha, module, scopes, imports)
