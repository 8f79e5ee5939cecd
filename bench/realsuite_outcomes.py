"""Read test ids and outcomes from ``manage.py test -v 2`` output and compare two runs.

unittest's verbose result prints ``name (module.Class.name)``, sometimes a docstring
line, then `` ... STATUS`` (possibly after lines the test itself logged to stderr).
The dotted id in parentheses identifies the test; the status is normalised to one of
ok, FAIL, ERROR, skipped, expected failure, unexpected success.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

HEADER = re.compile(r"^(?P<name>\w+) \((?P<id>[\w.]+)\)")
STATUS = re.compile(
    r" \.\.\. (?P<status>ok|FAIL|ERROR|skipped\b.*|expected failure|unexpected success)\s*$"
)
RAN = re.compile(r"^Ran (\d+) tests? in ")


def parse_outcomes(text: str) -> dict[str, str]:
    """test id -> normalised outcome, from the stderr of a ``-v 2`` run."""
    outcomes: dict[str, str] = {}
    pending: str | None = None
    for line in text.splitlines():
        header = HEADER.match(line)
        if header:
            pending = header.group("id")
        status = STATUS.search(line)
        if status and pending is not None:
            word = status.group("status")
            outcomes[pending] = "skipped" if word.startswith("skipped") else word
            pending = None
    return outcomes


def ran_count(text: str) -> int | None:
    """N of the ``Ran N tests in`` line, if there is one."""
    for line in text.splitlines():
        match = RAN.match(line)
        if match:
            return int(match.group(1))
    return None


def compare(
    baseline: Mapping[str, str], candidate: Mapping[str, str], names: tuple[str, str]
) -> list[str]:
    """One line per test whose presence or outcome differs between the two runs."""
    lines: list[str] = []
    for test in sorted(set(baseline) | set(candidate)):
        left, right = baseline.get(test, "(absent)"), candidate.get(test, "(absent)")
        if left != right:
            lines.append(f"{test}: {names[0]} {left}, {names[1]} {right}")
    return lines


def summary(outcomes: Mapping[str, str]) -> str:
    """``1234 tests: 1200 ok, 30 skipped, ...`` in a stable order."""
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    parts = ", ".join(f"{n} {word}" for word, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    return f"{len(outcomes)} tests: {parts}"
