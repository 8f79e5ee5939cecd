"""ledger: the parallel run's bookkeeping, without processes: what is queued, what each
worker runs, which tests did not run and why, what is left."""

from __future__ import annotations

import unittest
from typing import Any

from django_testkit.parallel.ledger import INTERRUPTED, Assignment, Ledger, NotRun
from django_testkit.parallel.protocol import AddSkip, StartTest, StopTest


class Case(unittest.TestCase):
    __test__ = False

    def test_a(self) -> None:
        pass

    def test_b(self) -> None:
        pass

    def test_c(self) -> None:
        pass


def _units() -> list[list[unittest.TestCase]]:
    load = unittest.defaultTestLoader.loadTestsFromTestCase
    return [list(load(Case)), list(load(Case))[:1]]


def _ledger() -> Ledger:
    return Ledger(_units(), ["first", "second"], [1, 0], {"first": 3.0, "second": 1.0})


def test_units_leave_the_queue_in_order_and_come_back_first() -> None:
    ledger = _ledger()
    assert ledger.take() == 1
    ledger.put_back([1])
    assert list(ledger.queue) == [1, 0]
    assert [ledger.take(), ledger.take()] == [1, 0]
    ledger.put_back([0, 1])
    assert list(ledger.queue) == [0, 1]


def test_an_interruption_lists_every_queued_test_as_not_run() -> None:
    ledger = _ledger()
    ledger.drop_queue(INTERRUPTED)
    assert not ledger.queue
    assert [item.reason for item in ledger.not_run] == [INTERRUPTED] * 4
    assert ledger.not_run[0].test_id.endswith("Case.test_a")


def test_failfast_drops_the_queue_silently() -> None:
    ledger = _ledger()
    ledger.drop_queue(None)
    assert not ledger.queue
    assert not ledger.not_run


def test_a_units_time_counts_only_when_every_test_ran() -> None:
    ledger = _ledger()
    ledger.unit_done(0, 2.5, complete=True)
    ledger.unit_done(1, 9.0, complete=False)
    assert ledger.measured == {"first": 2.5}


def test_lost_units_and_skipped_tests_are_named() -> None:
    not_run: list[NotRun] = []
    ledger = Ledger(_units(), ["first", "second"], [0, 1], {}, not_run=not_run)
    ledger.lose("worker 1 (pid 9) died", 0)
    ledger.skip_tests(0, [2], "worker 1 (pid 9) died")
    assert ledger.lost == ["worker 1 (pid 9) died in first"]
    assert [item.test_id.rsplit(".", 1)[1] for item in not_run] == ["test_c"]


def test_remaining_time_counts_running_and_queued_units() -> None:
    ledger = _ledger()
    assert ledger.take() == 1
    # "first" is queued (3s), "second" has run 0.4s of its 1s.
    assert ledger.remaining({1: (1, 0.4)}, workers=1) == 3.6
    assert ledger.remaining({1: (1, 5.0)}, workers=1) == 3.0


def test_an_assignment_tracks_started_and_unstarted_tests() -> None:
    work = Assignment()
    work.begin_unit(0, 3)
    work.note(StartTest(0))
    assert work.current == 0
    work.note(StopTest(0, None))
    assert work.current is None
    # Python 3.12+ reports a decorator skip without starting the test.
    work.note(AddSkip(1, "skipped", None))
    assert work.started == {0, 1}
    assert not work.started_all()
    assert work.unstarted(current=None, include_current=False) == [2]
    work.note(StartTest(2))
    assert work.unstarted(current=2, include_current=True) == [2]
    assert work.unstarted(current=2, include_current=False) == []
    assert work.started_all()
    work.finish_unit()
    assert work.unit is None


def test_units_held_in_reserve_wait_behind_the_running_one() -> None:
    work = Assignment()
    work.begin_unit(0, 1)
    work.reserved.append(1)
    work.finish_unit()
    assert list(work.reserved) == [1]


