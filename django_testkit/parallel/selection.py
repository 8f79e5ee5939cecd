"""Which tests of the suite a run runs, and in what order: last failures and CI shards.

Django builds its suite from the tests it found through the runner's ``test_suite``
factory, before it cuts the suite into units for workers; :func:`selecting` stands
in for that factory when a run selects: ``--last-failed`` keeps the tests that
failed last time (``--failed-first`` puts them first), then ``--shard`` keeps its
part. After the run, :func:`remember_failures` records what failed for the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django_testkit.keys import key_of
from django_testkit.parallel import failures
from django_testkit.parallel.durations import durations_path, load_durations


def selecting(runner: Any, make_suite: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Django's suite factory, given only the tests this run selects, in its order."""

    def build(tests: Any) -> Any:
        tests = list(tests)
        found = len(tests)
        config = runner.config
        everything = tests
        if config.changed is not None:
            from django_testkit.parallel.changed import keep

            tests = keep(runner, tests)
        if config.last_failed or config.failed_first:
            failed = failures.load(failures.path_beside(durations_path(config)))
            chosen, line = failures.select(
                everything, failed, first=not config.last_failed, reorder_by=runner.reorder_by
            )
            runner.log(line)
            if config.changed is not None:
                # With --changed: what it runs and what failed last time, in this order.
                picked = {id(test) for test in tests}
                picked |= {id(test) for test in chosen if failed.matches(test.id())}
                order = chosen if config.failed_first else everything
                tests = [test for test in order if id(test) in picked]
            else:
                tests = chosen
            if config.failed_first:
                runner.run_first = frozenset(
                    key_of(test) for test in tests if failed.matches(test.id())
                )
        if len(tests) < found:
            runner.whole_selection = False
        if runner.shard is not None:
            from django_testkit.parallel.shards import select

            durations, warning = load_durations(durations_path(config))
            if warning:
                runner.log(warning, level=logging.WARNING)
            runner.shard_selected = len(tests)
            tests, line, runner.shard_split = select(tests, runner.shard, durations)
            runner.log(line)
        if len(tests) < found:
            runner.whole_suite = False
        return make_suite(tests)

    return build


def known_failures(runner: Any) -> failures.Failed:
    """What the failures store holds before the run (nothing for a shard: it never writes)."""
    if runner.shard is not None:
        return failures.Failed()
    return failures.load(failures.path_beside(durations_path(runner.config)))


def remember_failures(
    runner: Any, result: Any, old: failures.Failed | None, ran: list[str] | None, complete: bool
) -> None:
    """Record the run's failures for ``--last-failed`` (never from a shard: its part).

    ``ran``: the ids of the tests the run held (only needed when ``old`` holds some).
    """
    if runner.shard is not None:
        return
    old = old if old is not None else failures.Failed()
    now = failures.failed_in(result)
    path = failures.path_beside(durations_path(runner.config))
    if path is None or not (old or now):
        return  # nothing failed before or now: the store stays as it is
    try:
        failures.record(path, old, now, ran if complete else None)
    except OSError as exc:
        runner.log(f"Could not record the failed tests in {path}: {exc}", level=logging.WARNING)
