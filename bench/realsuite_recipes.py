"""Set up third-party Django apps' own test suites from pinned PyPI sdists, in a cache.

Each :class:`Recipe` names one app (sdist name and exact version), the extra packages
its tests import (exact versions), the directory of the unpacked sdist that becomes the
project directory (a ``manage.py`` written there by this module), the settings module
and the test labels. :func:`prepare` downloads the sdist with ``pip download
--no-binary :all: --no-deps``, unpacks it once, writes the entry files, and creates one
venv per interpreter under the cache that sees the interpreter's own packages (a
``.pth`` file) and gets the extra packages installed into it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Installed into the venv only when the interpreter under test lacks them.
BASE_PACKAGES = {
    "django": "Django==5.2.19",
    "coverage": "coverage==7.17.5",
    "tblib": "tblib==3.2.2",
}

MANAGE_PY = '''#!/usr/bin/env python
"""manage.py written by bench/real_suites.py: the same entry for both runners."""

import os
import re
import sys

if __name__ == "__main__":
    os.environ["DJANGO_SETTINGS_MODULE"] = {settings!r}
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
'''


@dataclass(frozen=True)
class Recipe:
    """How to run one app's own tests under ``manage.py test``."""

    name: str  # the --suite name
    package: str  # PyPI name
    version: str
    shape: str  # what this suite stands for in the benchmark
    labels: tuple[str, ...]
    settings: str  # DJANGO_SETTINGS_MODULE
    cov_source: str  # what --cov measures
    project: str = "."  # project directory, relative to the unpacked sdist
    #: Directories (relative to the unpacked sdist) put on PYTHONPATH after the repo root.
    paths: tuple[str, ...] = (".",)
    extras: tuple[str, ...] = ()  # exact pins of what the tests import besides Django
    #: Files written relative to the project directory (besides manage.py).
    files: Mapping[str, str] = field(default_factory=dict)

    @property
    def pin(self) -> str:
        return f"{self.package}=={self.version}"


SIMPLE_HISTORY_SETTINGS = '''"""django-simple-history's test settings, from its runtests.py."""

from runtests import get_default_settings

globals().update(get_default_settings(database_name="sqlite3"))
'''

REVERSION_SETTINGS = '''"""django-reversion's test settings, its three aliases on SQLite."""

from test_project.settings import *  # noqa: F403

DATABASES = {
    alias: {"ENGINE": "django.db.backends.sqlite3", "NAME": f"bench_{alias}.sqlite3"}
    for alias in ("default", "postgres", "mysql")
}
'''

RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        Recipe(
            name="django-filter",
            package="django-filter",
            version="25.1",
            shape="many tiny tests, one alias (in-memory SQLite)",
            labels=("tests",),
            settings="tests.settings",
            cov_source="django_filters",
            extras=("djangorestframework==3.16.1", "pytz==2025.2"),
        ),
        Recipe(
            name="simple-history",
            package="django-simple-history",
            version="3.8.0",
            shape="database-heavy TestCases (history rows on every save), two aliases",
            labels=("simple_history.tests", "simple_history.registry_tests"),
            settings="bench_settings",
            cov_source="simple_history",
            files={"bench_settings.py": SIMPLE_HISTORY_SETTINGS},
        ),
        Recipe(
            name="reversion",
            package="django-reversion",
            version="5.1.0",
            shape='three aliases, every test on all of them (databases="__all__"), '
            "TransactionTestCases",
            labels=("test_app",),
            settings="bench_settings",
            cov_source="reversion",
            project="tests",
            paths=(".", "tests"),
            files={"bench_settings.py": REVERSION_SETTINGS},
        ),
    )
}


@dataclass(frozen=True)
class Prepared:
    """A suite ready to run: its recipe, the interpreter to use and where to run."""

    recipe: Recipe
    python: Path
    source: Path  # the unpacked sdist
    project: Path  # holds manage.py; the runs' working directory

    def env(self, repo_root: Path) -> dict[str, str]:
        paths = [str(repo_root), *(str((self.source / p).resolve()) for p in self.recipe.paths)]
        return {"PYTHONPATH": os.pathsep.join(paths)}


