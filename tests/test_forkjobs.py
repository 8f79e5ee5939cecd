"""forkjobs: jobs run in forked children once what they require is done; failures and
interruptions are reported with what the children had already said."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from django_testkit.databases import jobs
from django_testkit.databases.jobs import Emit, JobFailed, run_forked, run_in_process
from django_testkit.exceptions import ConfigurationError


def _job(duration: float = 0.0, fail: bool = False) -> Callable[[Emit], None]:
    def job(emit: Emit) -> None:
        emit(("start", os.getpid(), time.monotonic()))
        time.sleep(duration)
        if fail:
            raise RuntimeError("it broke")
        emit(("end", os.getpid(), time.monotonic()))

    return job


def _collect() -> tuple[list[tuple[str, tuple[Any, ...]]], Callable[[str, tuple[Any, ...]], None]]:
    events: list[tuple[str, tuple[Any, ...]]] = []
    return events, lambda name, event: events.append((name, event))


def test_independent_jobs_overlap_and_dependants_wait() -> None:
    events, on_event = _collect()
    jobs = {"a": _job(0.5), "b": _job(0.5), "c": _job()}
    run_forked(jobs, {"c": ["a"]}, concurrency=2, on_event=on_event)
    times = {(name, event[0]): event[2] for name, event in events}
    pids = {name: event[1] for name, event in events}
    assert len({pids["a"], pids["b"], pids["c"], os.getpid()}) == 4
    assert times["a", "start"] < times["b", "end"]
    assert times["b", "start"] < times["a", "end"]
    assert times["c", "start"] >= times["a", "end"]


def test_concurrency_limit_is_respected() -> None:
    events, on_event = _collect()
    run_forked({"a": _job(0.3), "b": _job(0.3)}, {}, concurrency=1, on_event=on_event)
    times = {(name, event[0]): event[2] for name, event in events}
    first, second = sorted(["a", "b"], key=lambda name: times[name, "start"])
    assert times[second, "start"] >= times[first, "end"]


def test_a_failure_stops_new_jobs_and_keeps_earlier_events() -> None:
    events, on_event = _collect()
    jobs = {"a": _job(fail=True), "b": _job()}
    with pytest.raises(JobFailed) as failure:
        run_forked(jobs, {"b": ["a"]}, concurrency=2, on_event=on_event)
    assert failure.value.name == "a"
    assert failure.value.summary == "RuntimeError: it broke"
    assert "Traceback" in failure.value.details
    assert [(name, event[0]) for name, event in events] == [("a", "start")]


def test_a_child_that_dies_is_a_failure_with_its_signal() -> None:
    def die(emit: Emit) -> None:
        emit(("start",))
        os.kill(os.getpid(), signal.SIGKILL)

    events, on_event = _collect()
    with pytest.raises(JobFailed) as failure:
        run_forked({"a": die}, {}, concurrency=1, on_event=on_event)
    assert failure.value.summary == "the process ended unexpectedly (killed by signal SIGKILL)"
    assert events == [("a", ("start",))]


def test_interrupting_the_parent_stops_the_children_and_reaps_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jobs, "KILL_GRACE", 5.0)
    events, on_event = _collect()
    # An interval timer, not a thread: forking a multi-threaded process is unsafe.
    previous = signal.signal(signal.SIGALRM, signal.default_int_handler)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_forked({"a": _job(30), "b": _job(30)}, {}, concurrency=2, on_event=on_event)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    children = {event[1] for _, event in events}
    assert len(children) == 2
    for pid in children:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_a_cycle_is_refused_naming_it() -> None:
    events, on_event = _collect()
    with pytest.raises(ConfigurationError, match=r"form a cycle: a -> b -> a;"):
        run_forked({"a": _job(), "b": _job()}, {"a": ["b"], "b": ["a"]}, 2, on_event)
    assert events == []


def test_a_job_that_nothing_waits_for_runs_while_others_wait() -> None:
    events, on_event = _collect()
    jobs = {"a": _job(0.3), "b": _job(), "c": _job()}
    run_forked(jobs, {"b": ["a"], "c": ["b"], "x": ["missing"]}, 1, on_event)
    starts = [name for name, event in events if event[0] == "start"]
    assert starts == ["a", "b", "c"]


def test_in_process_runs_in_order_and_wraps_errors() -> None:
    events, on_event = _collect()
    with pytest.raises(JobFailed) as failure:
        run_in_process({"a": _job(), "b": _job(fail=True)}, ["a", "b"], on_event)
    assert failure.value.name == "b"
    assert {event[1] for _, event in events} == {os.getpid()}
