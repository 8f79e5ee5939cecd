"""Unit tests of what tests leave running: found, named, killed, never waited for."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from django_testkit import leftovers


def test_new_threads_and_children_are_named_and_children_killed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.argv", ["a-program-that-called-the-runner"])
    atexits = list(getattr(threading, "_threading_atexits", []))
    before = leftovers.snapshot()
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="left-behind")
    thread.start()
    child = subprocess.Popen(["sleep", "600"])
    try:
        _wait_for_exec(child.pid, b"sleep")
        left = leftovers.since(before)
        assert left.threads == ("left-behind",)
        assert left.children == (child.pid,)
        assert left.describe() == f"thread 'left-behind', child process {child.pid} (sleep 600)"
        leftovers.end_run(before, 0)
        assert child.wait(timeout=10) < 0  # killed
        # Not the test command: the caller's process is not ended for it.
        assert list(getattr(threading, "_threading_atexits", [])) == atexits
        err = capsys.readouterr().err
        assert err == (
            f"The tests left running: thread 'left-behind', child process {child.pid} "
            "(sleep 600); child processes were killed.\n"
        )
    finally:
        stop.set()
        thread.join()
        child.kill()


def _wait_for_exec(pid: int, program: bytes) -> None:
    """Wait until the child runs ``program`` (between fork and exec it has no name yet)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            if cmdline.read().startswith(program):
                return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never ran {program!r}")


def test_nothing_left_says_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    before = leftovers.snapshot()
    finished = threading.Thread(target=time.sleep, args=(0,))
    finished.start()
    finished.join()
    assert not leftovers.since(before)
    leftovers.end_run(before, 0)
    assert capsys.readouterr().err == ""


def test_descendants_are_found_through_every_generation() -> None:
    shell = subprocess.Popen(["sh", "-c", "sleep 600 & sleep 600 & wait"])
    try:
        deadline = time.monotonic() + 10
        while len(leftovers.descendants(shell.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        grandchildren = leftovers.descendants(shell.pid)
        assert len(grandchildren) == 2
        leftovers.kill_tree(shell.pid)
        assert shell.wait(timeout=10) < 0
        deadline = time.monotonic() + 10
        while any(leftovers._alive(pid) for pid in grandchildren):
            assert time.monotonic() < deadline, "a grandchild survived kill_tree"
            time.sleep(0.05)
    finally:
        shell.kill()
