"""What a run leaves behind once judged: its JUnit XML, its timeline, its artifacts folder."""

from __future__ import annotations

from typing import Any

from django_testkit.combine.artifacts import write_artifacts
from django_testkit.parallel.runreports import (
    junit_report,
    timeline_of,
    write_junit,
    write_timeline,
)


def leave_results(runner: Any, suite: Any, result: Any, failed: int, incomplete: str) -> int:
    """Write ``--junit-xml``, ``--timeline`` and ``--artifacts``; 1 when the artifacts could
    not be written (the line saying why is printed), else 0."""
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
