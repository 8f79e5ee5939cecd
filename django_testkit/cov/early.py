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


def settings_from_manage(script: Path) -> str | None:
    """The settings module ``manage.py`` sets by default (``os.environ.setdefault``)."""
    data = files.read_regular(script)
    if data is None:
        return None
    for node in ast.walk(ast.parse(data)):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "setdefault"
            and len(node.args) == 2
            and all(isinstance(arg, ast.Constant) for arg in node.args)
            and getattr(node.args[0], "value", None) == _SETTINGS
        ):
            return str(getattr(node.args[1], "value", "")) or None
    return None


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
    module = os.environ.get(_SETTINGS) or settings_from_manage(script)
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
