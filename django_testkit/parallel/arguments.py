"""Worker counts and arguments: ``--parallel auto``, and what a spawned worker's runner gets.

Light on purpose: every run imports it, parallel or not.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import pickle
from collections.abc import Mapping
from typing import Any

from django_testkit import _compat
from django_testkit.exceptions import ConfigurationError


class WorkerCountError(ConfigurationError, ValueError):
    """``DJANGO_TEST_PROCESSES`` is not a count: a ``ValueError``, as Django raises there."""


def max_workers() -> int:
    """``--parallel auto``: ``DJANGO_TEST_PROCESSES``, else the CPU count, for any start method."""
    raw = os.environ.get("DJANGO_TEST_PROCESSES")
    if raw is None:
        return multiprocessing.cpu_count()
    if not raw.strip().isdigit():
        raise WorkerCountError(
            f"DJANGO_TEST_PROCESSES = {raw!r} is not a worker count; set it to a whole "
            "number such as 4, or unset it to use one worker per CPU."
        )
    return int(raw)


def _parallel_type(value: str) -> int | str:
    if value == "auto":
        try:
            return max_workers()
        except WorkerCountError:
            # Left to Django's test command, which raises its own ValueError for it.
            return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an integer or the string 'auto'"
        ) from None


def accept_parallel_auto(parser: argparse.ArgumentParser) -> None:
    """Make Django's ``--parallel auto`` mean :func:`max_workers` under every start method."""
    for action in _compat.parser_actions(parser):
        if "--parallel" in action.option_strings:
            # Django turns "auto" into 1 under forkserver before 6.0; workers work there.
            action.type = _parallel_type


def runner_kwargs_for_workers(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The runner's keyword arguments that can travel to a spawned worker."""
    kept = {}
    for name, value in kwargs.items():
        try:
            pickle.dumps(value)
        except Exception:
            continue
        kept[name] = value
    return kept


def resolve_parallel(value: object) -> int:
    """Turn a ``parallel`` argument into a worker count, as ``manage.py test`` does.

    ``"auto"`` means :func:`django.test.runner.get_max_test_processes`
    (``DJANGO_TEST_PROCESSES`` or the CPU count), whatever the start method.
    """
    if value is None:
        return 0
    if value == "auto":
        return max_workers()
    count = None
    if isinstance(value, int) and not isinstance(value, bool):
        count = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        count = int(value)
    if count is None or count < 0:
        problem = "is negative" if count is not None else "is not a worker count"
        raise ConfigurationError(
            f"TestkitRunner(parallel={value!r}) {problem}; pass 0 or 1 to run in-process, "
            "N >= 2 or 'auto' for workers (command line: --parallel N or --parallel auto)."
        )
    return count
