"""Coverage measurement of a run: one plan, every process measured, data combined once.

The parent decides how to measure (a :class:`CoverageSpec`: coverage's own
configuration plus what the run adds) and every process that runs code of the
project, the parent and each worker, measures into its own data file in a
private directory. At the end the parent combines them into coverage's data
file and removes the directory, so no fragment is left behind. Workers save
after every test class, so a worker that dies loses at most the class it ran.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import coverage
from coverage.data import CoverageData

from django_testkit import _compat
from django_testkit.config import TestkitConfig
from django_testkit.exceptions import ConfigurationError

#: Warnings that only make sense for the combined data, not for one process's share.
PARTIAL_DATA_WARNINGS = ["module-not-imported", "no-data-collected", "module-not-measured"]
TEMPLATE_PLUGIN = "django_coverage_plugin"


@dataclass(frozen=True)
class CoverageSpec:
    """How every process of the run measures; picklable and JSON-able."""

    #: coverage's configuration file (a path), or True for coverage's own search.
    config_file: str | bool
    #: coverage options the run sets on top of the file (``set_option`` names).
    options: dict[str, Any] = field(default_factory=dict)
    #: Directory of the per-process data files.
    fragments: str = ""
    #: Where the combined data goes ("": into the ``coverage run`` that is measuring).
    data_file: str = ""
    #: Record each test's id as the dynamic context of the lines it runs.
    contexts: bool = False
    #: Record each test class as the dynamic context of the lines it runs (the change
    #: map of ``--changed``).
    class_contexts: bool = False
    #: What was measured and how, for ``-v 2``.
    described: str = ""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> CoverageSpec:
        return cls(**json.loads(text))


def settings_omit(module: str, path: str) -> str:
    """What to leave out for the settings module ``module`` (its file is ``path``).

    The module itself; a package of settings whole (``config.settings`` as a package,
    or ``config.settings.local`` beside ``base`` and ``production``). Any other file
    named ``settings.py`` is code like any other (a library's ``conf/settings.py``).
    """
    folder = Path(path).resolve().parent
    parts = module.split(".")
    if path.endswith("__init__.py") or (len(parts) > 1 and parts[-2] == "settings"):
        return f"{folder}/**"
    return str(Path(path).resolve())


def default_omit(project: Path, settings_file: str | None) -> list[str]:
    """What a Django project does not want measured: its tests, migrations, settings..."""
    # Anchored in the project: a project that itself lives under a "tests" directory
    # must not omit everything.
    root = str(project)
    patterns = [f"{root}/manage.py"] + [
        f"{root}/**/{pattern}"
        for pattern in (
            "migrations/**",
            "tests/**",
            "tests.py",
            "test_*.py",
            "wsgi.py",
            "asgi.py",
            "site-packages/**",
            "dist-packages/**",
        )
    ]
    if settings_file:
        patterns.append(settings_file)
    for name in (".venv", "venv", "env", ".tox", ".nox", "node_modules"):
        patterns.append(f"{root}/{name}/**")
    try:
        children = sorted(project.iterdir())
    except OSError:
        children = []
    for child in children:
        if (child / "pyvenv.cfg").is_file():
            patterns.append(f"{child}/**")
    return list(dict.fromkeys(patterns))


def choose_core(
    configured: str | None,
    *,
    branch: bool,
    contexts: bool,
    plugins: bool,
    version: tuple[int, int] = sys.version_info[:2],
) -> str:
    """sys.monitoring where it supports what was asked (Python 3.12+), else the C tracer."""
    if configured:
        return configured
    if version < (3, 12) or contexts or plugins or (branch and version < (3, 14)):
        return "ctrace"
    return "sysmon"


def _config_file(config: TestkitConfig) -> str | bool:
    if not config.cov_config:
        return True
    path = Path(config.cov_config)
    if not path.is_file():
        raise ConfigurationError(
            f"--cov-config / settings.TESTKIT['COV_CONFIG'] = {config.cov_config!r} is not a "
            "file; give the path of a .coveragerc, setup.cfg, tox.ini or pyproject.toml."
        )
    return str(path.resolve())


def _check_templates(config: TestkitConfig) -> None:
    if not config.cov_templates:
        return
    if importlib.util.find_spec(TEMPLATE_PLUGIN) is None:
        raise ConfigurationError(
            "--cov-templates / settings.TESTKIT['COV_TEMPLATES'] needs django_coverage_plugin, "
            "which is not installed; pip install 'django-testkit[templates]'."
        )


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _check_sources(config: TestkitConfig) -> None:
    """Stop when a ``--cov`` SOURCE names nothing coverage could measure: most often a
    test label that a bare ``--cov`` took for its SOURCE."""
    for source in config.cov or ():
        if os.path.exists(source) or _importable(source):
            continue
        from django_testkit.config import BY_NAME

        where = BY_NAME["cov"].where(config.origin("cov"))
        raise ConfigurationError(
            f"{where} = {source!r} is neither a directory nor an importable package or "
            "module, so coverage would measure nothing; give a directory or package "
            "(--cov=shop), or put test labels before a bare --cov "
            "(manage.py test shop.tests --cov)."
        )


def build_spec(config: TestkitConfig, project: Path, settings_file: str | None) -> CoverageSpec:
    """Read coverage's configuration and add what the run asks for (no measuring yet)."""
    _check_templates(config)
    _check_sources(config)
    config_file = _config_file(config)
    try:
        probe = coverage.Coverage(config_file=config_file)
    except coverage.CoverageException as exc:
        raise ConfigurationError(
            f"coverage's configuration cannot be read: {exc}; fix the file or pass "
            "--cov-config PATH."
        ) from None
    options: dict[str, Any] = {"run:parallel": False}
    configured_source = any(
        probe.get_option(name)
        for name in ("run:source", "run:source_pkgs", "run:source_dirs", "run:include")
    )
    if config.cov:
        options["run:source"] = list(config.cov)
    elif not configured_source:
        options["run:source"] = [str(project)]
        if not probe.get_option("run:omit"):
            options["run:omit"] = default_omit(project, settings_file)
    if config.cov_branch is not None:
        options["run:branch"] = config.cov_branch
    concurrency = [
        name for name in _as_list(probe.get_option("run:concurrency")) if name != "multiprocessing"
    ]
    options["run:concurrency"] = concurrency or ["thread"]
    plugins = _as_list(probe.get_option("run:plugins"))
    if config.cov_templates and TEMPLATE_PLUGIN not in plugins:
        plugins.append(TEMPLATE_PLUGIN)
        options["run:plugins"] = plugins
    branch = bool(options.get("run:branch", probe.get_option("run:branch")))
    core = choose_core(
        _text(probe.get_option("run:core")),
        branch=branch,
        contexts=bool(config.cov_context) or bool(config.record_map),
        plugins=bool(plugins),
    )
    options["run:core"] = core
    # The change map needs a core that reports a line again in each context: the C
    # (or Python) tracer. sys.monitoring reports a line once; there the map is recorded
    # only when asked for (--record-map), which picks the C tracer.
    class_contexts = (
        config.record_map is not False
        and core != "sysmon"
        and not probe.get_option("run:dynamic_context")
    )
    data_file = Path(str(probe.get_option("run:data_file"))).resolve()
    sources = options.get("run:source") or _as_list(probe.get_option("run:source"))
    described = (
        f"Coverage: measuring {', '.join(sources) or 'what coverage is configured for'} "
        f"({'lines and branches' if branch else 'lines'}, core {core}); data in {data_file}."
    )
    return CoverageSpec(
        config_file=config_file,
        options=options,
        data_file=str(data_file),
        contexts=config.cov_context == "test",
        class_contexts=class_contexts,
        described=described,
    )


def _as_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    return [str(item) for item in value] if isinstance(value, Iterable) else []


def _text(value: object) -> str | None:
    return str(value) if value else None


def make_fragments_dir(data_file: str) -> str:
    """A private directory, beside the data file, for the run's per-process data."""
    folder = Path(data_file).parent
    folder.mkdir(parents=True, exist_ok=True)
    return tempfile.mkdtemp(prefix=".testkit-coverage-", dir=folder)


def start(spec: CoverageSpec, name: str) -> coverage.Coverage:
    """Start measuring this process into ``<fragments>/<name>``, quiet about partial data."""
    cov = coverage.Coverage(
        data_file=os.path.join(spec.fragments, name), config_file=spec.config_file
    )
    for option, value in spec.options.items():
        cov.set_option(option, value)
    disabled = _as_list(cov.get_option("run:disable_warnings"))
    cov.set_option("run:disable_warnings", disabled + PARTIAL_DATA_WARNINGS)
    cov.start()
    return cov


def checkpoint(cov: coverage.Coverage) -> None:
    """Write what this process measured since the last checkpoint to its data file."""
    # save() also walks the source tree for never-imported files every time (4 ms on
    # a small project, far more on a large one); the final save() does that once.
    if not _compat.flush_measured(cov):
        cov.save()


def data_files(cov: coverage.Coverage) -> set[str]:
    """The parallel data files of ``cov``'s data file that exist now."""
    data_file = Path(str(cov.get_option("run:data_file"))).resolve()
    return {
        str(path)
        for path in data_file.parent.glob(f"{data_file.name}.*")
        if not path.name.endswith("-journal")
    }


def combine_new_files(cov: coverage.Coverage, earlier: set[str]) -> None:
    """Combine into ``cov`` the data files written since ``earlier`` was taken."""
    own = str(Path(cov.get_data().data_filename()).resolve())
    new = sorted(data_files(cov) - earlier - {own})
    if new:
        cov.combine(new, keep=False)


def combine(spec: CoverageSpec, into: coverage.Coverage | None = None) -> coverage.Coverage:
    """Combine every fragment into the data file (or ``into``) and remove the fragments."""
    if into is None:
        into = coverage.Coverage(data_file=spec.data_file, config_file=spec.config_file)
        for option, value in spec.options.items():
            into.set_option(option, value)
        CoverageData(basename=spec.data_file).erase()
    if os.path.isdir(spec.fragments):
        names = sorted(os.listdir(spec.fragments))
        paths = [os.path.join(spec.fragments, name) for name in names if "-journal" not in name]
        if paths:
            into.combine(paths, keep=True)
        if spec.data_file:
            into.save()
        shutil.rmtree(spec.fragments, ignore_errors=True)
    return into
