"""Drop-in parity on the example project, on every requested database backend.

The example project's suite passes in full under both runners, serially and with
``--parallel 2``, and both runners report exactly the same per-test outcomes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.projects import DISCOVER, TESTKIT, Run, run_tests

FOUND = re.compile(r"^Found (\d+) test\(s\)\.$", re.MULTILINE)


def _found(run: Run) -> int:
    match = FOUND.search(run.stdout)
    assert match, run.describe()
    return int(match.group(1))


def _assert_all_passed(run: Run) -> None:
    outcomes = run.outcomes
    assert run.returncode == 0, run.describe()
    assert outcomes.verdict == "OK", run.describe()
    assert outcomes.ran == _found(run) > 30, run.describe()
    assert not outcomes.blocks
    assert {status for _, status in outcomes.statuses} == {"ok"}


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel-2"])
def test_example_suite_passes_identically(
    example_project: Path, backend: str, parallel: bool
) -> None:
    args = ["-v", "2", *(["--parallel", "2"] if parallel else [])]
    django_run = run_tests(example_project, *args, runner=DISCOVER, backend=backend)
    testkit_run = run_tests(example_project, *args, runner=TESTKIT, backend=backend)

    _assert_all_passed(django_run)
    _assert_all_passed(testkit_run)
    if parallel:
        assert testkit_run.outcomes.as_multiset() == django_run.outcomes.as_multiset()
    else:
        assert testkit_run.outcomes.as_sequence() == django_run.outcomes.as_sequence()
