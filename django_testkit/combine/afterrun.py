"""What a run does once its tests have run: the stores, coverage reports and thresholds,
the change map, and what it leaves behind (JUnit XML, its timeline, its artifacts)."""

from __future__ import annotations

from typing import Any

from django_testkit.parallel.suite import PoolSuite


def after_suite(runner: Any, suite: Any, result: Any, failed: int) -> int:
    """Finish ``runner``'s run after Django's own ``suite_result``; the failure count."""
    incomplete = ""
    if isinstance(suite, PoolSuite):
        from django_testkit.parallel.context import report_pool

        failed += report_pool(runner, suite)
        incomplete = suite.incomplete_coverage()
        runner.measured = dict(suite.measured)
    elif runner.clock is not None and not result.shouldStop:
        from django_testkit.parallel.durations import record_durations

        runner.measured = runner.clock.finish()
        present = set(runner.clock.keys) if runner.whole_suite else None
        if runner.shard is None:
            record_durations(runner, None, runner.measured, present)
    complete = not result.shouldStop and not (
        isinstance(suite, PoolSuite) and (suite.interrupted or suite.not_run)
    )
    from django_testkit.parallel.selection import remember_failures

    remember_failures(runner, result, runner.failed_before, runner.selected, complete)
    with runner.phase("coverage and reports"):
        runner.coverage_status = runner.coverage.report(runner, failed, incomplete)
        if runner.coverage.records_map:
            from django_testkit.parallel.changed import record_map

            record_map(runner, result, complete and not incomplete)
    if runner.junit is not None or runner.config.timeline:
        # 1 when the artifacts could not be written: a CI's combine would miss them.
        failed += leave_results(runner, suite, result, failed, incomplete)
    return failed


def leave_results(runner: Any, suite: Any, result: Any, failed: int, incomplete: str) -> int:
    """Write ``--junit-xml``, ``--timeline`` and ``--artifacts``; 1 when the artifacts could
    not be written (the line saying why is printed), else 0."""
    from django_testkit.combine.artifacts import write_artifacts
    from django_testkit.parallel.runreports import (
        junit_report,
        timeline_of,
        write_junit,
        write_timeline,
    )

    config = runner.config
    report = junit_report(runner, suite) if runner.junit is not None else b""
    if config.junit_xml:
        write_junit(runner, report)
    if not (config.timeline or config.artifacts):
        return 0
    timeline, failed_in = timeline_of(runner, suite, result)
    if config.timeline:
        write_timeline(runner, timeline, failed_in)
    if config.artifacts and not write_artifacts(
        runner, result, failed, incomplete, report, timeline
    ):
        return 1
    return 0
