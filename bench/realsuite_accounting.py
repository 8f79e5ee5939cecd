"""Where one ``manage.py test`` run spends its time: CPU per process, wall time per phase.

CPU: the whole process tree's user+sys is the difference of
``resource.getrusage(RUSAGE_CHILDREN)`` around the run (the runner reaps its workers, so
their time reaches us through it). The workers' share is the runner's ``cutime+cstime``
read from ``/proc/<pid>/stat`` every 20 ms (the last reading before it exits; workers are
reaped when the pool closes, before teardown); the parent's own is the rest.

Wall: every output line is stamped when it arrives. Phases: start-up (spawn to ``Found N
tests``), then until the first test's result line (database setup, with Django's
``--timing`` figure, and system checks), tests (to ``Ran N tests``), teardown (Django's
``--timing`` figure) and the rest until the process exits (reports, interpreter exit).
"""

from __future__ import annotations

import os
import pstats
import re
import resource
import statistics
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

from realsuite_outcomes import HEADER, STATUS

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
SETUP_TOOK = re.compile(r"^Total database setup took (\d+\.\d+)s")
TEARDOWN_TOOK = re.compile(r"^Total database teardown took (\d+\.\d+)s")


@dataclass
class Accounting:
    """CPU seconds per process kind and wall seconds per phase of one run."""

    returncode: int
    wall: float
    cpu_total: float
    cpu_workers: float
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def cpu_parent(self) -> float:
        return self.cpu_total - self.cpu_workers

    def as_data(self) -> dict[str, object]:
        return {
            "returncode": self.returncode,
            "wall": self.wall,
            "cpu_total": self.cpu_total,
            "cpu_workers": self.cpu_workers,
            "cpu_parent": self.cpu_parent,
            "phases": self.phases,
        }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _reaped_children_cpu(pid: int) -> float | None:
    """cutime+cstime of ``pid`` from /proc, or None when it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[13]) + int(fields[14])) / TICKS  # fields 16 and 17 of stat(5)


def _phases(stamped: Sequence[tuple[float, str]], wall: float) -> dict[str, float]:
    found = first_test = ran = teardown_start = None
    setup = teardown = None
    for at, line in stamped:
        if found is None and line.startswith("Found "):
            found = at
        if first_test is None and (HEADER.match(line) or STATUS.search(line)):
            first_test = at
        if ran is None and line.startswith("Ran "):
            ran = at
        if (match := SETUP_TOOK.match(line)) is not None:
            setup = float(match.group(1))
        if (match := TEARDOWN_TOOK.match(line)) is not None:
            teardown, teardown_start = float(match.group(1)), at
    phases: dict[str, float] = {}
    if found is not None:
        phases["start-up (to 'Found N tests')"] = found
    if first_test is not None:
        phases["to first test result"] = first_test - (found or 0.0)
    if setup is not None:
        phases["  of which database setup"] = setup
    if ran is not None and first_test is not None:
        phases["tests (to 'Ran N tests')"] = ran - first_test
    if teardown is not None:
        phases["database teardown"] = teardown
    end = teardown_start if teardown_start is not None else ran
    if end is not None:
        phases["after teardown until exit"] = wall - end
    return phases


def account(argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float) -> Accounting:
    """Run ``argv`` once, sampling its CPU and stamping its output lines."""
    before = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        # Unbuffered, and stdout merged in: "Found N tests" goes to stdout.
        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    reaped = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            value = _reaped_children_cpu(proc.pid)
            if value is not None:
                reaped[0] = value

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stamped: list[tuple[float, str]] = []
    timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, 9))
    timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            stamped.append((time.perf_counter() - start, line.rstrip("\n")))
        returncode = proc.wait()
    finally:
        timer.cancel()
        stop.set()
        sampler.join()
    wall = time.perf_counter() - start
    return Accounting(
        returncode=returncode,
        wall=wall,
        cpu_total=_children_cpu() - before,
        cpu_workers=reaped[0],
        phases=_phases(stamped, wall),
    )


def side_by_side(runs: Mapping[str, Sequence[Accounting]]) -> list[str]:
    """Medians of each runner's CPU per process kind and wall per phase, one column each."""
    names = list(runs)
    rows: dict[str, list[float | None]] = {}

    def median_of(name: str, pick: Any) -> float | None:
        values = [value for value in (pick(run) for run in runs[name]) if value is not None]
        return statistics.median(values) if values else None

    rows["wall"] = [median_of(name, lambda run: run.wall) for name in names]
    rows["CPU, parent"] = [median_of(name, lambda run: run.cpu_parent) for name in names]
    rows["CPU, workers"] = [median_of(name, lambda run: run.cpu_workers) for name in names]
    phases = dict.fromkeys(phase for done in runs.values() for run in done for phase in run.phases)
    for phase in phases:
        rows[phase] = [median_of(name, lambda run, p=phase: run.phases.get(p)) for name in names]
    header = f"{'':<34}" + "".join(f"{name:>10}" for name in names)
    if len(names) == 2:
        header += f"{'difference':>12}"
    lines = [header]
    for label, values in rows.items():
        cells = "".join(
            f"{value:>9.3f}s" if value is not None else f"{'-':>10}" for value in values
        )
        if len(values) == 2 and None not in values:
            cells += f"{values[1] - values[0]:>+11.3f}s"  # type: ignore[operator]
        lines.append(f"{label:<34}{cells}")
    return lines


def top_own(profile: Path, count: int = 12) -> str:
    """The ``count`` entries with the largest own (not cumulative) time in a cProfile file."""
    out = StringIO()
    stats = pstats.Stats(str(profile), stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(count)
    return out.getvalue()


def profile_total(profile: Path) -> float:
    """The seconds a cProfile output file accounts for."""
    return float(pstats.Stats(str(profile)).total_tt)  # type: ignore[attr-defined]
