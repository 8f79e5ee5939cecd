"""End-to-end: result files never replace what is at their path; bad paths are one line.

Runs ``manage.py test`` in copies of the pool and coverage fixture projects
with durations files and coverage reports pointed at FIFOs, links, pipes,
a character device made in the temporary directory (never the real
``/dev/null``) and directories, and checks the exit status, the lines printed
and what is left at each path.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.projects import (
    COVERAGE_PROJECT,
    POOL_PROJECT,
    RUN_TIMEOUT,
    Run,
    copy_project,
    manage_environment,
    run_tests,
)
from tests.test_files_safety import FifoReader

pytestmark = pytest.mark.e2e

PLAIN = "work.tests.test_plain"
SLOWER = "work.tests.test_plain.SlowerTests"
MANAGE_TEST = [sys.executable, "manage.py", "test", "--noinput"]


@pytest.fixture
def pool(tmp_path: Path) -> Path:
    return copy_project(POOL_PROJECT, tmp_path / "pool")


@pytest.fixture
def covered(tmp_path: Path) -> Path:
    return copy_project(COVERAGE_PROJECT, tmp_path / "cov")


def output_lines(run: Run) -> list[str]:
    return [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]


def assert_one_line_before_any_database(run: Run, project: Path, message: str) -> None:
    assert run.returncode != 0, run.describe()
    lines = output_lines(run)
    assert len(lines) == 1, run.describe()
    assert message in lines[0], run.describe()
    assert "Traceback" not in run.stderr
    assert "Creating test database" not in run.stderr
    assert not (project / ".coverage").exists()
    assert not list(project.glob("*.sqlite3"))


# -- durations ---------------------------------------------------------------------------


def test_durations_into_a_fifo_with_a_reader(pool: Path, fifo: Path) -> None:
    reader = FifoReader(fifo, timeout=RUN_TIMEOUT)
    run = run_tests(pool, "--parallel", "2", "--durations-file", str(fifo), PLAIN)
    assert run.returncode == 0, run.describe()
    assert SLOWER in json.loads(reader.wait())["units"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert "durations" not in run.stdout + run.stderr


def test_durations_into_a_fifo_nobody_reads_is_one_line_not_a_hang(pool: Path, fifo: Path) -> None:
    run = run_tests(pool, "--parallel", "2", "--durations-file", str(fifo), PLAIN)
    assert run.returncode == 0, run.describe()
    lines = [line for line in output_lines(run) if "durations" in line]
    assert len(lines) == 1, run.describe()
    assert "nobody is reading" in lines[0]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_durations_through_a_symlink_update_the_shared_file(pool: Path, tmp_path: Path) -> None:
    shared = tmp_path / "cache" / "durations.json"
    shared.parent.mkdir()
    shared.write_text(json.dumps({"format": 1, "units": {"other.tests.Kept": 1.0}}))
    link = pool / ".testkit" / "durations.json"
    link.parent.mkdir()
    link.symlink_to(shared)
    run = run_tests(pool, "--parallel", "2", PLAIN)
    assert run.returncode == 0, run.describe()
    assert link.is_symlink()
    assert os.readlink(link) == str(shared)
    units = json.loads(shared.read_text())["units"]
    assert SLOWER in units
    assert "other.tests.Kept" in units  # a label run keeps what it did not run
    assert sorted(os.listdir(shared.parent)) == ["durations.json"]


def test_durations_into_a_character_device(pool: Path, char_device: Path) -> None:
    run = run_tests(pool, "--parallel", "2", "--durations-file", str(char_device), PLAIN)
    assert run.returncode == 0, run.describe()
    assert stat.S_ISCHR(os.stat(char_device).st_mode)


def test_one_bad_duration_is_dropped_alone_with_one_line(pool: Path) -> None:
    store = pool / ".testkit" / "durations.json"
    store.parent.mkdir()
    units = {"other.tests.Kept": 1.0, "other.tests.Bad": "abc"}
    store.write_text(json.dumps({"format": 1, "units": units}))
    run = run_tests(pool, "--parallel", "2", PLAIN)
    assert run.returncode == 0, run.describe()
    lines = [line for line in output_lines(run) if "durations file" in line]
    assert lines == [
        f"Dropping entry from the durations file {store}, not a number of seconds >= 0: "
        "'other.tests.Bad' ('abc'); the other durations are used."
    ], run.describe()
    saved = json.loads(store.read_text())["units"]
    assert "other.tests.Kept" in saved
    assert "other.tests.Bad" not in saved
    assert SLOWER in saved


def test_a_durations_file_of_a_newer_format_is_left_alone(pool: Path) -> None:
    store = pool / ".testkit" / "durations.json"
    store.parent.mkdir()
    newer = json.dumps({"format": 2, "units": {"x": {"p50": 1.0}}})
    store.write_text(newer)
    run = run_tests(pool, "--parallel", "2", PLAIN)
    assert run.returncode == 0, run.describe()
    lines = [line for line in output_lines(run) if "durations" in line]
    assert lines == [
        f"Leaving the durations file {store} alone: it is in format 2, newer than this "
        "version reads (format 1); this run's durations are not recorded."
    ], run.describe()
    assert store.read_text() == newer


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "--durations-file = '' is empty; give a file path"),
        ("{tmp}", "--durations-file = '{tmp}' cannot be written: it is a directory;"),
        ("{tmp}/file.txt/x.json", "cannot be written: {tmp}/file.txt is not a directory;"),
        ("/proc/testkit/x.json", "cannot be written: no file can be created in /proc ("),
    ],
    ids=["empty", "directory", "under a file", "under /proc"],
)
def test_a_bad_durations_file_is_one_line_before_any_database(
    pool: Path, tmp_path: Path, value: str, message: str
) -> None:
    (tmp_path / "file.txt").write_text("")
    value, message = value.format(tmp=tmp_path), message.format(tmp=tmp_path)
    run = run_tests(pool, "--parallel", "2", "--durations-file", value, PLAIN)
    assert_one_line_before_any_database(run, pool, message)
    assert sorted(os.listdir(tmp_path)) == ["file.txt", "pool"]


# -- coverage reports ----------------------------------------------------------------------


def test_xml_report_into_a_fifo_with_a_reader(covered: Path, fifo: Path) -> None:
    reader = FifoReader(fifo, timeout=RUN_TIMEOUT)
    run = run_tests(covered, "--cov", "--cov-report", f"xml:{fifo}")
    assert run.returncode == 0, run.describe()
    data = reader.wait()
    assert data.startswith(b"<?xml"), data[:200]
    assert data.rstrip().endswith(b"</coverage>")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert f"Coverage XML written to file {fifo}" in run.stdout


def test_xml_report_into_a_fifo_nobody_reads_is_one_line_and_keeps_the_data(
    covered: Path, fifo: Path
) -> None:
    run = run_tests(covered, "--cov", "--cov-report", f"xml:{fifo}")
    assert run.returncode == 1, run.describe()
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("Coverage:")]
    assert lines == [
        f"Coverage: the xml report could not be written to {fifo} (it is a FIFO that nobody "
        "is reading (start the reader first)); the coverage data is kept in "
        f"{covered / '.coverage'}."
    ], run.describe()
    assert (covered / ".coverage").is_file()
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


class PipeReader:
    """The read end of a pipe whose write end a child gets; read in a thread."""

    def __init__(self) -> None:
        self.read_end, self.write_end = os.pipe()
        self.data = b""
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with os.fdopen(self.read_end, "rb") as stream:
            self.data = stream.read()

    def wait(self) -> bytes:
        self._thread.join(RUN_TIMEOUT)
        return self.data


@pytest.fixture
def pipe() -> Iterator[PipeReader]:
    reader = PipeReader()
    yield reader
    if reader.write_end >= 0:
        os.close(reader.write_end)


def test_xml_report_into_a_pipe_through_a_descriptor_link(
    covered: Path, tmp_path: Path, pipe: PipeReader
) -> None:
    # A link of our own to /proc/self/fd/N stands for /dev/fd/N: a broken writer
    # would replace the link in tmp, never the machine's /dev/fd.
    link = tmp_path / "fd"
    link.symlink_to(f"/proc/self/fd/{pipe.write_end}")
    argv = [*MANAGE_TEST, "--cov", "--cov-report", f"xml:{link}"]
    completed = subprocess.run(
        argv,
        cwd=covered,
        env=manage_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        pass_fds=(pipe.write_end,),
    )
    os.close(pipe.write_end)
    pipe.write_end = -1
    run = Run(argv, completed.returncode, completed.stdout, completed.stderr)
    assert run.returncode == 0, run.describe()
    data = pipe.wait()
    assert data.startswith(b"<?xml"), run.describe()
    assert data.rstrip().endswith(b"</coverage>")
    assert link.is_symlink()


def test_xml_report_to_stdout_redirected_to_a_file_follows_the_other_output(
    covered: Path, tmp_path: Path
) -> None:
    # Like xml:/dev/stdout, through a link of our own (the real /dev/stdout is never
    # named in a test: a broken writer would replace it for the whole machine).
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    log = tmp_path / "log.txt"
    with open(log, "w", encoding="utf-8") as stdout:
        completed = subprocess.run(
            [*MANAGE_TEST, "--cov", "--cov-report", "term", "--cov-report", f"xml:{link}"],
            cwd=covered,
            env=manage_environment(),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=RUN_TIMEOUT,
        )
    assert completed.returncode == 0, completed.stderr
    text = log.read_text()
    assert link.is_symlink()
    # The table, then the XML whole, then the line saying where it went.
    assert text.index("TOTAL") < text.index("<?xml") < text.index("</coverage>"), text
    assert text.rstrip().endswith(f"Coverage XML written to file {link}")


def test_reports_into_a_character_device(covered: Path, char_device: Path) -> None:
    run = run_tests(
        covered,
        "--cov",
        "--cov-report",
        f"xml:{char_device}",
        "--cov-report",
        f"json:{char_device}",
    )
    assert run.returncode == 0, run.describe()
    assert stat.S_ISCHR(os.stat(char_device).st_mode)


def test_a_report_through_a_symlink_updates_its_target(covered: Path, tmp_path: Path) -> None:
    target = tmp_path / "artifacts" / "coverage.xml"
    target.parent.mkdir()
    target.write_text("old")
    (covered / "coverage.xml").symlink_to(target)
    run = run_tests(covered, "--cov", "--cov-report", "xml")
    assert run.returncode == 0, run.describe()
    assert (covered / "coverage.xml").is_symlink()
    assert target.read_text().startswith("<?xml")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("xml:{tmp}", "--cov-report xml:{tmp} cannot be written (it is a directory)"),
        ("xml:/proc/x.xml", "--cov-report xml:/proc/x.xml cannot be written (no file can be"),
        ("json:{tmp}/file.txt/c.json", "cannot be written ({tmp}/file.txt is not a directory)"),
    ],
    ids=["directory", "under /proc", "under a file"],
)
def test_a_bad_report_destination_is_one_line_before_any_database(
    covered: Path, tmp_path: Path, value: str, message: str
) -> None:
    (tmp_path / "file.txt").write_text("")
    value, message = value.format(tmp=tmp_path), message.format(tmp=tmp_path)
    run = run_tests(covered, "--cov", "--cov-report", value)
    assert_one_line_before_any_database(run, covered, message)


def test_an_unreadable_baseline_is_one_line_before_any_database(covered: Path) -> None:
    baseline = covered / "baseline.json"
    baseline.write_text("{not json")
    run = run_tests(covered, "--cov", "--cov-baseline", str(baseline))
    assert_one_line_before_any_database(
        run, covered, f"--cov-baseline = {str(baseline)!r} cannot be used: it is not valid JSON"
    )
    assert baseline.read_text() == "{not json"


@pytest.fixture
def immutable(covered: Path) -> Iterator[Path]:
    """The coverage project's directory, made immutable (root cannot create files in it)."""
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(covered)], check=False).returncode:
        pytest.skip("chattr +i is not available here")
    try:
        yield covered
    finally:
        subprocess.run([chattr, "-i", str(covered)], check=True)


