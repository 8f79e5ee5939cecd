"""The start-up hook of ``django_testkit_startup.pth``: cheap for every other process.

Python runs the ``.pth`` file's line in every process of the environment it is
installed in. Only ``python manage.py test ...`` with a coverage option goes on to
:mod:`django_testkit.cov.early`; everything else returns after a glance at
``sys.argv``, and any error leaves coverage to the runner's own relaunch.
"""

from __future__ import annotations

import os
import sys

#: Coverage's options (and those that ask for it) as they start on the command line.
_ASKS = ("--cov", "--record-map", "--diff-fail-under")
#: Set by the runner's relaunch under coverage, and to turn the hook off.
_OFF = ("TESTKIT_COVERAGE_SPEC", "TESTKIT_NO_STARTUP_HOOK")
_started = False


def start() -> None:
    """Start coverage now for a ``manage.py test`` command that measures (at most once)."""
    global _started
    argv = sys.argv
    if _started or len(argv) < 3 or argv[1] != "test" or not argv[0].endswith("manage.py"):
        return
    _started = True
    asks = any(arg.startswith(_ASKS) for arg in argv[2:]) or any(
        name.startswith("TESTKIT_") for name in os.environ
    )
    if not asks or any(name in os.environ for name in _OFF):
        return
    try:
        from django_testkit.cov.early import begin

        begin(list(argv))
    except Exception:
        return
