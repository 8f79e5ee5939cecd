"""One run's coverage from start to verdict, behind the same methods when it is off.

:func:`coverage_for` returns a :class:`NullCoverage` when coverage is off, so
the runner's hooks call the same methods either way. Only a measured run
imports coverage.py and the modules built on it (they are imported inside the
functions that need them): a run without coverage does not pay for them.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from typing import TYPE_CHECKING, Any

from django_testkit import files
from django_testkit.exceptions import EXIT_OK, EXIT_TESTS_FAILED, ConfigurationError
from django_testkit.specs import ReportSpec

if TYPE_CHECKING:
    from django_testkit.config import TestkitConfig
    from django_testkit.cov.contexts import ClassContexts
    from django_testkit.cov.measure import CoverageSpec
    from django_testkit.cov.session import Session

#: The module holding the run's coverage session, imported only when measuring.
_SESSION_MODULE = "django_testkit.cov.session"


def speaks_for_run() -> bool:
    """Whether this process speaks for the run: not a worker, not the relaunch under coverage."""
    if multiprocessing.parent_process() is not None:
        return False
    # A session exists only once its module was imported (the relaunch imports it
    # first of all); looking it up here keeps coverage.py out of unmeasured runs.
    sessions = sys.modules.get(_SESSION_MODULE)
    if sessions is None:
        return True
    current = sessions.current()
    # A session started at interpreter start-up is this very process's.
    return current is None or current.early


class NullCoverage:
    """Coverage is off: nothing to start, report or enforce."""

    def worker_spec(self) -> CoverageSpec | None:
        return None

    def result_class(self, base: type) -> type:
        return base

    def by_class(self, suite: Any) -> Any:
        return suite

    @property
    def records_map(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def report(self, runner: Any, failed: int, incomplete: str = "") -> int:
        """The exit status of a run without coverage: 1 when a test failed, else 0."""
        # No findings to weigh (cov.verdict's rule without coverage): keeps it unimported.
        return EXIT_TESTS_FAILED if failed else EXIT_OK


def _settings_file() -> str | None:
    """The omit pattern for the settings module ``DJANGO_SETTINGS_MODULE`` names."""
    name = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    path = getattr(sys.modules.get(name), "__file__", None)
    if not path:
        return None
    from django_testkit.cov.measure import settings_omit

    return settings_omit(name, path)


class Coverage:
    """Coverage is on: the session measuring this process, then reports and gates."""

    def __init__(self, session: Session, reports: tuple[ReportSpec, ...]) -> None:
        self.session = session
        self.reports = reports
        self.classes: ClassContexts | None = None
        if session.spec.class_contexts:
            from django_testkit.cov.contexts import ClassContexts

            self.classes = ClassContexts(session.cov)

    @property
    def records_map(self) -> bool:
        """Each test class's lines are recorded (as coverage contexts) for the change map."""
        return self.classes is not None

    def worker_spec(self) -> CoverageSpec | None:
        return self.session.worker_spec()

    def result_class(self, base: type) -> type:
        if not self.session.spec.contexts and self.classes is None:
            return base
        from django_testkit.cov.contexts import with_contexts

        return with_contexts(
            base, self.session.cov, tests=self.session.spec.contexts, classes=self.classes
        )

    def by_class(self, suite: Any) -> Any:
        """A suite run in this process, cut so that each class's context is on before its
        ``setUpClass`` (unchanged when classes are not recorded)."""
        if self.classes is None:
            return suite
        from django_testkit.cov.contexts import by_class

        return by_class(suite, self.classes)

    def data(self) -> Any:
        """The run's combined coverage data (``CoverageData``)."""
        return self.session.finish().get_data()

    def close(self) -> None:
        """Combine what was measured (also after an error) and remove the fragments."""
        self.session.finish()

    def report(self, runner: Any, failed: int, incomplete: str = "") -> int:
        """Reports and thresholds after a run in which ``failed`` tests failed; the exit status."""
        from django_testkit.cov.gates import report_and_check

        return report_and_check(runner, self, failed, incomplete)


def _check_data_file(data_file: str) -> None:
    """Stop with one line when coverage could not write its data beside ``data_file``."""
    problem = files.destination_problem(os.path.abspath(data_file))
    if problem is not None:
        raise ConfigurationError(
            f"coverage's data file {os.path.abspath(data_file)} cannot be written: {problem}; "
            "set COVERAGE_FILE (or data_file in coverage's [run] section) to a path in a "
            "writable directory."
        )


def coverage_for(config: TestkitConfig, verbosity: int) -> NullCoverage | Coverage:
    """Start (or find) the run's measurement; relaunch the command under coverage if need be."""
    if not config.coverage_on:
        return NullCoverage()
    import coverage as coveragepy

    from django_testkit.cov import measure
    from django_testkit.cov import session as sessions
    from django_testkit.cov.gates import check_baseline_before_the_run
    from django_testkit.cov.reports import resolve_destinations

    if config.diff_fail_under is not None and config.diff_base:
        # A base that names no commit is a bad value: stop before any database exists.
        from django_testkit.cov.gitdiff import resolve_base

        resolve_base(config.diff_base, os.getcwd())
    default = (ReportSpec("term"),)
    reports = resolve_destinations(
        default if config.cov_report is None else config.cov_report, os.environ
    )
    check_baseline_before_the_run(config)
    session = sessions.current()
    if session is None or session.early:
        spec = measure.build_spec(config, files.project_dir(), _settings_file())
        # An early session is kept only if it measures as the settings now say.
        session = sessions.confirm(spec) if session is not None else None
    if session is None:
        outer = coveragepy.Coverage.current()
        if outer is not None:
            _check_data_file(str(outer.get_option("run:data_file")))
            session = sessions.adopt(outer, spec)
        else:
            _check_data_file(spec.data_file)
            target = sessions.entry_point()
            if target is not None:
                sessions.relaunch(spec, target)
            session = sessions.start_here(spec)
    if verbosity >= 2:
        implied = config.coverage_implied_by
        if implied is not None:
            from django_testkit.config import BY_NAME

            where = BY_NAME[implied].where(config.origin(implied))
            print(f"Coverage: on, because {where} asks for it (without --cov).")
        print(session.spec.described)
        if session.early:
            print(
                "Coverage: started with the interpreter (django_testkit_startup.pth), so the "
                "command runs once."
            )
    if session.note:
        print(session.note, file=sys.stderr)
    return Coverage(session, reports)
