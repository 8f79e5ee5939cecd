"""``--rerun-failures N`` end to end on the example project with tests added to it: a test
that fails (or crashes its worker) once passes when run again in a fresh process and is
reported as flaky; one that keeps failing fails the run; ``FLAKY_FAILS``; never under
``--failfast``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.support.projects import Run, run_tests

TESTS = """
import os
from pathlib import Path

from django.contrib.auth.models import User
from django.test import SimpleTestCase, TestCase

MARKS = Path(os.environ["RERUN_MARKS"])


def first_time(name):
    mark = MARKS / name
    if mark.exists():
        return False
    mark.write_text("done")
    return True


class FlakyTests(TestCase):
    def test_fails_once(self):
        User.objects.create(username="flaky")
        self.assertEqual(User.objects.count(), 1)
        if first_time("fails_once"):
            self.fail("failed the first time")

    def test_always_fails(self):
        self.assertEqual(1, 2)


class CrashOnceTests(SimpleTestCase):
    def test_crashes_once(self):
        if first_time("crashes_once"):
            os._exit(3)


class FixtureOnceTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if first_time("fixture_once"):
            raise RuntimeError("setUpClass failed the first time")

    def test_one(self):
        pass

    def test_two(self):
        pass
"""
MODULE = "orders.tests.test_reruns"
FLAKY = f"{MODULE}.FlakyTests.test_fails_once"
ALWAYS = f"{MODULE}.FlakyTests.test_always_fails"
CRASH = f"{MODULE}.CrashOnceTests.test_crashes_once"


def _run(project: Path, tmp_path: Path, *args: str, **kwargs: object) -> Run:
    marks = tmp_path / f"marks-{len(list(tmp_path.glob('marks-*')))}"
    marks.mkdir()
    env = {"RERUN_MARKS": str(marks), **kwargs.pop("env", {})}  # type: ignore[dict-item]
    return run_tests(project, *args, env=env, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def project(example_project: Path) -> Path:
    (example_project / "orders" / "tests" / "test_reruns.py").write_text(TESTS)
    return example_project


def _summary(run: Run) -> str:
    found = re.findall(r"^(?:OK|FAILED)(?: \(.*\))?$", run.stderr, re.MULTILINE)
    assert len(found) == 1, run.describe()
    return found[0]


FIXTURE = f"{MODULE}.FixtureOnceTests"
SERIAL = ([f"{MODULE}.FlakyTests", FIXTURE], {FLAKY, FIXTURE})
# Only with workers can a test crash its process and the run go on.
PARALLEL = ([MODULE], {FLAKY, FIXTURE, CRASH})


@pytest.mark.parametrize(("workers", "chosen"), [("0", SERIAL), ("2", PARALLEL)])
def test_flaky_tests_pass_when_run_again_and_are_counted_apart(
    project: Path,
    tmp_path: Path,
    backend: str,
    db_suffix: str,
    workers: str,
    chosen: tuple[list[str], set[str]],
) -> None:
    labels, flaky = chosen
    run = _run(
        project,
        tmp_path,
        *labels,
        "--parallel",
        workers,
        "--rerun-failures",
        "2",
        "--junit-xml",
        "junit.xml",
        backend=backend,
        env={"EXAMPLE_DB_SUFFIX": db_suffix},
    )
    assert run.returncode == 1, run.describe()
    assert _summary(run) == f"FAILED (failures=1, flaky={len(flaky)})", run.describe()
    listed = re.findall(r"^FLAKY: (\S+) \(passed on re-run (\d)\)$", run.stderr, re.MULTILINE)
    assert sorted(listed) == sorted((label, "1") for label in flaky)
    assert "AssertionError: failed the first time" in run.stderr  # its first failure
    cases = {
        f"{case.get('classname')}.{case.get('name')}": [child.tag for child in case]
        for case in ElementTree.parse(project / "junit.xml").getroot().iter("testcase")
    }
    assert cases[FLAKY] == ["flakyFailure"]
    assert cases[ALWAYS] == ["failure", "rerunFailure", "rerunFailure"]
    assert cases[f"{FIXTURE}.setUpClass"] == ["flakyError"]
    if CRASH in flaky:
        assert "WorkerCrashed: worker" in run.stderr
        assert cases[CRASH] == ["flakyError"]
    store = json.loads((project / ".testkit" / "flaky.json").read_text(encoding="utf-8"))
    assert set(store["tests"]) == flaky
    failed = json.loads((project / ".testkit" / "failed.json").read_text(encoding="utf-8"))
    assert failed == {"format": 1, "groups": [], "tests": [ALWAYS]}


def test_only_flaky_failures_pass_the_run_unless_flaky_fails(
    project: Path, tmp_path: Path
) -> None:
    args = (FLAKY, "--rerun-failures", "1")
    run = _run(project, tmp_path, *args)
    assert run.returncode == 0, run.describe()
    assert _summary(run) == "OK (flaky=1)"
    strict = _run(project, tmp_path, *args, env={"TESTKIT_FLAKY_FAILS": "1"})
    assert strict.returncode == 1, strict.describe()
    assert _summary(strict) == "FAILED (failures=1, flaky=1)"
    assert f"FLAKY: {FLAKY} (passed on re-run 1)" in strict.stderr


def test_a_test_that_keeps_failing_runs_n_more_times_then_fails(
    project: Path, tmp_path: Path
) -> None:
    run = _run(project, tmp_path, ALWAYS, "--rerun-failures", "3", "--junit-xml", "j.xml")
    assert run.returncode == 1, run.describe()
    assert _summary(run) == "FAILED (failures=1)"
    assert "FLAKY" not in run.stderr
    case = next(ElementTree.parse(project / "j.xml").getroot().iter("testcase"))
    assert [child.tag for child in case] == ["failure", *["rerunFailure"] * 3]


@pytest.mark.parametrize("flag", ["--failfast", "--pdb"])
def test_no_reruns_under_failfast_or_pdb(project: Path, tmp_path: Path, flag: str) -> None:
    run = _run(project, tmp_path, FLAKY, "--rerun-failures", "2", flag, stdin="c\n" * 5)
    assert run.returncode == 1, run.describe()
    assert f"--rerun-failures is not applied under {flag}." in run.stderr
    assert _summary(run) == "FAILED (failures=1)"


def test_a_bad_rerun_count_is_one_line(project: Path) -> None:
    run = run_tests(project, "--rerun-failures", "x")
    assert run.returncode == 1
    assert (
        "ConfigurationError: --rerun-failures = 'x' is not a number of re-runs; use 0 (none) "
        "or a whole number such as 2." in run.stderr
    ), run.describe()


DIES_IN_RERUN = """
import os
from pathlib import Path

from django.test import SimpleTestCase

MARK = Path(os.environ["RERUN_MARKS"]) / "imported"
if MARK.exists():
    os._exit(5)  # the re-run process dies before it can report anything
MARK.write_text("imported once")


class DiesTests(SimpleTestCase):
    def test_fails(self):
        self.fail("fails")
"""


def test_a_rerun_process_that_dies_leaves_the_test_failed(project: Path, tmp_path: Path) -> None:
    (project / "orders" / "tests" / "test_dies.py").write_text(DIES_IN_RERUN)
    label = "orders.tests.test_dies.DiesTests.test_fails"
    run = _run(project, tmp_path, label, "--rerun-failures", "1", "--junit-xml", "j.xml")
    assert run.returncode == 1, run.describe()
    assert _summary(run) == "FAILED (failures=1)"
    case = next(ElementTree.parse(project / "j.xml").getroot().iter("testcase"))
    again = case.find("rerunError")
    assert again is not None
    assert again.get("type") == "RerunFailed"
    assert again.get("message", "").startswith("the re-run process ended with status 5")
