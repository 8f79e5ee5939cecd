"""What the runner hands a parallel run and reads back: the pool's context, then its report."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import connections

from django_testkit.config import TestkitConfig
from django_testkit.databases.setup import TestDatabases
from django_testkit.parallel.durations import (
    durations_path,
    load_durations,
    record_durations,
)
from django_testkit.parallel.poolspec import PoolContext
from django_testkit.parallel.scheduling import strategy_for

if TYPE_CHECKING:
    from django_testkit.databases.workers import WorkerDatabases
    from django_testkit.parallel.suite import PoolSuite

#: How many not-run test ids the summary lists before it just counts them.
NOT_RUN_LISTED = 20


def pool_context(runner: Any) -> PoolContext:
    config: TestkitConfig = runner.config
    durations, warning = load_durations(durations_path(config))
    if warning:
        runner.log(warning, level=logging.WARNING)
    schedule = config.schedule
    if schedule == "duration" and (runner.shuffle_seed is not None or runner.reverse):
        schedule = "discovery"
        runner.log(
            "Parallel workers take test classes in the order --shuffle/--reverse gave.",
            level=logging.DEBUG,
        )
    record = runner.databases

    def make_databases(scratch: Path) -> WorkerDatabases:
        from django_testkit.databases.workers import describe

        if isinstance(record, TestDatabases):
            owners = [item.alias for item in record.created]
            pointed = dict(record.targets)
        else:
            used = [alias for alias in connections if connections[alias].settings_dict]
            pointed = {
                alias: connections[alias].settings_dict["TEST"]["MIRROR"]
                for alias in used
                if connections[alias].settings_dict.get("TEST", {}).get("MIRROR")
            }
            owners = [alias for alias in used if alias not in pointed]
        return describe(owners, pointed, runner.start_method, scratch, runner.debug_sql)

    def refresh_slot(slot: int) -> None:
        from django_testkit.databases.build import recopy_clone

        if isinstance(record, TestDatabases):
            for item in record.created:
                if str(slot) in item.clones:
                    recopy_clone(item.alias, str(slot))

    return PoolContext(
        start_method=runner.start_method,
        strategy=strategy_for(schedule),
        durations=durations,
        make_databases=make_databases,
        runner_class=type(runner),
        runner_kwargs=runner.worker_kwargs,
        mirrors=dict(runner.mirror_sharing.mirrors),
        timeout=config.timeout,
        debug_sql=runner.debug_sql,
        reorder_by=tuple(runner.reorder_by),
        verbosity=runner.verbosity,
        live=not os.environ.get("CI"),
        coverage=runner.coverage.worker_spec(),
        refresh_slot=refresh_slot,
        first=runner.run_first,
        test_durations=bool(config.junit_xml or config.artifacts),
    )


def report_pool(runner: Any, suite: PoolSuite) -> int:
    """Record durations and say what did not run; 1 when the run is incomplete."""
    # What the run started from (read once, before the run, by pool_context).
    old = suite.context.durations if suite.context is not None else {}
    present = None
    if runner.whole_suite and not suite.interrupted:
        present = {unit.key for unit in suite.units()}
    if runner.shard is None:
        record_durations(runner, old, suite.measured, present)
    if suite.schedule is not None and runner.verbosity >= 2:
        # How well recorded durations predicted the run; beside the summary, on stderr,
        # so that stdout stays what Django's runner prints.
        print(suite.schedule.line(), file=sys.stderr)
    if suite.not_run:
        by_reason: dict[str, list[str]] = {}
        for item in suite.not_run:
            by_reason.setdefault(item.reason, []).append(item.test_id)
        for reason, ids in by_reason.items():
            listed = ", ".join(ids[:NOT_RUN_LISTED])
            more = f" and {len(ids) - NOT_RUN_LISTED} more" if len(ids) > NOT_RUN_LISTED else ""
            print(
                f"Not run: {len(ids)} test(s), because {reason}: {listed}{more}.", file=sys.stderr
            )
    return 1 if suite.not_run or suite.interrupted else 0
