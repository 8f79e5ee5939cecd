"""Unit tests of CI shards: the ``--shard`` value, the CI's variables, and the split."""

from __future__ import annotations

import unittest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_testkit.exceptions import ConfigurationError
from django_testkit.parallel.scheduling import Unit, estimate_durations
from django_testkit.parallel.shards import Shard, resolve, select, split
from django_testkit.specs import parse_shard


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", ""), (None, ""), ("auto", "auto"), ("2/4", "2/4"), ("01/3", "1/3")],
)
def test_good_shard_values(value: object, expected: str) -> None:
    assert parse_shard(value, "--shard") == expected


@pytest.mark.parametrize("value", ["0/3", "4/3", "x", "3", "1/0", "-1/3", "1/3/5", "a/b", "/3"])
def test_bad_shard_values_are_one_line_naming_the_fix(value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_shard(value, "--shard")
    assert str(caught.value) == (
        f"--shard = {value!r} is not a shard; use K/N with 1 <= K <= N (for example 2/4: the "
        "second of four parts), or 'auto' in a CI that numbers its parallel jobs."
    )


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "3"}, (2, 3)),  # GitLab counts from 1
        ({"CIRCLE_NODE_INDEX": "0", "CIRCLE_NODE_TOTAL": "4"}, (1, 4)),  # CircleCI from 0
        ({"BUILDKITE_PARALLEL_JOB": "3", "BUILDKITE_PARALLEL_JOB_COUNT": "4"}, (4, 4)),
    ],
)
def test_auto_reads_the_ci_job_number(environ: dict[str, str], expected: tuple[int, int]) -> None:
    shard = resolve("auto", "--shard", environ)
    assert shard is not None
    assert (shard.index, shard.total) == expected


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"CI_NODE_INDEX": "0", "CI_NODE_TOTAL": "3"},
        {"CIRCLE_NODE_INDEX": "4", "CIRCLE_NODE_TOTAL": "4"},
        {"BUILDKITE_PARALLEL_JOB": "x", "BUILDKITE_PARALLEL_JOB_COUNT": "2"},
        {"CI_NODE_TOTAL": "3"},
    ],
)
def test_auto_without_a_job_number_is_one_line(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve("auto", "TESTKIT_SHARD", environ)
    message = str(caught.value)
    assert message.startswith("TESTKIT_SHARD = 'auto' found ")
    assert "\n" not in message
    assert "--shard K/N" in message


def test_no_shard_is_the_whole_suite() -> None:
    assert resolve("", "--shard", {}) is None
    assert resolve("3/5", "--shard", {}) == Shard(3, 5, "--shard")


_UNITS = st.lists(
    st.tuples(st.integers(1, 20), st.one_of(st.none(), st.floats(0, 100))), max_size=40
).map(
    lambda specs: (
        [Unit(f"app.tests.C{index}", index, 0, tests) for index, (tests, _) in enumerate(specs)],
        {f"app.tests.C{index}": seconds for index, (_, seconds) in enumerate(specs) if seconds},
    )
)


@given(_UNITS, st.integers(1, 8))
def test_every_unit_lands_in_exactly_one_shard_in_a_deterministic_split(
    drawn: tuple[list[Unit], dict[str, float]], total: int
) -> None:
    units, durations = drawn
    estimates = estimate_durations(units, durations)
    parts = split(units, estimates, total)
    assert len(parts) == total
    placed = [unit for part in parts for unit in part]
    assert sorted(placed, key=lambda unit: unit.index) == units
    # The same inputs, in any order, give the same split.
    assert split(list(reversed(units)), estimates, total) == parts
    for part in parts:
        assert part == sorted(part, key=lambda unit: unit.index)
    # Longest first onto the lightest: no part exceeds the mean by more than one unit.
    loads = [sum(estimates[unit.key] for unit in part) for part in parts]
    longest = max(estimates.values(), default=0.0)
    assert max(loads) <= sum(loads) / total + longest + 1e-6


def test_units_without_history_spread_evenly_by_count() -> None:
    units = [Unit(f"app.tests.C{index}", index, 0, 1) for index in range(10)]
    parts = split(units, estimate_durations(units, {}), 4)
    assert sorted(len(part) for part in parts) == [2, 2, 3, 3]


def test_recorded_durations_balance_the_parts() -> None:
    units = [Unit(f"app.tests.C{index}", index, 0, 1) for index in range(6)]
    durations = {"app.tests.C0": 9.0, **{f"app.tests.C{index}": 3.0 for index in range(1, 4)}}
    durations.update({"app.tests.C4": 1.0, "app.tests.C5": 1.0})
    parts = split(units, estimate_durations(units, durations), 2)
    assert [[unit.key[-2:] for unit in part] for part in parts] == [
        ["C0", "C4"],
        ["C1", "C2", "C3", "C5"],
    ]


class One(unittest.TestCase):
    __test__ = False  # material for the tests below, not a test

    def test_a(self) -> None: ...

    def test_b(self) -> None: ...


class Two(unittest.TestCase):
    __test__ = False  # material for the tests below, not a test

    def test_c(self) -> None: ...


def test_select_keeps_classes_whole_and_says_what_it_runs() -> None:
    tests = [One("test_a"), One("test_b"), Two("test_c")]
    key = f"{__name__}.One"
    first, line, split_id = select(tests, Shard(1, 2, "--shard"), {key: 5.0})
    second, _, other_id = select(tests, Shard(2, 2, "--shard"), {key: 5.0})
    assert [test.id().rsplit(".", 1)[1] for test in first] == ["test_a", "test_b"]
    assert [test.id().rsplit(".", 1)[1] for test in second] == ["test_c"]
    assert line == (
        "Shard 1/2 (--shard): 2 of 3 tests, 1 of 2 classes, ~5.0s of ~7.5s "
        "(1 of 2 classes with recorded durations)."
    )
    # Both jobs cut the suite the same way, so their splits carry one fingerprint; other
    # durations cut it another way.
    assert split_id == other_id
    other = {f"{__name__}.Two": 50.0, key: 1.0}
    assert select(tests, Shard(1, 2, "--shard"), other)[2] != split_id
