"""The unittest result class a run uses: Django's (or the project's), wrapped for what
the run records and enforces (JUnit cases, coverage contexts, replayed worker events,
class durations, mirror sharing, the per-test deadline)."""

from __future__ import annotations

import unittest
from typing import Any


def result_class(runner: Any, configured: type | None) -> type | None:
    """The result class for ``runner``'s run; None when Django's choice needs no wrapping.

    Also sets what the wrappers record into: ``runner.junit`` (under ``--junit-xml`` or
    ``--artifacts``) and, without workers, ``runner.clock``.
    """
    base: type = (
        configured or getattr(runner.test_runner, "resultclass", None) or unittest.TextTestResult
    )
    if runner.config.junit_xml or runner.config.artifacts:
        from django_testkit import files, junit

        runner.junit = junit.Recorder(files.project_dir())
        base = junit.with_junit(base, runner.junit)
    if runner.parallel > 1:
        from django_testkit.parallel.replay import with_replay

        # Workers run the tests (and share mirrors); this process replays them, or runs
        # them itself when there is a single class (coverage contexts then).
        return with_replay(runner.coverage.result_class(base))
    from django_testkit.parallel.classclock import ClassClock, with_class_clock

    # A run without workers records class durations too, for the next split.
    runner.clock = ClassClock()
    wrapped = with_class_clock(runner.coverage.result_class(base), runner.clock)
    if runner.mirror_sharing.mirrors:
        from django_testkit.databases.mirrors import with_mirror_sharing

        wrapped = with_mirror_sharing(wrapped, runner.mirror_sharing)
    if runner.deadline is not None:
        from django_testkit.parallel.deadline import with_deadline

        wrapped = with_deadline(wrapped, runner.deadline)
    return None if wrapped is base else wrapped
