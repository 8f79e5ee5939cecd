"""What a timeout report shows of the stacks a worker dumped: the test's, not the runner's.

``faulthandler`` dumps every thread of the worker, each from its most recent call
down to the thread's start: for the test's thread that is the test, then unittest,
Django's test case, the runner's worker loop and ``multiprocessing``'s start-up
(some 30 frames), and the runner's own helper thread besides. :func:`trim` keeps the
test's thread from its most recent frame down to where the test was called, then
the other threads that run code of the project or of its libraries, and says what it
left out. Pure text in, text out.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sysconfig
import threading
import unittest
from collections.abc import Iterable
from functools import cache

from django_testkit.records import record

_THREAD = re.compile(r"^(Current thread|Thread) 0x[0-9a-f]+ .*:$")
_FRAME = re.compile(r'^  File "(?P<path>[^"]*)", line \d+ in .*$')


@record
class Frames:
    """Where code lives, by path prefix: the runner's machinery and the standard library."""

    #: The test machinery: django_testkit, unittest, django.test, multiprocessing...
    machinery: tuple[str, ...]
    #: The standard library (a thread running only that, and the machinery, is hidden).
    stdlib: tuple[str, ...]

    def is_machinery(self, path: str) -> bool:
        return path.startswith(self.machinery)

    def is_own_code(self, path: str) -> bool:
        """Code of the project or of a library it uses."""
        return not path.startswith(self.machinery) and not path.startswith(self.stdlib)


@cache
def this_interpreter() -> Frames:
    """Where the machinery and the standard library are for this interpreter."""
    import django.core.management
    import django.test

    def folder(module: object) -> str:
        return os.path.dirname(os.path.abspath(str(getattr(module, "__file__", "")))) + os.sep

    # This package's folder: the parent of parallel/ (importing the package itself
    # would reach the runner, which subpackages never import).
    ours = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    machinery = (
        ours,
        folder(unittest),
        folder(multiprocessing),
        folder(django.test),
        folder(django.core.management),
        os.path.abspath(str(threading.__file__)),
    )
    paths = sysconfig.get_paths()
    stdlib = tuple(
        {os.path.abspath(paths["stdlib"]) + os.sep, os.path.abspath(paths["platstdlib"]) + os.sep}
    )
    return Frames(machinery, stdlib)


@record(frozen=False)
class _Thread:
    header: str
    lines: list[str]

    def paths(self) -> list[str]:
        return [match["path"] for line in self.lines if (match := _FRAME.match(line))]


def _threads(lines: Iterable[str]) -> tuple[list[str], list[_Thread]]:
    head: list[str] = []
    threads: list[_Thread] = []
    for line in lines:
        if _THREAD.match(line):
            threads.append(_Thread(line, []))
        elif threads:
            if line.strip():
                threads[-1].lines.append(line)
        else:
            head.append(line)
    return head, threads


def _until_machinery(thread: _Thread, frames: Frames) -> tuple[list[str], int]:
    """The thread's frames from the most recent down to the first of the machinery."""
    kept: list[str] = []
    for index, line in enumerate(thread.lines):
        match = _FRAME.match(line)
        if match and frames.is_machinery(match["path"]):
            return kept, len(thread.lines) - index
        kept.append(line)
    return kept, 0


def trim(dump: str, frames: Frames, *, everything: bool = False) -> str:
    """The stacks of ``dump`` that say where the test was (all of them if ``everything``)."""
    if everything:
        return dump
    head, threads = _threads(dump.splitlines())
    tests = [t for t in threads if any(frames.is_machinery(p) for p in t.paths())]
    test = next((t for t in tests if "/unittest/" in "".join(t.paths())), None)
    shown: list[str] = [*head]
    hidden_frames = hidden_threads = 0
    if test is not None:
        kept, dropped = _until_machinery(test, frames)
        hidden_frames += dropped
        shown += [test.header, *(kept or test.lines[:1])]
    for thread in threads:
        if thread is test:
            continue
        if any(frames.is_own_code(path) for path in thread.paths()):
            shown += ["", thread.header, *thread.lines]
        else:
            hidden_threads += 1
    if hidden_frames or hidden_threads:
        parts = [f"{hidden_frames} frames of the test runner"] if hidden_frames else []
        if hidden_threads:
            parts.append(f"{hidden_threads} thread{'s' if hidden_threads > 1 else ''} of its own")
        shown.append(f"({' and '.join(parts)} not shown; -v 3 shows them)")
    return "\n".join(shown)
