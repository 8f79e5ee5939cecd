"""Unit tests of the runner's pure helpers (no process, no database)."""

from __future__ import annotations

import multiprocessing

import pytest
from django.test.runner import get_max_test_processes

from django_testkit.exceptions import ConfigurationError
from django_testkit.parallel.arguments import resolve_parallel


@pytest.mark.parametrize(("value", "expected"), [(None, 0), (0, 0), (1, 1), (4, 4), ("3", 3)])
def test_explicit_counts_are_kept(value: object, expected: int) -> None:
    assert resolve_parallel(value) == expected


def test_auto_uses_django_test_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_TEST_PROCESSES", "5")
    assert resolve_parallel("auto") == 5


def test_an_invalid_django_test_processes_is_a_value_error_as_in_django(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_TEST_PROCESSES", "invalid")
    with pytest.raises(ValueError, match="invalid literal"):  # Django's own
        get_max_test_processes()
    with pytest.raises(ValueError, match="DJANGO_TEST_PROCESSES = 'invalid'") as caught:
        resolve_parallel("auto")
    assert isinstance(caught.value, ConfigurationError)


def test_auto_falls_back_to_the_cpu_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DJANGO_TEST_PROCESSES", raising=False)
    assert resolve_parallel("auto") == multiprocessing.cpu_count()


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("lots", "TestkitRunner(parallel='lots') is not a worker count"),
        (2.5, "TestkitRunner(parallel=2.5) is not a worker count"),
        (True, "TestkitRunner(parallel=True) is not a worker count"),
        (-1, "TestkitRunner(parallel=-1) is negative"),
    ],
)
def test_bad_values_give_one_line_naming_value_and_fix(value: object, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_parallel(value)
    message = str(caught.value)
    assert message.startswith(fragment)
    assert "\n" not in message
    assert "--parallel" in message
