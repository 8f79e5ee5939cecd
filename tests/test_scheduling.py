"""Unit tests of work units and dispatch orders: fake units in, orders and times out."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_testkit.exceptions import ConfigurationError
from django_testkit.options import SCHEDULES
from django_testkit.parallel.scheduling import (
    DEFAULT_SECONDS_PER_TEST,
    DiscoveryStrategy,
    DurationStrategy,
    Unit,
    estimate_durations,
    remaining_seconds,
    strategy_for,
)


def makespan(order: Sequence[Unit], estimates: Mapping[str, float], workers: int) -> float:
    """When the last of ``workers`` idle workers finishes ``order``, each taking the next
    unit when it becomes free."""
    return remaining_seconds(order, {}, estimates, workers)


def lower_bound(estimates: Iterable[float], workers: int) -> float:
    """No schedule beats the longest unit, nor the total work shared evenly."""
    seconds = list(estimates)
    return max(max(seconds), math.fsum(seconds) / workers) if seconds else 0.0


def units(*specs: tuple[str, int, int]) -> list[Unit]:
    """Units in Django's order from (name, group, tests) triples."""
    return [
        Unit(key=f"shop.tests.{name}", index=index, group=group, tests=tests)
        for index, (name, group, tests) in enumerate(specs)
    ]


def keyed(**seconds: float) -> dict[str, float]:
    return {f"shop.tests.{name}": value for name, value in seconds.items()}


def names(order: list[Unit]) -> list[str]:
    return [unit.key.removeprefix("shop.tests.") for unit in order]


# --- units -----------------------------------------------------------------


def test_unit_without_tests_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Unit(key="shop.tests.Empty", index=0, group=1, tests=0)


def test_unit_with_negative_index_is_refused() -> None:
    with pytest.raises(ValueError, match="start at 0"):
        Unit(key="shop.tests.Item", index=-1, group=1, tests=1)


# --- estimates -------------------------------------------------------------


def test_recorded_durations_are_used_as_they_are() -> None:
    suite = units(("A", 1, 3), ("B", 1, 1))
    assert estimate_durations(suite, keyed(A=0.5, B=2.0)) == keyed(A=0.5, B=2.0)


def test_unit_without_history_gets_median_seconds_per_test_times_its_tests() -> None:
    suite = units(("A", 1, 2), ("B", 1, 1), ("C", 1, 4), ("New", 1, 10))
    # Seconds per test: A 1.0, B 3.0, C 0.5; the median is 1.0.
    estimates = estimate_durations(suite, keyed(A=2.0, B=3.0, C=2.0))
    assert estimates["shop.tests.New"] == pytest.approx(10.0)


def test_median_ignores_durations_of_units_not_in_the_run() -> None:
    suite = units(("A", 1, 1), ("New", 1, 3))
    estimates = estimate_durations(suite, keyed(A=1.0, Gone=1000.0))
    assert estimates == keyed(A=1.0, New=3.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0])
def test_unusable_recorded_duration_counts_as_no_history(bad: float) -> None:
    suite = units(("A", 1, 1), ("B", 1, 2))
    estimates = estimate_durations(suite, keyed(A=0.5, B=bad))
    assert estimates == keyed(A=0.5, B=1.0)


def test_without_any_history_units_are_sized_by_their_number_of_tests() -> None:
    suite = units(("A", 1, 1), ("B", 1, 7))
    assert estimate_durations(suite, {}) == keyed(
        A=DEFAULT_SECONDS_PER_TEST, B=7 * DEFAULT_SECONDS_PER_TEST
    )


def test_no_units_give_no_estimates() -> None:
    assert estimate_durations([], keyed(A=1.0)) == {}


# --- strategies ------------------------------------------------------------


def test_discovery_keeps_djangos_order_whatever_the_durations() -> None:
    suite = units(("A", 1, 1), ("B", 1, 1), ("C", 2, 1))
    shuffled = [suite[2], suite[0], suite[1]]
    order = DiscoveryStrategy().order(shuffled, keyed(A=1.0, B=9.0, C=5.0))
    assert names(order) == ["A", "B", "C"]


def test_duration_puts_longest_first_within_a_group() -> None:
    suite = units(("A", 1, 1), ("B", 1, 1), ("C", 1, 1))
    order = DurationStrategy().order(suite, keyed(A=1.0, B=3.0, C=2.0))
    assert names(order) == ["B", "C", "A"]


def test_duration_never_moves_a_unit_into_an_earlier_group() -> None:
    suite = units(("Load", 0, 1), ("Fast", 1, 1), ("Slow", 1, 1), ("Live", 2, 1), ("Plain", 3, 1))
    durations = keyed(Load=0.0, Fast=0.1, Slow=5.0, Live=60.0, Plain=30.0)
    order = DurationStrategy().order(suite, durations)
    assert names(order) == ["Load", "Slow", "Fast", "Live", "Plain"]


def test_duration_breaks_ties_by_djangos_order() -> None:
    suite = units(("A", 1, 1), ("B", 1, 1), ("C", 1, 1), ("D", 1, 1))
    order = DurationStrategy().order(list(reversed(suite)), keyed(A=1.0, B=2.0, C=1.0, D=2.0))
    assert names(order) == ["B", "D", "A", "C"]


