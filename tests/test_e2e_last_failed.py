"""``--last-failed`` and ``--failed-first`` end to end: what failed, crashed, timed out or
errored in a class fixture is recorded beside the durations; the next run selects it or
runs its classes first; a run that passes them forgets them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.projects import POOL_PROJECT, copy_project, run_tests

TROUBLE = "work.tests.test_trouble.TroubleTests"
LABELS = ("work.tests.test_trouble", "work.tests.test_plain")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(POOL_PROJECT, tmp_path / "pool")


def _store(project: Path) -> dict[str, object]:
    return json.loads((project / ".testkit" / "failed.json").read_text(encoding="utf-8"))


def _ran(run_stderr: str) -> list[str]:
    return [line.split(" ", 1)[0] for line in run_stderr.splitlines() if " ... " in line]


def test_a_crashed_test_is_run_alone_next_time_then_forgotten(project: Path) -> None:
    crashed = run_tests(project, "--parallel", "2", *LABELS, env={"POOL_CRASH": "exit"})
    assert crashed.returncode == 1, crashed.describe()
    assert _store(project) == {"format": 1, "groups": [], "tests": [f"{TROUBLE}.test_b_trouble"]}
    again = run_tests(project, "--last-failed", "-v", "2", *LABELS)
    assert again.returncode == 0, again.describe()
    assert "Last failed: running 1 of 13 tests (1 failed last time)." in again.stdout
    assert _ran(again.stderr) == ["test_b_trouble"]
    # It passed: forgotten, and the next --last-failed runs everything, saying so.
    assert _store(project)["tests"] == []
    everything = run_tests(project, "--last-failed", "--parallel", "2", *LABELS)
    assert everything.returncode == 0, everything.describe()
    assert (
        "Last failed: no test of this selection failed last time; running all 13."
        in everything.stdout
    )
    assert everything.outcomes.ran is not None
    assert everything.outcomes.ran >= 13 - 9  # skipped classes may not count (Python 3.12.1)


def test_a_class_fixture_error_selects_the_whole_class(project: Path) -> None:
    hanging = "work.tests.test_trouble.HangingSetUpClassTests"
    first = run_tests(project, "--timeout", "1", *LABELS, env={"POOL_HANG_CLASS": "1"})
    assert first.returncode == 1, first.describe()
    assert _store(project)["groups"] == [hanging]
    again = run_tests(project, "--last-failed", "--parallel", "2", "-v", "2", *LABELS)
    assert again.returncode == 0, again.describe()
    assert _ran(again.stderr) == ["test_after_setup"], again.describe()


@pytest.mark.parametrize("workers", [(), ("--parallel", "2")], ids=["serial", "parallel"])
def test_failed_first_runs_the_failed_class_first_in_its_group(
    project: Path, workers: tuple[str, ...]
) -> None:
    timed_out = run_tests(project, "--timeout", "1", *LABELS, env={"POOL_HANG": "1"})
    assert timed_out.returncode == 1, timed_out.describe()
    assert _store(project)["tests"] == [f"{TROUBLE}.test_b_trouble"]
    run = run_tests(project, "--failed-first", "-v", "2", *workers, *LABELS)
    assert run.returncode == 0, run.describe()
    assert "Failed first: 1 of 13 tests failed last time; their 1 class run first." in run.stdout
    if not workers:
        ran = _ran(run.stderr)
        # Django's TestCase classes first, then TroubleTests whole, before the other
        # SimpleTestCase classes.
        simple = [name for name in ran if name not in {"test_starts_empty", "test_write_and_read"}]
        assert simple[:4] == ["test_a_before", "test_b_trouble", "test_c_after", "test_d_after"]
    assert run.outcomes.verdict is not None
    assert run.outcomes.verdict.startswith("OK")


def test_a_durations_file_that_is_a_device_keeps_the_store_out_of_its_folder(
    project: Path,
) -> None:
    assert not Path("/dev/failed.json").exists()
    run = run_tests(project, "--durations-file", "/dev/null", *LABELS)
    assert run.returncode == 0, run.describe()
    assert not Path("/dev/failed.json").exists()
    assert not (project / ".testkit" / "failed.json").exists()