def _run(argv: Sequence[str], log: Path) -> None:
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(map(str, argv))}\n")
        out.flush()
        done = subprocess.run(list(argv), stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode:
        raise RuntimeError(f"setup step failed ({done.returncode}): {list(argv)}; see {log}")


def _sdist_key(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name.lower())


def _download(recipe: Recipe, cache: Path, log: Path) -> Path:
    sdists = cache / "sdists"
    sdists.mkdir(parents=True, exist_ok=True)
    wanted = _sdist_key(f"{recipe.package}-{recipe.version}.tar.gz")
    for attempt in range(2):
        found = [p for p in sdists.glob("*.tar.gz") if _sdist_key(p.name) == wanted]
        if found:
            return found[0]
        if attempt == 0:
            pip = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps"]
            _run([*pip, "--dest", str(sdists), recipe.pin], log)
    raise RuntimeError(f"pip download left no sdist of {recipe.pin} in {sdists}")


def _unpack(archive: Path, cache: Path) -> Path:
    target = cache / "src" / archive.name.removesuffix(".tar.gz")
    if (target / ".bench-unpacked").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        top = {member.name.split("/", 1)[0] for member in tar.getmembers()}
        if len(top) != 1:
            raise RuntimeError(f"{archive} has not exactly one top directory: {sorted(top)}")
        tar.extractall(target.parent, filter="data")
    unpacked = target.parent / top.pop()
    if unpacked != target:
        unpacked.rename(target)
    (target / ".bench-unpacked").write_text("ok\n", encoding="utf-8")
    return target


def _venv(python: Path, cache: Path, log: Path) -> Path:
    """A venv for ``python`` that also sees its packages; returns the venv's python."""
    tag = hashlib.sha256(str(python.resolve()).encode()).hexdigest()[:10]
    venv = cache / f"venv-{tag}"
    venv_python = venv / "bin" / "python"
    if not venv_python.exists():
        _run([str(python), "-m", "venv", str(venv)], log)
    probe = (
        "import json, site, sysconfig; "
        "print(json.dumps([sysconfig.get_paths()['purelib'], sysconfig.get_paths()['platlib'],"
        " *site.getsitepackages()]))"
    )
    parent_paths = json.loads(subprocess.check_output([str(python), "-c", probe], text=True))
    own = json.loads(subprocess.check_output([str(venv_python), "-c", probe], text=True))[0]
    lines = dict.fromkeys(p for p in parent_paths if p not in own)
    (Path(own) / "_bench_parent_packages.pth").write_text("\n".join(lines) + "\n", "utf-8")
    # What installing the wheel adds (the repository itself comes through PYTHONPATH):
    # the hook that starts coverage with the interpreter instead of a second start.
    repo = Path(__file__).resolve().parent.parent
    hook = (repo / "django_testkit" / "startup.pth.in").read_text(encoding="utf-8")
    (Path(own) / "django_testkit_startup.pth").write_text(hook, encoding="utf-8")
    return venv_python


def _missing(python: Path, modules: Sequence[str]) -> list[str]:
    check = (
        "import importlib.util, sys; print(' '.join(m for m in sys.argv[1:] if "
        "importlib.util.find_spec(m) is None))"
    )
    out = subprocess.check_output([str(python), "-c", check, *modules], text=True)
    return out.split()


def prepare(recipe: Recipe, python: Path, cache: Path) -> Prepared:
    """Download, unpack and install what ``recipe`` needs; write its manage.py."""
    cache.mkdir(parents=True, exist_ok=True)
    log = cache / "setup.log"
    archive = _download(recipe, cache, log)
    source = _unpack(archive, cache)
    project = source / recipe.project
    (project / "manage.py").write_text(MANAGE_PY.format(settings=recipe.settings), "utf-8")
    for name, text in recipe.files.items():
        (project / name).write_text(text, encoding="utf-8")
    venv_python = _venv(python, cache, log)
    wanted = [BASE_PACKAGES[m] for m in _missing(venv_python, list(BASE_PACKAGES))]
    marker = venv_python.parent.parent / ".bench-installed"
    done = set(marker.read_text("utf-8").split()) if marker.is_file() else set()
    wanted += [pin for pin in recipe.extras if pin not in done]
    pip = [str(venv_python), "-m", "pip", "install", "--quiet"]
    if wanted:
        _run([*pip, *wanted], log)
    if recipe.pin not in done:
        # Installed only for its metadata (some tests read their app's version);
        # the sources on PYTHONPATH come first, so they are what runs and is measured.
        _run([*pip, "--no-deps", str(archive)], log)
    installed = done | set(wanted) | {recipe.pin}
    marker.write_text("\n".join(sorted(installed)) + "\n", encoding="utf-8")
    return Prepared(recipe, venv_python, source, project)
