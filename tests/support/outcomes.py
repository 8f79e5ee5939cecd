"""Parse what ``manage.py test -v 2`` prints into comparable per-test outcomes.

Only the runner's stream (stderr) is parsed: tests' own prints go to stdout.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

_STATUS = r"ok|FAIL|ERROR|skipped .*|expected failure|unexpected success"
_STATUS_LINE = re.compile(rf"^(?P<indent>\s*)(?P<desc>\S.*?) \.\.\. (?P<status>{_STATUS})?\s*$")
# Python 3.12 sometimes reports a skipped class as a bare status line.
_BARE_SKIP = re.compile(r"^skipped .*$")
_BLOCK_HEADER = re.compile(r"^(?P<kind>ERROR|FAIL|UNEXPECTED SUCCESS): (?P<desc>.+)$")
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Failure|Exit|Interrupt)(: .*)?$")
_RAN = re.compile(r"^Ran (?P<count>\d+) tests? in ")
_VERDICT = re.compile(r"^(?P<verdict>OK|FAILED)(?: \((?P<details>.*)\))?$")
_SEPARATOR = "=" * 70


@dataclass(frozen=True)
class Block:
    """One entry of the error summary: header and the exception lines of its traceback."""

    kind: str
    desc: str
    exceptions: tuple[str, ...]


@dataclass
class Outcomes:
    """Everything a user can compare between two runs of the same suite."""

    statuses: list[tuple[str, str]] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    ran: int | None = None
    verdict: str | None = None

    def as_multiset(
        self,
    ) -> tuple[Counter[tuple[str, str]], Counter[Block], int | None, str | None]:
        """The run without its order: for parallel runs, whose order is not defined.

        Skips are compared by reason only: on Python 3.12 whether a skipped class
        is printed with a test name depends on the order results arrive in.
        """
        statuses = Counter(
            ("" if status.startswith("skipped") else desc, status)
            for desc, status in self.statuses
        )
        return statuses, Counter(self.blocks), self.ran, self.verdict

    def as_sequence(self) -> tuple[list[tuple[str, str]], list[Block], int | None, str | None]:
        """The run in the order it was reported: for serial runs."""
        return self.statuses, self.blocks, self.ran, self.verdict

    def status_of(self, desc_prefix: str) -> list[str]:
        return [status for desc, status in self.statuses if desc.startswith(desc_prefix)]


def parse(stderr: str) -> Outcomes:
    """Read per-test statuses, the error summary, the test count and the verdict."""
    outcomes = Outcomes()
    lines = stderr.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line == _SEPARATOR and index + 1 < len(lines):
            block, index = _read_block(lines, index + 1)
            if block is not None:
                outcomes.blocks.append(block)
            continue
        if (match := _STATUS_LINE.match(line)) and match["status"]:
            outcomes.statuses.append((match["desc"], match["status"]))
        elif _BARE_SKIP.match(line):
            outcomes.statuses.append(("", line))
        elif ran := _RAN.match(line):
            outcomes.ran = int(ran["count"])
        elif _VERDICT.match(line):
            outcomes.verdict = line
        index += 1
    return outcomes


def _read_block(lines: list[str], start: int) -> tuple[Block | None, int]:
    header = _BLOCK_HEADER.match(lines[start])
    if header is None:
        return None, start
    index = start + 1
    exceptions: list[str] = []
    while index < len(lines) and lines[index] != _SEPARATOR and not _RAN.match(lines[index]):
        if _EXCEPTION_LINE.match(lines[index]):
            exceptions.append(lines[index])
        index += 1
    return Block(header["kind"], header["desc"], tuple(exceptions)), index


_TIMINGS = (
    (re.compile(r"\b\d+(\.\d+)?s\b"), "<t>s"),
    (re.compile(r"\(\d+\.\d+\)"), "(<t>)"),
    (re.compile(r"\b0x[0-9a-f]+\b"), "0x<addr>"),
)


def normalise(text: str) -> str:
    """Blank out wall times and memory addresses, which differ between any two runs."""
    for pattern, replacement in _TIMINGS:
        text = pattern.sub(replacement, text)
    return text
