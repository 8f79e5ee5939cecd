"""``--junit-xml`` end to end, read back by an independent consumer (junitparser): one
testcase per test with its file, line and the time it took where it ran; failures,
errors, skips, subtests, class fixture errors, crashed and not-run tests; captured
output under ``--buffer``; characters XML cannot hold; bad paths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from junitparser import Attr, Error, Failure, IntAttr, JUnitXml, Skipped, TestCase

from tests.support.projects import POOL_PROJECT, copy_project, run_tests

EXTRA = """\
import sys
import time
import unittest

from django.test import SimpleTestCase


class ReportedTests(SimpleTestCase):
    def test_control_characters(self):
        print("printed \\x1b[31mred\\x00 output")
        self.fail("bell \\x07 and escape \\x1b[0m in a message, and \\u00e9t\\u00e9")

    def test_subtests(self):
        for number in range(3):
            with self.subTest(number=number):
                self.assertNotEqual(number, 1)

    def test_sleeps(self):
        time.sleep(0.3)

    @unittest.skip("not today")
    def test_skipped(self):
        pass
"""


#: A status line's test: "test_x (app.tests.C.test_x)", then a subtest's parameters.
_LINE = re.compile(r"^(?P<name>\w+) \((?P<id>[\w.]+)\)(?P<subtest>.*)$")


class Located(TestCase):
    """A testcase with the ``file`` and ``line`` attributes CI systems read."""

    file = Attr()
    line = IntAttr()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copied = copy_project(POOL_PROJECT, tmp_path / "pool")
    (copied / "work" / "tests" / "test_reported.py").write_text(EXTRA, encoding="utf-8")
    return copied


def _cases(path: Path) -> dict[str, Located]:
    xml = JUnitXml.fromfile(str(path))
    suites = list(xml)
    assert len(suites) == 1
    return {f"{case.classname}.{case.name}": case for case in suites[0].iterchildren(Located)}


def _kind(case: Located) -> str:
    results = list(case.result)
    if not results:
        return "ok"
    assert len(results) == 1
    return {Failure: "FAIL", Error: "ERROR", Skipped: "skipped"}[type(results[0])]


@pytest.mark.parametrize("workers", [(), ("--parallel", "2")], ids=["serial", "parallel"])
def test_every_test_is_one_testcase_with_its_outcome_place_and_time(
    project: Path, workers: tuple[str, ...]
) -> None:
    report = project / "reports" / "junit.xml"
    report.parent.mkdir()
    report.write_text("an older report\n", encoding="utf-8")
    env = {"POOL_OUTCOMES": "1", "POOL_CRASH": "exit" if workers else ""}
    run = run_tests(project, "-v", "2", "--buffer", "--junit-xml", str(report), *workers, env=env)
    assert run.returncode == 1, run.describe()
    cases = _cases(report)
    # Every test the console reports is there once, with the same outcome.
    for description, status in run.outcomes.statuses:
        line = _LINE.match(description)
        if line is None:
            continue  # a skipped class named by its reason only (Python 3.12)
        test_id = line["id"]
        if not test_id.endswith(f".{line['name']}"):
            test_id = f"{test_id}.{line['name']}"  # Python before 3.11 names the class
        expected = {"expected failure": "skipped", "unexpected success": "FAIL"}.get(status)
        if line["subtest"]:
            expected = "FAIL"  # a failed subtest fails its test
        assert _kind(cases[test_id]) == (expected or status.split(" ")[0]), (test_id, status)
    for key, case in cases.items():
        assert case.file, key
        assert (project / case.file).is_file(), (key, case.file)
        assert case.line > 0, key
        assert case.time >= 0
    reported = "work.tests.test_reported.ReportedTests"
    # The time it took where it ran.
    assert cases[f"{reported}.test_sleeps"].time >= 0.3
    # Characters XML cannot hold are escaped; the rest, and --buffer's output, are kept.
    failed = next(iter(cases[f"{reported}.test_control_characters"].result))
    assert failed.message == r"bell \x07 and escape \x1b[0m in a message, and été"
    assert "AssertionError: bell" in failed.text
    assert r"printed \x1b[31mred\x00 output" in failed.text
    # A failed subtest makes its test a failure that names it.
    subtests = next(iter(cases[f"{reported}.test_subtests"].result))
    assert subtests.message == "1 subtest failed: (number=1)"
    assert "AssertionError: 1 == 1" in subtests.text
    assert _kind(cases[f"{reported}.test_skipped"]) == "skipped"
    # A class fixture's error is a testcase of its own, where the fixture is written.
    fixture = cases["work.tests.test_outcomes.BrokenSetUpClassTests.setUpClass"]
    assert _kind(fixture) == "ERROR"
    assert fixture.file == "work/tests/test_outcomes.py"
    if workers:
        trouble = "work.tests.test_trouble.TroubleTests"
        crashed = next(iter(cases[f"{trouble}.test_b_trouble"].result))
        assert crashed.type == "WorkerCrashed"
        for name in ("test_c_after", "test_d_after"):
            not_run = next(iter(cases[f"{trouble}.{name}"].result))
            assert isinstance(not_run, Error)
            assert not_run.type == "NotRun"
            assert not_run.message.startswith("not run: worker ")
    suite = next(iter(JUnitXml.fromfile(str(report))))
    properties = {item.name: item.value for item in suite.properties()}
    assert set(properties) >= {"python", "django", "django-testkit", "parallel"}


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("manage.py/junit.xml", "cannot be written: "),
        (".", "cannot be written: it is a directory;"),
    ],
)
def test_a_report_path_that_cannot_be_written_is_one_line_before_the_run(
    project: Path, path: str, problem: str
) -> None:
    run = run_tests(project, "--junit-xml", path, "work.tests.test_plain")
    assert run.returncode == 1, run.describe()
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.describe()
    assert lines[0].startswith(f"ConfigurationError: --junit-xml = '{path}' {problem}")
    assert "Creating test database" not in run.stdout + run.stderr
