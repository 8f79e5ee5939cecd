"""The run's reports besides coverage, written after it: JUnit XML and the timeline."""

from __future__ import annotations

import platform
import time
from typing import Any

from django_testkit import junit
from django_testkit.parallel import failures
from django_testkit.parallel.suite import PoolSuite
from django_testkit.parallel.timeline import Bar, Timeline, render


def junit_report(runner: Any, suite: Any) -> bytes:
    """The JUnit report's text (the tests a dead worker took along count as errors)."""
    import django

    from django_testkit._version import __version__

    recorder: junit.Recorder = runner.junit
    if isinstance(suite, PoolSuite):
        recorder.not_run(suite.not_run)
    properties = {
        "python": platform.python_version(),
        "django": django.get_version(),
        "django-testkit": __version__,
        "parallel": str(runner.parallel),
    }
    if runner.shuffle_seed is not None:
        properties["shuffle_seed"] = str(runner.shuffle_seed)
    if runner.shard is not None:
        properties["shard"] = str(runner.shard)
    return junit.document(recorder, properties, "django-testkit")


def write_junit(runner: Any, report: bytes) -> None:
    """Write the JUnit report to ``--junit-xml``'s path."""
    from pathlib import Path

    from django_testkit.files import write_bytes

    try:
        write_bytes(Path(runner.config.junit_xml), report)
    except OSError as exc:
        runner.log(f"Could not write the JUnit report {runner.config.junit_xml}: {exc}")


def failed_classes(result: Any) -> dict[str, str]:
    """Class key -> what failed in it, from the result's failures and errors."""
    found: dict[str, list[str]] = {}
    for entry in [*result.failures, *result.errors]:  # (test, text[, queries])
        name, fixture = failures.identify(entry[0])
        key = name if fixture else name.rsplit(".", 1)[0]
        found.setdefault(key, []).append("fixture" if fixture else name.rsplit(".", 1)[-1])
    return {key: f"{len(names)} failed: {', '.join(names[:5])}" for key, names in found.items()}


def timeline_of(runner: Any, suite: Any, result: Any) -> tuple[Timeline, dict[str, str]]:
    """The run's timeline, and what failed in each class that failed."""
    if runner.clock is not None:
        runner.clock.finish()
    failed = failed_classes(result)
    bars: list[Bar] = []
    if isinstance(suite, PoolSuite):
        for span in suite.spans:
            ending = "died" if span.died else "failed" if span.key in failed else "passed"
            bars.append(
                Bar(f"worker {span.slot}", span.key, span.start, span.end, ending, span.pid)
            )
        workers = suite.processes
    else:
        spans = runner.clock.spans if runner.clock is not None else []
        for key, start, end in spans:
            ending = "failed" if key in failed else "passed"
            bars.append(Bar("in-process", key, start, end, ending))
        workers = 1
    timeline = Timeline(
        runner.run_started,
        time.monotonic(),
        list(runner.phases),
        bars,
        workers,
        f"django-testkit run, {time.strftime('%Y-%m-%d %H:%M:%S')}",
    )
    return timeline, failed


def write_timeline(runner: Any, timeline: Timeline, failed: dict[str, str]) -> None:
    """Write the run's timeline page to ``--timeline``'s path."""
    try:
        from pathlib import Path

        from django_testkit.files import write_text

        write_text(Path(runner.config.timeline), render(timeline, failed))
    except OSError as exc:
        runner.log(f"Could not write the timeline {runner.config.timeline}: {exc}")
