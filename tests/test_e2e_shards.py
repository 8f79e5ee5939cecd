"""``--shard K/N`` end to end on the example project: the shards' outcomes add up to a
full run's, test for test; bad values stop before any database exists; runs without
workers record durations, which the next split uses; shard runs leave the store alone."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.support.projects import Run, run_tests

SHARDS = 3
_SUMMARY = re.compile(
    r"^Shard (\d)/(\d) \((.*)\): (\d+) of (\d+) tests, (\d+) of (\d+) classes, "
    r"~[\d.]+s of ~[\d.]+s \((\d+) of \d+ classes with recorded durations\)\.$",
    re.MULTILINE,
)


def _statuses(run: Run) -> Counter[tuple[str, str]]:
    return Counter(run.outcomes.as_multiset()[0])


def test_the_shards_add_up_to_the_whole_suite_test_for_test(
    example_project: Path, backend: str, db_suffix: str
) -> None:
    env = {"EXAMPLE_DB_SUFFIX": db_suffix}
    whole = run_tests(example_project, "-v", "2", backend=backend, env=env)
    assert whole.returncode == 0, whole.describe()
    store = example_project / ".testkit" / "durations.json"
    recorded = json.loads(store.read_text(encoding="utf-8"))
    union: Counter[tuple[str, str]] = Counter()
    classes = 0
    for index in range(1, SHARDS + 1):
        # The second shard uses workers too: a shard is a suite like any other.
        extra = ("--parallel", "2") if index == 2 else ()
        run = run_tests(
            example_project,
            "-v",
            "2",
            "--shard",
            f"{index}/{SHARDS}",
            *extra,
            backend=backend,
            env=env,
        )
        assert run.returncode == 0, run.describe()
        summary = _SUMMARY.search(run.stdout)
        assert summary is not None, run.describe()
        assert summary.group(1, 2, 3) == (str(index), str(SHARDS), "--shard")
        # Balanced by the durations the serial run recorded, for every class.
        assert summary[8] == summary[7], run.describe()
        assert int(summary[4]) == run.outcomes.ran
        classes += int(summary[6])
        shard = _statuses(run)
        assert not (set(shard) & set(union)), "a test ran in two shards"
        union += shard
    assert union == _statuses(whole)
    assert classes == len(recorded["units"])
    # Shard runs leave the durations store as the full run wrote it.
    assert json.loads(store.read_text(encoding="utf-8")) == recorded


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("--shard", "0/3"), {}, "ConfigurationError: --shard = '0/3' is not a shard; "),
        (("--shard", "4/3"), {}, "ConfigurationError: --shard = '4/3' is not a shard; "),
        (("--shard", "x"), {}, "ConfigurationError: --shard = 'x' is not a shard; "),
        (("--shard", "auto"), {}, "ConfigurationError: --shard = 'auto' found no CI shard "),
        (
            (),
            {"TESTKIT_SHARD": "5"},
            "ConfigurationError: the TESTKIT_SHARD environment variable = '5' is not a shard",
        ),
        (
            ("--shard", "auto"),
            {"CI_NODE_INDEX": "0", "CI_NODE_TOTAL": "2"},
            "ConfigurationError: --shard = 'auto' found GitLab CI's CI_NODE_INDEX='0', ",
        ),
    ],
)
def test_a_bad_shard_is_one_line_before_any_database_exists(
    example_project: Path, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    run = run_tests(example_project, *args, env=env)
    assert run.returncode == 1, run.describe()
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.describe()
    assert lines[0].startswith(message), run.describe()
    assert "Creating test database" not in run.stdout + run.stderr


def test_auto_takes_the_ci_job_number(example_project: Path) -> None:
    env = {"CIRCLE_NODE_INDEX": "1", "CIRCLE_NODE_TOTAL": "2"}
    run = run_tests(example_project, "--shard", "auto", "catalog", env=env)
    assert run.returncode == 0, run.describe()
    summary = _SUMMARY.search(run.stdout)
    assert summary is not None, run.describe()
    assert summary.group(1, 2, 3) == ("2", "2", "CircleCI's CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL")


def test_a_run_without_workers_records_class_durations(example_project: Path) -> None:
    run = run_tests(example_project, "catalog", "orders")
    assert run.returncode == 0, run.describe()
    store = example_project / ".testkit" / "durations.json"
    units = json.loads(store.read_text(encoding="utf-8"))["units"]
    assert units, store.read_text(encoding="utf-8")
    assert all(key.startswith(("catalog.tests.", "orders.tests.")) for key in units), units
    assert all(isinstance(seconds, float) and seconds >= 0 for seconds in units.values())
    # The slow class is measured as slow (it sleeps), the others as quick.
    slowest = max(units, key=units.__getitem__)
    assert units[slowest] > 5 * sorted(units.values())[len(units) // 2], units
