"""Coverage started at interpreter start-up, so that ``manage.py test --cov`` runs once.

The package installs ``django_testkit_startup.pth``, which calls
:func:`django_testkit._startup.start` while Python starts, before ``manage.py``
runs. For a ``manage.py test`` command line that asks for coverage, this module
works out the measurement from the command line, the environment and the
``DJANGO_SETTINGS_MODULE`` that ``manage.py`` sets, and starts it there. When the
runner later builds the measurement with the settings too, it keeps this one if
both agree; otherwise (``settings.TESTKIT`` asks for something else, say) it stops
it and starts the command again under coverage, as without the hook. Anything
unexpected here leaves coverage to the runner.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path

from django_testkit import files
from django_testkit.config import add_arguments, command_line, load_config
from django_testkit.cov import measure
from django_testkit.cov import session as sessions

_SETTINGS = "DJANGO_SETTINGS_MODULE"


def settings_from_manage(script: Path, environ: dict[str, str]) -> str | None:
    """The settings module ``manage.py`` will use: what it assigns to
    ``os.environ["DJANGO_SETTINGS_MODULE"]``, else the environment's, else its
    ``os.environ.setdefault`` default; None when it does something else."""
    data = files.read_regular(script)
    if data is None:
        return None
    default = None
    for node in ast.walk(ast.parse(data)):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Subscript)
            and _constant(node.targets[0].slice) == _SETTINGS
            and isinstance(_constant(node.value), str)
        ):
            return str(_constant(node.value))
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "setdefault"
            and len(node.args) == 2
            and _constant(node.args[0]) == _SETTINGS
            and isinstance(_constant(node.args[1]), str)
        ):
            default = str(_constant(node.args[1]))
    return environ.get(_SETTINGS) or default


def _constant(node: ast.AST) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def _settings_file(project: Path, module: str) -> str | None:
    base = project.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return measure.settings_omit(module, str(candidate))
    return None


def begin(argv: list[str]) -> None:
    """Start the run's measurement now when ``argv`` is ``manage.py test`` asking for it."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    known, _ = parser.parse_known_args(argv[2:])
    config = load_config(None, os.environ, command_line(vars(known)))
    if not config.coverage_on or sessions.current() is not None:
        return
    script = Path(argv[0]).resolve()
    project = script.parent
    module = settings_from_manage(script, dict(os.environ))
    settings_file = _settings_file(project, module) if module else None
    if settings_file is None:
        return
    # What Python will put first on sys.path for the script, for --cov SOURCE names.
    sys.path.insert(0, str(project))
    try:
        spec = measure.build_spec(config, project, settings_file)
    finally:
        sys.path.remove(str(project))
    if files.destination_problem(os.path.abspath(spec.data_file)) is None:
        sessions.start_early(spec)
