"""Unit tests of django_testkit.files: what is at a result file's path is never replaced.

Every device, FIFO and link is made inside a temporary directory; the real
``/dev/null`` is never touched.
"""

from __future__ import annotations

import os
import select
import shutil
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from django_testkit import files
from django_testkit.exceptions import ConfigurationError


class FifoReader:
    """Reads everything written to a FIFO, in a thread, until the writer closes it.

    The FIFO is open for reading when the constructor returns, so a writer
    that opens it without waiting finds a reader.
    """

    def __init__(self, fifo: Path, timeout: float = 60.0) -> None:
        self.data = b""
        self.timeout = timeout
        # Non-blocking, so opening does not wait for a writer; Linux reports no
        # hang-up on it before a writer has come, so poll waits for the writer.
        self._descriptor = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        poller = select.poll()
        poller.register(self._descriptor, select.POLLIN)
        chunks = []
        try:
            while poller.poll(self.timeout * 1000):
                try:
                    chunk = os.read(self._descriptor, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(self._descriptor)
            self.data = b"".join(chunks)

    def wait(self) -> bytes:
        self._thread.join(self.timeout)
        assert not self._thread.is_alive(), "the writer never closed the FIFO"
        return self.data


def test_a_new_file_is_written_with_its_directories_and_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "out" / "report.txt"
    files.write_text(path, "hello\n")
    assert path.read_bytes() == b"hello\n"
    assert os.listdir(path.parent) == ["report.txt"]


def test_a_symlink_to_a_shared_file_survives_and_its_target_is_updated(tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "durations.json"
    shared.parent.mkdir()
    shared.write_text("old")
    link = tmp_path / "durations.json"
    link.symlink_to(shared)
    files.write_text(link, "new")
    assert link.is_symlink()
    assert os.readlink(link) == str(shared)
    assert shared.read_text() == "new"
    assert sorted(os.listdir(shared.parent)) == ["durations.json"]
    assert sorted(os.listdir(tmp_path)) == ["durations.json", "shared"]


def test_a_dangling_symlink_gets_its_target_written(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "d.json"
    link = tmp_path / "d.json"
    link.symlink_to(target)
    files.write_text(link, "data")
    assert link.is_symlink()
    assert target.read_text() == "data"


def test_a_fifo_with_a_reader_gets_the_bytes_and_stays_a_fifo(fifo: Path) -> None:
    reader = FifoReader(fifo)
    files.write_text(fifo, "x" * 200_000)
    assert reader.wait() == b"x" * 200_000
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_fifo_without_a_reader_is_an_error_at_once_not_a_hang(fifo: Path) -> None:
    with pytest.raises(OSError, match="nobody is reading"):
        files.write_text(fifo, "data")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_report_writer_given_a_temporary_path_reaches_a_fifo_in_one_piece(fifo: Path) -> None:
    reader = FifoReader(fifo)

    def writer(path: Path) -> None:
        # Like coverage's report writers: a file written bit by bit.
        with open(path, "w", encoding="utf-8") as stream:
            for number in range(1000):
                stream.write(f"line {number}\n")

    files.replace_file(fifo, writer)
    assert reader.wait().decode().splitlines() == [f"line {n}" for n in range(1000)]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert os.listdir(fifo.parent) == [fifo.name]


def test_a_character_device_stays_a_device(char_device: Path) -> None:
    before = os.stat(char_device)
    files.write_text(char_device, "into the void")
    files.replace_file(char_device, lambda path: path.write_text("report"))
    files.append_text(char_device, "more")
    after = os.stat(char_device)
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_a_link_to_a_descriptor_of_a_pipe_is_written_in_place(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    try:
        link = tmp_path / "stdout"
        link.symlink_to(f"/proc/self/fd/{write_end}")
        files.write_text(link, "through the pipe")
        os.close(write_end)
        write_end = -1
        with os.fdopen(read_end, "rb") as stream:
            read_end = -1
            assert stream.read() == b"through the pipe"
        assert link.is_symlink()
    finally:
        for descriptor in (read_end, write_end):
            if descriptor >= 0:
                os.close(descriptor)


def test_a_descriptor_of_a_regular_file_is_appended_to_not_replaced(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    with open(log, "w", encoding="utf-8") as stream:
        stream.write("before\n")
        stream.flush()
        inode = os.fstat(stream.fileno()).st_ino
        files.write_text(Path(f"/proc/self/fd/{stream.fileno()}"), "report\n")
    assert log.read_text() == "before\nreport\n"
    assert log.stat().st_ino == inode


def test_a_directory_is_refused_and_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "coverage.xml"
    folder.mkdir()
    (folder / "keep").write_text("kept")
    with pytest.raises(OSError, match="a directory"):
        files.write_text(folder, "data")
    with pytest.raises(OSError, match="a directory"):
        files.replace_file(folder, lambda path: path.write_text("data"))
    with pytest.raises(OSError, match="a directory"):
        files.append_text(folder, "data")
    assert (folder / "keep").read_text() == "kept"


def test_append_through_a_symlink_grows_the_target(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    target.write_text("one\n")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    files.append_text(link, "two\n")
    assert link.is_symlink()
    assert target.read_text() == "one\ntwo\n"


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda tmp: tmp / "out.json", None),
        (lambda tmp: tmp / "new" / "dirs" / "out.json", None),
        (lambda tmp: tmp, "it is a directory"),
        (lambda tmp: Path("/proc/testkit-x.xml"), "no file can be created in /proc"),
        (lambda tmp: tmp / "file.txt" / "x.json", "is not a directory"),
    ],
    ids=["new file", "new directories", "directory", "under /proc", "under a file"],
)
def test_destination_problems_are_found_before_writing(
    tmp_path: Path, make: object, problem: str | None
) -> None:
    (tmp_path / "file.txt").write_text("")
    path = make(tmp_path)  # type: ignore[operator]
    found = files.destination_problem(path)
    if problem is None:
        assert found is None
        assert sorted(os.listdir(tmp_path)) == ["file.txt"]  # the probe is gone
    else:
        assert found is not None
        assert problem in found


def test_a_loop_of_links_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    found = files.destination_problem(tmp_path / "a")
    assert found is not None
    assert found.startswith("it cannot be looked at (")


def test_check_destination_names_the_option_the_value_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as raised:
        files.check_destination(tmp_path, "--durations-file", ".testkit/durations.json")
    message = str(raised.value)
    assert message.startswith(f"--durations-file = {str(tmp_path)!r} cannot be written: it is a")
    assert message.endswith("such as '.testkit/durations.json'.")
    assert "\n" not in message


def test_fifo_and_device_destinations_pass_the_check(fifo: Path) -> None:
    assert files.destination_problem(fifo) is None


def test_an_immutable_directory_is_found_before_writing(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)], check=False).returncode:
        pytest.skip("chattr +i is not available here")
    try:
        found = files.destination_problem(folder / "out.json")
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=True)
    assert found is not None
    assert "no file can be created in" in found


def test_reading_a_store_never_waits_on_a_fifo(fifo: Path, tmp_path: Path) -> None:
    """A FIFO where a store or a project file is expected reads as nothing, at once."""
    assert files.read_regular(fifo) is None
    assert files.read_regular(tmp_path / "missing") is None
    assert files.read_regular(tmp_path) is None
    regular = tmp_path / "regular.json"
    regular.write_bytes(b'{"a": 1}')
    assert files.read_regular(regular) == b'{"a": 1}'
    link = tmp_path / "link.json"
    link.symlink_to(regular)
    assert files.read_regular(link) == b'{"a": 1}'
