"""``TestkitRunner``: the ``DiscoverRunner`` subclass users name in ``TEST_RUNNER``."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import time
from argparse import ArgumentParser
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connections
from django.test.runner import DiscoverRunner

from django_testkit import _compat, leftovers
from django_testkit.config import add_arguments, command_line, load_config
from django_testkit.cov.lifecycle import coverage_for, speaks_for_run
from django_testkit.databases.facts import plan_from_connections
from django_testkit.databases.mirrors import (
    MirrorSharing,
    include_mirror_primaries,
)
from django_testkit.databases.plan import DatabasePlan
from django_testkit.databases.setup import (
    SetupOptions,
    TestDatabases,
    setup_test_databases,
    teardown_test_databases,
)
from django_testkit.exceptions import EXIT_OK, EXIT_TESTS_FAILED
from django_testkit.interrupts import (
    INTERRUPTED_EXIT_STATUS,
    results_survive_interrupts,
    sigterm_raises,
)
from django_testkit.parallel.arguments import (
    accept_parallel_auto,
    resolve_parallel,
    runner_kwargs_for_workers,
)
from django_testkit.parallel.suite import PoolSuite

if TYPE_CHECKING:
    from django_testkit.junit import Recorder
    from django_testkit.parallel.classclock import ClassClock
    from django_testkit.parallel.deadline import Deadline
    from django_testkit.parallel.reruns import Reruns
    from django_testkit.parallel.shards import Shard


class TestkitRunner(DiscoverRunner):
    """A drop-in replacement for Django's ``DiscoverRunner``.

    Every option, attribute and hook of ``DiscoverRunner`` keeps its meaning, so
    projects that subclass Django's runner can subclass this one instead.
    """

    # Keep pytest from collecting the runner class when it is imported in tests.
    __test__ = False
    parallel_test_suite = PoolSuite  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cli = command_line(kwargs)
        # A worker's runner only rebuilds the test environment; it never measures.
        self.worker_kwargs = runner_kwargs_for_workers({**kwargs, **cli, "no_cov": True})
        if "parallel" in kwargs:
            kwargs["parallel"] = resolve_parallel(kwargs["parallel"])
        super().__init__(*args, **kwargs)
        self.config = load_config(
            getattr(settings, "TESTKIT", None), os.environ, cli, warn_unknown=speaks_for_run()
        )
        self.start_method = self.config.start_method or multiprocessing.get_start_method()
        self.shard: Shard | None = None
        if self.config.shard:
            from django_testkit.parallel.shards import shard_of

            self.shard = shard_of(self.config)
        #: Unit keys of the tests that failed last time, under ``--failed-first``.
        self.run_first: frozenset[str] = frozenset()
        #: What failed last time, and the ids of the tests the suite holds (only read
        #: when something failed last time).
        self.failed_before: Any = None
        self.selected: list[str] | None = None
        #: The test labels the run was given, for the artifacts' manifest.
        self.labels: list[str] = []
        #: No labels, tags, -k or --last-failed narrowed the suite (a shard's cut aside).
        self.whole_selection = False
        #: Under --shard: the split's fingerprint and how many tests it cut from.
        self.shard_split = ""
        self.shard_selected = 0
        #: Class durations this run measured.
        self.measured: dict[str, float] = {}
        #: Modules loaded before the tests were (``--changed``: Django imported them).
        self.startup_modules = frozenset(sys.modules if self.config.changed is not None else ())
        if self.config.changed:
            from django_testkit.parallel.changed import check_base

            check_base(self.config.changed)
        self.coverage = coverage_for(self.config, self.verbosity)
        self.coverage_status = EXIT_OK
        self.mirror_sharing = MirrorSharing({})
        self.databases: Any = None
        self.whole_suite = False
        #: When the run began and its timed phases (``time.monotonic()``), for the timeline.
        self.run_started = time.monotonic()
        self.phases: list[tuple[str, float, float]] = []
        #: The JUnit report's cases, under ``--junit-xml``.
        self.junit: Recorder | None = None
        #: Class durations of a run without workers (set when its result class is made).
        self.clock: ClassClock | None = None
        #: The per-test deadline of an in-process run under ``--timeout``.
        self.deadline: Deadline | None = None
        #: ``--rerun-failures``: None when off.
        self.reruns: Reruns | None = None
        if self.config.rerun_failures:
            from django_testkit.parallel.reruns import Reruns

            self.reruns = Reruns.of(self)

    @classmethod
    def add_arguments(cls, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        accept_parallel_auto(parser)
        add_arguments(parser)

    def build_suite(self, *args: Any, **kwargs: Any) -> Any:
        # Django 4.2 also takes extra_tests; pass every argument on as given.
        labels = args[0] if args else kwargs.get("test_labels")
        self.labels = list(labels or [])
        self.whole_suite = not labels and not (
            self.tags or self.exclude_tags or self.test_name_patterns
        )
        self.whole_selection = self.whole_suite
        selects = self.config.last_failed or self.config.failed_first
        if self.shard is not None or selects or self.config.changed is not None:
            from django_testkit.parallel.selection import selecting

            # Django builds the suite from this, before it cuts it into workers' units.
            self.test_suite = selecting(self, self.test_suite)  # type: ignore[assignment]
        try:
            suite = super().build_suite(*args, **kwargs)
        finally:
            self.__dict__.pop("test_suite", None)
        from django_testkit.parallel.selection import known_failures

        self.failed_before = known_failures(self)
        if self.failed_before:
            # Which of them this run can clear: the tests it holds.
            self.selected = [test.id() for test in _compat.iter_test_cases(suite)]
        # Rows a TransactionTestCase writes through a mirror are flushed with its primary.
        include_mirror_primaries(suite)
        return suite

    def run_tests(self, *args: Any, **kwargs: Any) -> Any:
        self.run_started = time.monotonic()
        before = leftovers.snapshot()
        status = EXIT_TESTS_FAILED
        try:
            with sigterm_raises():
                failures = super().run_tests(*args, **kwargs)
            status = EXIT_TESTS_FAILED if failures else self.coverage_status
        except SystemExit as exit:
            status = exit.code if isinstance(exit.code, int) else EXIT_TESTS_FAILED
            raise
        except KeyboardInterrupt:
            status = INTERRUPTED_EXIT_STATUS
            raise
        finally:
            self.coverage.close()
            leftovers.end_run(before, status)
        if not failures and self.coverage_status:
            # All tests passed but a coverage threshold was missed: coverage.py's status 2.
            raise SystemExit(self.coverage_status)
        return failures

    def setup_databases(self, **kwargs: Any) -> Any:
        """Plan the test databases, then create, clone and mirror them.

        The aliases the tests need are closed under TEST MIRROR and DEPENDENCIES
        (see :mod:`django_testkit.databases.plan`) and validated before anything is
        created; :mod:`django_testkit.databases.setup` carries the plan out.
        """
        aliases = kwargs.get("aliases")
        serialized = kwargs.get("serialized_aliases")
        plan = self.plan_databases(connections if aliases is None else aliases)
        options = SetupOptions(
            verbosity=self.verbosity,
            interactive=self.interactive,
            keepdb=self.keepdb,
            reuse_db=self.config.reuse_db,
            create_db=self.config.create_db,
            clones=self.parallel if self.parallel > 1 else 0,
            serialized_aliases=None if serialized is None else frozenset(serialized),
            debug_sql=self.debug_sql,
            processes=self.config.setup_processes,
            start_method=self.start_method,
        )
        with self.phase("database setup"):
            databases = setup_test_databases(plan, options, self.time_keeper)
        if self.config.mirrors_see_primary_writes:
            self.mirror_sharing = MirrorSharing(plan.mirrors)
        self.databases = databases
        return databases

    def teardown_databases(self, old_config: Any, **kwargs: Any) -> None:
        """Destroy the test databases this run created (kept ones stay)."""
        # An interrupted test may not have given its mirrors back.
        self.mirror_sharing.stop()
        with self.phase("teardown"):
            if isinstance(old_config, TestDatabases):
                teardown_test_databases(old_config)
            else:
                super().teardown_databases(old_config, **kwargs)

    def get_test_runner_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_test_runner_kwargs()
        if self.reruns is not None:
            # unittest's summary counts the flaky tests too.
            kwargs["stream"] = self.reruns.stream(kwargs.get("stream") or sys.stderr)
        from django_testkit.parallel.resultclass import result_class

        wrapped = result_class(self, kwargs.get("resultclass"))
        if wrapped is not None:
            kwargs["resultclass"] = wrapped
        return kwargs

    def run_suite(self, suite: Any, **kwargs: Any) -> Any:
        if isinstance(suite, PoolSuite):
            from django_testkit.parallel.context import pool_context

            suite.prepare(pool_context(self))
        else:
            # Each class's coverage context on before its setUpClass (the change map).
            suite = self.coverage.by_class(suite)
        deadline = self.in_process_deadline(suite)
        runnable = suite if self.reruns is None else self.reruns.wrap(suite)
        with results_survive_interrupts(self), deadline, self.phase("tests"):
            result = super().run_suite(runnable, **kwargs)  # type: ignore[arg-type]
        if self.reruns is not None:
            self.reruns.report()
        if isinstance(self.databases, TestDatabases):
            # Kept databases are clean only if every test ended (a TransactionTestCase
            # flushes after itself): not if a worker died or was stopped mid-class.
            lost = isinstance(suite, PoolSuite) and bool(
                suite.lost or suite.interrupted or result.shouldStop
            )
            self.databases.tests_ended = not lost
        return result

    def in_process_deadline(self, suite: Any) -> contextlib.AbstractContextManager[Any]:
        """``--timeout`` for tests this process runs itself (workers have their own)."""
        if not self.config.timeout or isinstance(suite, PoolSuite):
            return contextlib.nullcontext()
        from django_testkit.parallel.deadline import for_run

        return for_run(self)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time one phase of the run, for the timeline."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases.append((name, started, time.monotonic()))

    def suite_result(self, suite: Any, result: Any, **kwargs: Any) -> int:
        failed: int = super().suite_result(suite, result, **kwargs)
        from django_testkit.combine.afterrun import after_suite

        # Stores, coverage reports and thresholds, the change map, JUnit, artifacts.
        return after_suite(self, suite, result, failed)

    def plan_databases(self, needed: Any) -> DatabasePlan:
        """Plan the run's test databases from the configured connections."""
        clones = self.parallel if self.parallel > 1 else 0
        return plan_from_connections(connections, needed, self.config.db_suffix, clones, self.log)