def test_what_a_worker_holds_is_the_rest_of_its_unit_and_its_reserve() -> None:
    ledger = _ledger()
    idle, busy, short = Assignment(), Assignment(), Assignment()
    busy.begin_unit(0, 3)  # "first": 3.0 s
    busy.unit_started = 100.0
    busy.reserved.append(1)  # "second": 1.0 s
    short.begin_unit(1, 1)
    short.unit_started = 100.0
    assert ledger.held(idle, 100.5) == 0.0
    assert ledger.held(busy, 101.0) == 3.0  # 2.0 left + 1.0 in reserve
    assert ledger.held(short, 105.0) == 0.0  # overran its estimate: nothing left
    assert ledger.all_hold([busy], 2.5, 101.0)
    assert not ledger.all_hold([busy, short], 0.5, 101.0)
    assert not ledger.all_hold([busy, idle], 0.5, 101.0)
    assert not ledger.all_hold([], 0.0, 101.0)


def test_time_left_counts_running_units_and_the_queue() -> None:
    ledger = _ledger()
    assert ledger.take() == 1  # "second" runs; "first" waits
    work = Assignment()
    work.begin_unit(1, 1)
    work.unit_started = 10.0
    # One worker: 0.5 s left of "second", then 3.0 s of "first".
    assert ledger.remaining_for({1: work}, 10.5) == 3.5
    # Two workers: the idle one takes "first" at once.
    assert ledger.remaining_for({1: work, 2: Assignment()}, 10.5) == 3.0


def test_time_left_counts_the_units_a_worker_holds_in_reserve() -> None:
    ledger = _ledger()
    assert ledger.take() == 1
    assert ledger.take() == 0  # the queue is empty: "first" waits in the worker's reserve
    work = Assignment()
    work.begin_unit(1, 1)
    work.unit_started = 10.0
    work.reserved.append(0)
    assert ledger.remaining_for({1: work, 2: Assignment()}, 10.5) == 3.5


def test_guessed_estimates_follow_the_pace_of_the_units_that_finished() -> None:
    # Neither estimate was recorded: both were guessed from the number of tests.
    ledger = Ledger(_units(), ["first", "second"], [1, 0], {"first": 3.0, "second": 1.0})
    assert ledger.take() == 1
    ledger.unit_done(1, 4.0, complete=True)  # "second" took 4x its guess
    assert ledger.remaining({}, workers=1) == 12.0  # so "first" should take 4 x 3.0
    # A recorded estimate keeps its own pace (none finished yet: as recorded).
    recorded = Ledger(
        _units(), ["first", "second"], [1, 0], {"first": 3.0, "second": 1.0}, recorded=["first"]
    )
    assert recorded.take() == 1
    recorded.unit_done(1, 4.0, complete=True)
    assert recorded.remaining({}, workers=1) == 3.0


def test_a_unit_past_its_estimate_is_expected_to_go_on_at_its_own_pace() -> None:
    ledger = _ledger()
    assert ledger.take() == 1
    assert ledger.take() == 0
    work = Assignment()
    work.begin_unit(0, 3)  # "first", estimated 3.0 s, has run 6.0 s
    work.unit_started = 100.0
    work.note(StartTest(0))
    work.note(StopTest(0, None))
    work.note(StartTest(1))  # one of three tests finished, the second runs
    assert ledger.remaining_for({1: work}, 106.0) == 12.0


def test_failed_first_units_lead_their_group_in_the_strategys_order() -> None:
    from types import SimpleNamespace

    from django_testkit.parallel.controller import _first_first
    from django_testkit.parallel.scheduling import DurationStrategy, Unit

    units = [
        Unit("a.TestCaseA", 0, 0, 1),
        Unit("a.TestCaseB", 1, 0, 1),
        Unit("a.SimpleC", 2, 1, 1),
        Unit("a.SimpleD", 3, 1, 1),
    ]
    durations = {"a.TestCaseA": 1.0, "a.TestCaseB": 5.0, "a.SimpleC": 9.0, "a.SimpleD": 2.0}
    context: Any = SimpleNamespace(strategy=DurationStrategy(), durations=durations)
    context.first = frozenset()
    assert [unit.key for unit in _first_first(context, units)] == [
        "a.TestCaseB",
        "a.TestCaseA",
        "a.SimpleC",
        "a.SimpleD",
    ]
    # A failed class goes first inside its own group, never before an earlier group.
    context.first = frozenset({"a.TestCaseA", "a.SimpleD"})
    assert [unit.key for unit in _first_first(context, units)] == [
        "a.TestCaseA",
        "a.TestCaseB",
        "a.SimpleD",
        "a.SimpleC",
    ]
