"""Django's seam for a parallel run: the suite its runner runs, cut into units for workers.

``TestkitRunner`` names :class:`PoolSuite` as Django's ``parallel_test_suite``,
so Django's ``build_suite`` hands it the run's units (one TestCase class each)
and ``run_suite`` runs it like any suite. Each worker owns a clone slot for
the whole run; it pulls the next unit when it is free, in the order the
schedule gives, and streams its outcomes, which are replayed here at once.
A worker that dies (or overruns ``--timeout``) turns into an error on the
test it was running; a new worker takes over its slot and the run goes on.
Ctrl-C once stops dispatching and lets running tests finish; a second Ctrl-C
or SIGTERM stops the workers at once. No worker outlives the run.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import unittest
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django_testkit import _compat
from django_testkit.keys import key_of

if TYPE_CHECKING:
    from django_testkit.parallel.poolspec import NotRun, PoolContext, Schedule, Span
    from django_testkit.parallel.scheduling import Unit

# Django's runner names this class even in a serial run, so the pool's modules are
# imported where a parallel run first needs them, never here.


def unit_key(tests: list[Any]) -> str:
    """A unit's stable name: its TestCase class's module and qualified name."""
    return key_of(tests[0])


#: Scratch directories (snapshots, stack dumps) are named for the run's process id.
SCRATCH_PREFIX = "testkit-pool-"


def _remove_dead_runs_scratch() -> None:
    """Remove scratch directories of runs whose process is gone (killed with SIGKILL,
    so that their own cleanup never ran); a live run's directory is left alone."""
    root = Path(tempfile.gettempdir())
    for path in root.glob(f"{SCRATCH_PREFIX}*-*"):
        pid = path.name[len(SCRATCH_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


class PoolSuite(unittest.TestSuite):
    """Django's ``parallel_test_suite``: runs its units in our own worker pool."""

    def __init__(
        self,
        subsuites: list[Any],
        processes: int,
        failfast: bool = False,
        debug_mode: bool = False,
        buffer: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(subsuites)
        self.subsuites = subsuites
        self.processes = processes
        self.failfast = failfast
        self.debug_mode = debug_mode
        self.buffer = buffer
        self.context: PoolContext | None = None
        self.measured: dict[str, float] = {}
        #: Each unit as a worker ran it, for ``--timeline``.
        self.spans: list[Span] = []
        self.not_run: list[NotRun] = []
        #: Units whose coverage data a dying worker took with it.
        self.lost: list[str] = []
        self.interrupted = False
        #: The predicted and actual length of the run (None until it ran to the end).
        self.schedule: Schedule | None = None

    def prepare(self, context: PoolContext) -> None:
        self.context = context

    def incomplete_coverage(self) -> str:
        """Why the run's coverage data misses something ("" when it does not)."""
        if self.lost:
            return "; ".join(self.lost)
        if self.interrupted:
            return "the run was interrupted"
        return ""

    def units(self) -> list[Unit]:
        from django_testkit.parallel.scheduling import Unit

        groups = (_compat.FAILED_IMPORT, *(self.context.reorder_by if self.context else ()))
        units = []
        for index, subsuite in enumerate(self.subsuites):
            tests = list(subsuite)
            group = next(
                (rank for rank, kind in enumerate(groups) if isinstance(tests[0], kind)),
                len(groups),
            )
            units.append(Unit(unit_key(tests), index, group, len(tests)))
        return units

    def run(self, result: Any, debug: bool = False) -> Any:
        from django_testkit.parallel.poolspec import PoolError

        if self.context is None:
            raise PoolError("PoolSuite.run() needs prepare() first (TestkitRunner does it).")
        # The machinery is imported only by runs that use workers.
        from django_testkit.parallel.controller import PoolRun
        from django_testkit.parallel.worker import WorkerSetup

        context = self.context
        run = PoolRun(self, context, result)
        _remove_dead_runs_scratch()
        with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-") as scratch:
            setup = WorkerSetup(
                start_method=context.start_method,
                databases=context.make_databases(Path(scratch)),
                runner_class=context.runner_class,
                runner_kwargs=context.runner_kwargs,
                failfast=self.failfast,
                buffer=self.buffer,
                debug_sql=context.debug_sql,
                mirrors=context.mirrors,
                timeout=context.timeout,
                dump_dir=scratch if context.timeout else "",
                coverage=context.coverage,
                durations=context.test_durations,
            )
            run.execute(setup, self._blobs() if context.start_method != "fork" else {})
        return result

    def _blobs(self) -> dict[int, bytes]:
        """Each unit pickled for workers that do not inherit it (by test id if need be)."""
        blobs = {}
        for index, subsuite in enumerate(self.subsuites):
            tests = list(subsuite)
            try:
                blobs[index] = pickle.dumps(tests)
            except Exception:
                blobs[index] = pickle.dumps([test.id() for test in tests])
        return blobs