def test_a_project_directory_coverage_cannot_write_into_is_one_line(immutable: Path) -> None:
    run = run_tests(immutable, "--cov")
    assert_one_line_before_any_database(
        run,
        immutable,
        f"coverage's data file {immutable / '.coverage'} cannot be written: no file can be "
        f"created in {immutable} (",
    )
    assert "set COVERAGE_FILE" in run.stderr


def test_with_coverage_file_elsewhere_an_immutable_project_is_measured(
    immutable: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data" / ".coverage"
    run = run_tests(
        immutable,
        "--cov",
        "--cov-report",
        f"xml:{tmp_path}/c.xml",
        env={"COVERAGE_FILE": str(data)},
    )
    assert run.returncode == 0, run.describe()
    assert data.is_file()
    assert (tmp_path / "c.xml").is_file()


# -- the environment ---------------------------------------------------------------------


def test_an_unknown_variable_is_one_warning_line_with_coverage_and_workers(covered: Path) -> None:
    run = run_tests(covered, "--cov", "--parallel", "2", env={"TESTKIT_REUSEDB": "1"})
    assert run.returncode == 0, run.describe()
    warnings = [line for line in run.stderr.splitlines() if "TESTKIT_REUSEDB" in line]
    assert warnings == [
        "Warning: the environment variable TESTKIT_REUSEDB is not a django-testkit option "
        "and is ignored; did you mean TESTKIT_REUSE_DB?"
    ], run.describe()
