"""Make Django's next deprecations errors in every Python process an end-to-end test starts.

``PYTHONWARNINGS`` and ``-W`` cannot name these classes: Python reads them before
site-packages is on ``sys.path``, fails to import ``django.utils.deprecation`` and only
prints "Invalid -W option ignored". ``site`` imports this module once site-packages is
on the path; the launcher in ``tests/support/projects.py`` puts its folder first on
``PYTHONPATH``, so workers and relaunched processes, which inherit the environment, get
it too. An import error here is printed by ``site`` ("Error in sitecustomize") and the
effectiveness test in ``tests/test_e2e_deprecations.py`` fails.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import warnings

from django.utils.deprecation import RemovedAfterNextVersionWarning, RemovedInNextVersionWarning

warnings.filterwarnings("error", category=RemovedInNextVersionWarning)
warnings.filterwarnings("error", category=RemovedAfterNextVersionWarning)


def _run_the_hidden_sitecustomize() -> None:
    """Run the interpreter's own ``sitecustomize``, which this module hides, if it has one."""
    here = os.path.dirname(os.path.abspath(__file__))
    elsewhere = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", elsewhere)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


_run_the_hidden_sitecustomize()
