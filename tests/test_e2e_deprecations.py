"""Every end-to-end run treats Django's next deprecations as errors, and the filter works.

The launcher in ``tests/support/projects.py`` starts each project process with
``tests/support/startup`` first on ``PYTHONPATH``; its ``sitecustomize`` turns
``RemovedInNextVersionWarning`` and ``RemovedAfterNextVersionWarning`` into errors. A
filter that names a class Python cannot import when it reads it is dropped with only a
printed line, so these tests prove the filter takes effect: a fixture test that emits
such a warning must fail, in the parent process and in the workers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.projects import DISCOVER, POOL_PROJECT, TESTKIT, copy_project, run_tests

LABEL = "work.tests.test_deprecated"
WARNING_TESTS = '''\
"""Tests that emit Django's next deprecations, as code that calls a deprecated API does."""

import warnings

from django.test import SimpleTestCase
from django.utils.deprecation import RemovedAfterNextVersionWarning, RemovedInNextVersionWarning


class DeprecatedCallTests(SimpleTestCase):
    def test_removed_in_next_version(self):
        warnings.warn("next-version deprecation", RemovedInNextVersionWarning, stacklevel=2)

    def test_removed_after_next_version(self):
        warnings.warn("after-next deprecation", RemovedAfterNextVersionWarning, stacklevel=2)
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copied = copy_project(POOL_PROJECT, tmp_path / "pool")
    (copied / "work" / "tests" / "test_deprecated.py").write_text(WARNING_TESTS, "utf-8")
    return copied


@pytest.mark.parametrize("runner", [DISCOVER, TESTKIT])
@pytest.mark.parametrize("extra", [[], ["--parallel", "2"]], ids=["serial", "parallel"])
def test_a_next_deprecation_fails_the_test_that_emits_it(
    project: Path, runner: str, extra: list[str]
) -> None:
    run = run_tests(project, *extra, LABEL, runner=runner)
    assert run.returncode == 1, run.describe()
    assert "FAILED (errors=2)" in run.stderr, run.describe()
    assert "Warning: next-version deprecation" in run.stderr, run.describe()
    assert "Warning: after-next deprecation" in run.stderr, run.describe()
    assert "Invalid -W option" not in run.stderr, run.describe()
    assert "Error in sitecustomize" not in run.stderr, run.describe()


def test_a_next_deprecation_fails_in_a_spawned_worker(project: Path) -> None:
    """A spawned worker starts a new interpreter: it gets the filter from the environment."""
    run = run_tests(project, "--parallel", "2", "--start-method", "spawn", LABEL, runner=TESTKIT)
    assert run.returncode == 1, run.describe()
    assert "FAILED (errors=2)" in run.stderr, run.describe()


def test_the_same_tests_pass_when_a_run_opts_out(project: Path) -> None:
    # Opted out on purpose: this run shows that the filter, not the tests, fails them above.
    run = run_tests(project, LABEL, runner=TESTKIT, deprecations_as_errors=False)
    assert run.returncode == 0, run.describe()
    assert "OK" in run.stderr, run.describe()
