"""Run a command on a pseudo-terminal, and read its output as the terminal shows it.

The README's sample output includes the live progress line, which the runner draws only
when its output is a terminal; a pipe would never show it.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import time
from pathlib import Path

#: What the terminal is told to do besides printing: go to column 0, erase to the line's end.
_CONTROL = re.compile(r"(\r|\n|\x1b\[K)")


def run_on_terminal(
    argv: list[str], cwd: Path, env: dict[str, str], timeout: float
) -> tuple[int, str]:
    """Run ``argv`` with stdout and stderr on one new pseudo-terminal; its status and output.

    The output is every byte written to the terminal, control sequences included. The
    process gets a session of its own, so that on a timeout it is killed with every
    process it started.
    """
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=terminal,
            stderr=terminal,
            start_new_session=True,
        )
    finally:
        os.close(terminal)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{' '.join(argv)} did not finish within {timeout:.0f}s")
            ready, _, _ = select.select([controller], [], [], left)
            if not ready:
                continue
            try:
                data = os.read(controller, 65536)
            except OSError:  # EIO: every process that wrote to the terminal has closed it
                break
            if not data:
                break
            chunks.append(data)
        status = process.wait(timeout=max(deadline - time.monotonic(), 1.0))
    finally:
        os.close(controller)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return status, b"".join(chunks).decode("utf-8", errors="replace")


def screen_lines(output: str) -> list[str]:
    """The lines a terminal shows once ``output`` has been written to it.

    Handles what the runner and Python write: text, newlines, carriage returns and
    "erase to the end of the line"; trailing blanks of a line are dropped.
    """
    lines: list[str] = []
    line: list[str] = []
    column = 0
    for piece in _CONTROL.split(output):
        if piece == "\n":
            lines.append("".join(line).rstrip())
            line, column = [], 0
        elif piece == "\r":
            column = 0
        elif piece == "\x1b[K":
            del line[column:]
        else:
            for char in piece:
                if column < len(line):
                    line[column] = char
                else:
                    line.append(char)
                column += 1
    if line:
        lines.append("".join(line).rstrip())
    return lines
