"""Unit tests of the failures store: what counts as failed, how runs update it, selection."""

from __future__ import annotations

import unittest
from pathlib import Path

from django_testkit.parallel import failures
from django_testkit.parallel.failures import Failed


class Plain(unittest.TestCase):
    __test__ = False  # material for the tests below, not a test

    def test_a(self) -> None: ...

    def test_b(self) -> None: ...


class Other(unittest.TestCase):
    __test__ = False  # material for the tests below, not a test

    def test_c(self) -> None: ...


PLAIN = f"{__name__}.Plain"


def test_failures_errors_subtests_and_fixture_errors_are_identified() -> None:
    result = unittest.TestResult()
    result.failures.append((Plain("test_a"), "trace"))
    # A subtest counts as its test; a class fixture's error as its class.
    subtest = unittest.case._SubTest(Plain("test_b"), "message", {"i": 1})  # type: ignore[attr-defined]
    result.errors.append((subtest, "trace"))
    holder = unittest.suite._ErrorHolder(f"setUpClass ({__name__}.Other)")  # type: ignore[attr-defined]
    result.errors.append((holder, "trace"))
    found = failures.failed_in(result)
    assert found.tests == {f"{PLAIN}.test_a", f"{PLAIN}.test_b"}
    assert found.groups == {f"{__name__}.Other"}
    assert found.matches(f"{__name__}.Other.test_c")
    assert not found.matches(f"{__name__}.OtherTests.test_c")


def test_a_complete_run_forgets_what_it_ran_and_a_stopped_one_only_adds(tmp_path: Path) -> None:
    path = tmp_path / "failed.json"
    old = Failed({f"{PLAIN}.test_a", "elsewhere.T.test_x"}, {f"{__name__}.Other"})
    ran = [f"{PLAIN}.test_a", f"{PLAIN}.test_b", f"{__name__}.Other.test_c"]
    failures.record(path, old, Failed({f"{PLAIN}.test_b"}), ran)
    assert failures.load(path) == Failed({"elsewhere.T.test_x", f"{PLAIN}.test_b"}, set())
    failures.record(path, old, Failed({f"{PLAIN}.test_b"}), None)
    assert failures.load(path) == Failed({*old.tests, f"{PLAIN}.test_b"}, old.groups)


def test_an_unusable_store_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "failed.json"
    assert failures.load(path) == Failed()
    for text in ("{", "[]", '{"format": 2, "tests": [], "groups": []}', '{"format": 1}'):
        path.write_text(text, encoding="utf-8")
        assert failures.load(path) == Failed(), text


def test_failed_first_moves_whole_classes_inside_their_group() -> None:
    tests = [Plain("test_a"), Plain("test_b"), Other("test_c")]
    chosen, line = failures.select(
        tests, Failed({f"{__name__}.Other.test_c"}), first=True, reorder_by=()
    )
    assert [test.id().rsplit(".", 1)[1] for test in chosen] == ["test_c", "test_a", "test_b"]
    assert line == "Failed first: 1 of 3 tests failed last time; their 1 class run first."
    # A class in an earlier group stays before it.
    chosen, _ = failures.select(
        tests, Failed({f"{__name__}.Other.test_c"}), first=True, reorder_by=(Plain,)
    )
    assert [test.id().rsplit(".", 1)[1] for test in chosen] == ["test_a", "test_b", "test_c"]
    only, line = failures.select(tests, Failed({f"{PLAIN}.test_b"}), first=False, reorder_by=())
    assert [test.id().rsplit(".", 1)[1] for test in only] == ["test_b"]
    assert line == "Last failed: running 1 of 3 tests (1 failed last time)."