def test_duration_without_history_runs_the_biggest_classes_first() -> None:
    suite = units(("Small", 1, 1), ("Big", 1, 20), ("Medium", 1, 5))
    assert names(DurationStrategy().order(suite, {})) == ["Big", "Medium", "Small"]


def test_strategies_are_named_with_the_default_first() -> None:
    # Every schedule --schedule offers has its strategy, under its own name.
    assert SCHEDULES == ("duration", "discovery")
    assert [strategy_for(name).name for name in SCHEDULES] == list(SCHEDULES)


def test_unknown_strategy_is_refused_in_one_line_naming_the_choices() -> None:
    with pytest.raises(ConfigurationError) as caught:
        strategy_for("fastest")
    assert str(caught.value) == (
        "--schedule 'fastest' is not a schedule; use 'duration' (longest first, "
        "from recorded durations) or 'discovery' (Django's order)."
    )


# --- simulated times -------------------------------------------------------


def test_longest_first_finishes_sooner_than_discovery_when_the_long_unit_is_last() -> None:
    suite = units(("A", 1, 1), ("B", 1, 1), ("C", 1, 1), ("D", 1, 1), ("Long", 1, 1))
    durations = keyed(A=1.0, B=1.0, C=1.0, D=1.0, Long=4.0)
    estimates = estimate_durations(suite, durations)
    discovery = makespan(DiscoveryStrategy().order(suite, durations), estimates, workers=2)
    duration = makespan(DurationStrategy().order(suite, durations), estimates, workers=2)
    assert discovery == pytest.approx(6.0)
    assert duration == pytest.approx(4.0)
    assert duration == pytest.approx(lower_bound(estimates.values(), workers=2))


def test_makespan_on_one_worker_is_the_total() -> None:
    suite = units(("A", 1, 1), ("B", 1, 1))
    assert makespan(suite, keyed(A=1.5, B=2.5), workers=1) == pytest.approx(4.0)


def test_makespan_of_nothing_is_zero() -> None:
    assert makespan([], {}, workers=4) == 0.0


def test_remaining_seconds_gives_pending_units_to_the_first_free_worker() -> None:
    pending = units(("A", 1, 1), ("B", 1, 1), ("C", 1, 1))
    # Slot 2 is idle: A starts there now, B after slot 1's 0.5 s, C after A.
    remaining = remaining_seconds(pending, {0: 2.0, 1: 0.5}, keyed(A=1.0, B=3.0, C=1.0), workers=3)
    assert remaining == pytest.approx(3.5)


def test_remaining_seconds_waits_for_running_units_when_nothing_is_pending() -> None:
    assert remaining_seconds([], {0: 2.0, 1: 0.5}, {}, workers=2) == pytest.approx(2.0)


def test_remaining_seconds_treats_an_overrunning_unit_as_busy_now() -> None:
    pending = units(("A", 1, 1))
    assert remaining_seconds(pending, {0: -3.0}, keyed(A=1.0), workers=1) == pytest.approx(1.0)


def test_remaining_seconds_of_an_idle_pool_is_zero() -> None:
    assert remaining_seconds([], {}, {}, workers=3) == 0.0


@pytest.mark.parametrize("workers", [0, -1])
def test_simulations_refuse_a_pool_without_workers(workers: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        makespan([], {}, workers)


# --- properties ------------------------------------------------------------

seconds = st.floats(min_value=0.0, max_value=1e4, allow_nan=False, allow_infinity=False)
history = st.one_of(st.none(), seconds, st.sampled_from([math.nan, math.inf, -1.0]))


@st.composite
def suites(draw: st.DrawFn) -> tuple[list[Unit], dict[str, float]]:
    specs = draw(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 50), history), max_size=30))
    suite = [
        Unit(key=f"app.tests.T{index}", index=index, group=group, tests=tests)
        for index, (group, tests, _) in enumerate(specs)
    ]
    durations = {
        unit.key: recorded
        for unit, (_, _, recorded) in zip(suite, specs, strict=True)
        if recorded is not None
    }
    return draw(st.permutations(suite)), durations


@given(suites(), st.integers(1, 8))
def test_duration_order_is_a_grouped_longest_first_permutation(
    suite: tuple[list[Unit], dict[str, float]], workers: int
) -> None:
    given_units, durations = suite
    order = DurationStrategy().order(given_units, durations)
    estimates = estimate_durations(given_units, durations)

    assert sorted(order, key=lambda unit: unit.index) == sorted(
        given_units, key=lambda unit: unit.index
    )
    for before, after in itertools.pairwise(order):
        assert before.group <= after.group
        if before.group == after.group:
            assert estimates[before.key] >= estimates[after.key]
            if estimates[before.key] == estimates[after.key]:
                assert before.index < after.index

    span = makespan(order, estimates, workers)
    bound = lower_bound(estimates.values(), workers)
    assert span >= bound or math.isclose(span, bound, rel_tol=1e-9)
    # Graham's bound: greedy list scheduling never exceeds even share + longest unit.
    longest = max(estimates.values(), default=0.0)
    assert span <= math.fsum(estimates.values()) / workers + longest + 1e-6


@given(suites())
def test_discovery_order_is_djangos_order(suite: tuple[list[Unit], dict[str, float]]) -> None:
    given_units, durations = suite
    order = DiscoveryStrategy().order(given_units, durations)
    assert [unit.index for unit in order] == list(range(len(given_units)))
