"""protocol: every message between the parent and a worker pickles to an equal object,
and every kind has exactly one handler on the side that receives it."""

from __future__ import annotations

import pickle
import unittest
from typing import Any

import pytest

from django_testkit.parallel import protocol
from django_testkit.parallel.controller import PoolRun
from django_testkit.parallel.protocol import (
    FROM_WORKER,
    TEST_EVENTS,
    TO_WORKER,
    AddDuration,
    AddError,
    AddExpectedFailure,
    AddFailure,
    AddSkip,
    AddSubTest,
    AddSuccess,
    AddUnexpectedSuccess,
    Batch,
    Extra,
    Holder,
    Interrupted,
    Leftover,
    Ready,
    RemoteError,
    RunUnit,
    StartTest,
    Stop,
    StopTest,
    UnitDone,
    dispatch_table,
)
from django_testkit.parallel.replay import REPLAYERS

ERROR = RemoteError(b"pickled", "ValueError", "bad", "Traceback ...\nValueError: bad")
EXTRA = Extra("out", "err", ({"msg": "SELECT 1", "args": None},))

EXAMPLES: list[Any] = [
    StartTest(0),
    StopTest(0, EXTRA),
    AddSuccess(1),
    AddUnexpectedSuccess(2),
    AddDuration(0, 0.5),
    AddSkip(Holder("setUpClass (app.tests.T)"), "no server", None),
    AddError(Holder("setUpClass (app.tests.T)"), ERROR, EXTRA),
    AddFailure(3, ERROR, None),
    AddExpectedFailure(4, ERROR, Extra()),
    AddSubTest(5, ("message", {"value": 1}), ERROR, None),
    RunUnit(7, b"blob"),
    RunUnit(7, None),
    Stop(),
    Ready(1234),
    Batch([StartTest(0), AddSuccess(0), StopTest(0, None)]),
    UnitDone(7, 1.25),
    Interrupted(7),
    Leftover(7, "1 thread (abandoned)"),
]


def test_every_kind_has_an_example() -> None:
    assert {type(message) for message in EXAMPLES} == {*TEST_EVENTS, *TO_WORKER, *FROM_WORKER}


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda message: type(message).__name__)
def test_every_message_pickles_and_unpickles_equal(message: Any) -> None:
    copy = pickle.loads(pickle.dumps(message))
    assert copy == message
    assert type(copy) is type(message)


def _shape(value: Any) -> Any:
    """A value with its type at every level (NamedTuples equal plain tuples otherwise)."""
    if isinstance(value, tuple):
        return (type(value).__name__, [_shape(item) for item in value])
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return (type(value).__name__, value)


def test_a_batch_of_every_test_event_travels_packed_and_arrives_as_it_was() -> None:
    events = [event for event in EXAMPLES if type(event) in TEST_EVENTS]
    batch = Batch(events)
    wire = pickle.dumps(batch)
    # Plain tuples on the wire: no event class is named in the pickle.
    assert not any(kind.__name__.encode() in wire for kind in (*TEST_EVENTS, Extra, Holder))
    copy = pickle.loads(wire)
    assert _shape(copy) == _shape(batch)


def test_the_parent_handles_every_kind_a_worker_sends() -> None:
    suite = unittest.TestSuite()
    suite.subsuites = []  # type: ignore[attr-defined]
    suite.units = list  # type: ignore[attr-defined]
    suite.not_run, suite.measured, suite.lost = [], {}, []  # type: ignore[attr-defined]
    context: Any = type(
        "Context", (), {"durations": {}, "verbosity": 0, "live": False, "first": frozenset()}
    )()
    context.strategy = type("Strategy", (), {"order": staticmethod(lambda units, d: units)})()
    run = PoolRun(suite, context, unittest.TestResult())
    assert set(run.handlers) == set(FROM_WORKER)


def test_every_test_event_has_a_replayer() -> None:
    assert set(REPLAYERS) == set(TEST_EVENTS)


def test_a_handler_table_that_misses_a_kind_is_refused() -> None:
    with pytest.raises(TypeError, match="Interrupted"):
        dispatch_table(
            {kind: print for kind in FROM_WORKER if kind is not Interrupted}, FROM_WORKER
        )


def test_failed_names_the_failing_events() -> None:
    failing = {type(event) for event in EXAMPLES[:10] if protocol.failed(event)}
    assert failing == {AddError, AddFailure, AddUnexpectedSuccess, AddSubTest}
    assert not protocol.failed(AddSubTest(0, (None, {}), None, None))
