"""Unit tests: bad result destinations, baselines and variables are one line, found early.

Config, report destinations, the coverage baseline and the reports' writing,
with files, FIFOs and devices in a temporary directory and an in-memory
coverage measurement of a tiny module; no Django project, no database.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import coverage
import pytest

from django_testkit import records
from django_testkit.config import TestkitConfig, load_config, unknown_variables
from django_testkit.cov import gates, reports
from django_testkit.exceptions import EXIT_OK, EXIT_TESTS_FAILED, ConfigurationError
from django_testkit.specs import ReportSpec
from tests.test_files_safety import FifoReader

# -- the durations file option ---------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "cli", "where"),
    [
        ({}, {"durations_file": ""}, "--durations-file"),
        ({"TESTKIT_DURATIONS_FILE": ""}, {}, "the TESTKIT_DURATIONS_FILE environment variable"),
    ],
)
def test_an_empty_durations_file_is_an_error(
    environ: dict[str, str], cli: dict[str, object], where: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_config({}, environ, cli)
    assert str(raised.value) == (
        f"{where} = '' is empty; give a file path such as '.testkit/durations.json', or "
        "leave it out for that default."
    )


def test_a_durations_file_that_is_a_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_config({}, {}, {"durations_file": str(tmp_path)})
    message = str(raised.value)
    assert message.startswith(f"--durations-file = {str(tmp_path)!r} cannot be written: it is a")
    assert "such as '.testkit/durations.json'" in message


def test_a_durations_file_under_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "passwd").write_text("")
    path = str(tmp_path / "passwd" / "x.json")
    with pytest.raises(ConfigurationError, match="is not a directory"):
        load_config({"DURATIONS_FILE": path})


def test_a_durations_file_that_is_a_fifo_or_new_is_accepted(tmp_path: Path) -> None:
    fifo = tmp_path / "d.fifo"
    os.mkfifo(fifo)
    assert load_config({}, {}, {"durations_file": str(fifo)}).durations_file == str(fifo)
    new = str(tmp_path / "new" / "d.json")
    assert load_config({}, {}, {"durations_file": new}).durations_file == new
    assert sorted(os.listdir(tmp_path)) == ["d.fifo"]


# -- unknown TESTKIT_* variables -----------------------------------------------------------


def test_an_unknown_variable_is_a_warning_with_the_closest_name() -> None:
    environ = {"TESTKIT_REUSEDB": "1", "TESTKIT_DB_SUFFIX": "ci", "TESTKIT_COVERAGE_SPEC": "{}"}
    assert unknown_variables(environ) == [
        "Warning: the environment variable TESTKIT_REUSEDB is not a django-testkit option "
        "and is ignored; did you mean TESTKIT_REUSE_DB?"
    ]


def test_an_unknown_variable_with_no_close_name_lists_the_known_ones() -> None:
    (line,) = unknown_variables({"TESTKIT_ZZZZZZZZZZZZ": "1", "OTHER": "x"})
    assert "TESTKIT_ZZZZZZZZZZZZ is not a django-testkit option" in line
    assert "the known ones are TESTKIT_ARTIFACTS, TESTKIT_CHANGED, TESTKIT_COV, " in line
    assert "TESTKIT_DURATIONS_FILE" in line


def test_load_config_prints_the_warning_once_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config({}, {"TESTKIT_TIMEOUTS": "5"}, {}, warn_unknown=True)
    assert config.timeout == 0.0
    # Workers and the relaunch under coverage read the same environment and stay quiet.
    assert load_config({}, {"TESTKIT_TIMEOUTS": "5"}, {}).timeout == 0.0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "Warning: the environment variable TESTKIT_TIMEOUTS is not a django-testkit option "
        "and is ignored; did you mean TESTKIT_TIMEOUT?"
    ]


# -- report destinations -------------------------------------------------------------------


def _specs(*values: str) -> tuple[ReportSpec, ...]:
    return tuple(ReportSpec(value.split(":")[0], value.split(":", 1)[1]) for value in values)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda tmp: f"xml:{tmp}", "it is a directory"),
        (lambda tmp: "xml:/proc/testkit-x.xml", "no file can be created in /proc"),
        (lambda tmp: f"json:{tmp}/file.txt/x.json", "is not a directory"),
        (lambda tmp: f"html:{tmp}/file.txt", "it is a file, and an HTML report is a directory"),
        (lambda tmp: f"markdown-append:{tmp}", "it is a directory"),
    ],
    ids=["xml dir", "xml /proc", "json under a file", "html file", "markdown-append dir"],
)
def test_unwritable_report_destinations_are_one_line(
    tmp_path: Path, make: Any, problem: str
) -> None:
    (tmp_path / "file.txt").write_text("")
    value = make(tmp_path)
    with pytest.raises(ConfigurationError) as raised:
        reports.resolve_destinations(_specs(value), {})
    message = str(raised.value)
    assert message.startswith(f"--cov-report {value} cannot be written (")
    assert problem in message
    assert "\n" not in message


def test_fifo_and_html_directory_destinations_are_accepted(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "x.fifo")
    (tmp_path / "htmlcov").mkdir()
    specs = _specs(f"xml:{tmp_path}/x.fifo", f"html:{tmp_path}/htmlcov", "json:new/c.json")
    assert reports.resolve_destinations(specs, {}) == specs


# -- writing reports -----------------------------------------------------------------------


@pytest.fixture
def measured(tmp_path: Path) -> coverage.Coverage:
    """A coverage measurement (in memory) of a small module in ``tmp_path``."""
    source = tmp_path / "src"
    source.mkdir()
    module = source / "tiny.py"
    module.write_text("def f(x):\n    if x:\n        return 1\n    return 2\n\n\nf(1)\n")
    cov = coverage.Coverage(data_file=None, source=[str(source)], config_file=False)
    cov.start()
    try:
        spec = importlib.util.spec_from_file_location("tiny", module)
        assert spec is not None
        assert spec.loader is not None
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    finally:
        cov.stop()
    return cov


@pytest.mark.parametrize("kind", ["xml", "json", "lcov", "markdown", "markdown-append"])
def test_each_file_report_reaches_a_fifo_whole_and_the_fifo_stays(
    measured: coverage.Coverage, tmp_path: Path, kind: str
) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    reader = FifoReader(fifo)
    line = reports.write_report(measured, ReportSpec(kind, str(fifo)), io.StringIO())
    data = reader.wait()
    assert str(fifo) in line
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert b"tiny" in data
    if kind == "json":
        assert json.loads(data)["totals"]["num_statements"] == 5


def test_a_report_through_a_symlink_updates_the_target(
    measured: coverage.Coverage, tmp_path: Path
) -> None:
    target = tmp_path / "shared" / "coverage.xml"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "coverage.xml"
    link.symlink_to(target)
    reports.write_report(measured, ReportSpec("xml", str(link)), io.StringIO())
    assert link.is_symlink()
    assert target.read_text().startswith("<?xml")


def test_an_html_report_through_a_symlink_keeps_the_link(
    measured: coverage.Coverage, tmp_path: Path
) -> None:
    target = tmp_path / "site" / "htmlcov"
    target.mkdir(parents=True)
    link = tmp_path / "htmlcov"
    link.symlink_to(target, target_is_directory=True)
    reports.write_report(measured, ReportSpec("html", str(link)), io.StringIO())
    assert link.is_symlink()
    assert (target / "index.html").is_file()


def _run(cov: coverage.Coverage, specs: tuple[ReportSpec, ...], **config: Any) -> Any:
    runner = SimpleNamespace(
        config=records.replace(TestkitConfig(), **config),
        whole_suite=True,
    )
    coverage_on = SimpleNamespace(session=SimpleNamespace(finish=lambda: cov), reports=specs)
    return gates.report_and_check(runner, coverage_on, 0, "")


def test_a_report_that_cannot_be_written_is_one_line_and_exit_1(
    measured: coverage.Coverage, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "nobody-reads.fifo"
    os.mkfifo(fifo)
    good = tmp_path / "c.json"
    status = _run(measured, (ReportSpec("xml", str(fifo)), ReportSpec("json", str(good))))
    assert status == EXIT_TESTS_FAILED
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"Coverage: the xml report could not be written to {fifo} (it is a")
    assert "nobody is reading" in err[0]
    assert "; the coverage data is kept in " in err[0]
    assert good.is_file()  # the other reports are still written


# -- the coverage baseline -----------------------------------------------------------------


def test_a_baseline_is_read_or_absent(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    assert gates.read_baseline(path) is None
    path.write_text('{"total": 87.5}')
    assert gates.read_baseline(path) == 87.5


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "it is not valid JSON"),
        ("", "it is not valid JSON"),
        ('{"total": "high"}', 'it has no "total" percentage'),
        ('{"total": 120}', 'it has no "total" percentage'),
        ("[87.5]", 'it has no "total" percentage'),
        (None, "it is not a regular file"),
    ],
)
def test_an_unusable_baseline_is_a_one_line_error(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    path = tmp_path / "baseline.json"
    if content is None:
        os.mkfifo(path)  # reading it would wait for a writer
    else:
        path.write_text(content)
    with pytest.raises(ConfigurationError) as raised:
        gates.check_baseline_before_the_run(TestkitConfig(cov_baseline=str(path)))
    message = str(raised.value)
    assert message.startswith(f"--cov-baseline = {str(path)!r} cannot be used: {problem}")
    assert "\n" not in message


def test_a_baseline_that_breaks_during_the_run_fails_the_gate(
    measured: coverage.Coverage, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "baseline.json"
    path.write_text("{oops")
    status = _run(measured, (), cov_baseline=str(path))
    assert status == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"Coverage: --cov-baseline = {str(path)!r} cannot be used: it is not valid JSON "
        "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1)); fix "
        'the file, or delete it to start again (it should read {"total": 87.5}; '
        "--cov-update-baseline writes it)."
    ]


def test_a_good_baseline_passes(measured: coverage.Coverage, tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_text('{"total": 10}')
    assert _run(measured, (), cov_baseline=str(path)) == EXIT_OK
