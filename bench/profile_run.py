#!/usr/bin/env python
"""Run ``manage.py test ...`` with its parent process and every forked worker under cProfile.

``python bench/profile_run.py OUTDIR manage.py test ARGS...`` (from the project
directory, with the interpreter that runs the project): writes ``OUTDIR/parent.prof`` and
``OUTDIR/worker-<slot>-<pid>.prof`` (one per worker process, replacements included).
Workers are profiled through ``django_testkit.parallel.worker.main``, so only workers
started with ``fork`` (the default on Linux) are covered: a spawned worker imports the
module afresh. Profiling slows every process down, worker and parent alike; read the
profiles for where time goes, not for how much.
"""

from __future__ import annotations

import cProfile
import os
import runpy
import sys
from pathlib import Path
from typing import Any

#: The parent's profile. A forked worker inherits it running: from Python 3.12 cProfile
#: is a sys.monitoring tool, and a second one cannot start until it is turned off.
_PARENT: list[cProfile.Profile] = []


def _profiled_workers(out: Path) -> None:
    from django_testkit import leftovers
    from django_testkit.parallel import worker

    run_worker = worker.main

    def main(setup: Any, slot: int, *args: Any, **kwargs: Any) -> None:
        profile = cProfile.Profile()
        end = leftovers.exit_now

        def exit_now(status: int) -> None:
            profile.disable()
            profile.dump_stats(str(out / f"worker-{slot}-{os.getpid()}.prof"))
            end(status)

        leftovers.exit_now = exit_now
        for inherited in _PARENT:
            inherited.disable()
        profile.enable()
        run_worker(setup, slot, *args, **kwargs)

    worker.main = main


def run(out: Path, script: str, args: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    # What Python puts first on sys.path when it runs ``script`` itself.
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    _profiled_workers(out)
    sys.argv = [script, *args]
    profile = cProfile.Profile()
    _PARENT.append(profile)
    try:
        profile.runcall(runpy.run_path, script, run_name="__main__")
    finally:
        profile.dump_stats(str(out / "parent.prof"))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: profile_run.py OUTDIR SCRIPT [ARGS...]")
    run(Path(sys.argv[1]), sys.argv[2], sys.argv[3:])
