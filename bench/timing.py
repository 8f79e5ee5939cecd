"""Time whole commands side by side, interleaved, and report medians and ratios.

Every command first runs ``warmup`` times untimed (fills bytecode and OS caches),
then the commands run ``repeat`` rounds round-robin (A B C, B C A, ... when
``rotate`` is on) so that drifting machine load hits all of them alike. Each run
is timed as whole-process wall time with :func:`time.perf_counter`, must exit
with the expected status (and print the expected text, if given) within the
timeout, or the benchmark stops with :class:`BenchmarkError`.

Each run's CPU time (user + system of the whole process tree, workers included: the
difference of ``getrusage(RUSAGE_CHILDREN)`` around it) is recorded beside its wall time;
on a loaded or noisy machine it moves less than wall time. The table also gives the
paired ratio: the median over rounds of (command / baseline) within the same round.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STDERR_TAIL_LINES = 40


class BenchmarkError(RuntimeError):
    """A timed command failed, timed out or printed something unexpected."""


@dataclass(frozen=True)
class Command:
    """One named command to time: argv run in ``cwd`` with ``env`` added to os.environ."""

    name: str
    argv: Sequence[str]
    cwd: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    expect_returncode: int = 0
    expect_output: Sequence[str] = ()  # substrings that must appear in stdout or stderr
    #: Further checks of a run that exited as expected and printed the expected text;
    #: returns what is wrong (nothing: the run is fine). Called after every run.
    verify: Callable[[Captured], Sequence[str]] | None = None


@dataclass(frozen=True)
class TimingConfig:
    repeat: int = 7
    warmup: int = 1
    timeout: float = 300.0
    rotate: bool = True

    def __post_init__(self) -> None:
        if self.repeat < 1 or self.warmup < 0 or self.timeout <= 0:
            raise ValueError(f"bad timing config {self}")


@dataclass
class CommandResult:
    command: Command
    times: list[float] = field(default_factory=list)
    #: CPU seconds (user + system, child processes included) of each timed run.
    cpu: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu) if self.cpu else None

    @property
    def minimum(self) -> float:
        return min(self.times)

    @property
    def maximum(self) -> float:
        return max(self.times)


def _tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """Kill the process group (own session) started for ``proc``; the caller reaps it."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - non-POSIX
            proc.kill()
    except ProcessLookupError:
        pass


@dataclass(frozen=True)
class Captured:
    """What one run of a command did: exit status, output, wall and CPU time."""

    returncode: int
    stdout: str
    stderr: str
    wall: float
    cpu: float = 0.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def capture(command: Command, timeout: float) -> Captured:
    """Run ``command`` once in its own session and capture its output.

    A timeout or an interruption (Ctrl-C) kills the whole process group, worker
    processes included; a timeout raises BenchmarkError.
    """
    cpu_before = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(command.argv),
        cwd=command.cwd,
        env={**os.environ, **command.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        stdout, stderr = proc.communicate()
        raise BenchmarkError(
            f"command {command.name!r} timed out after {timeout:g}s\n"
            f"--- tail of its stderr ---\n{_tail(stderr)}"
        ) from None
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    wall = time.perf_counter() - start
    return Captured(proc.returncode, stdout, stderr, wall, _children_cpu() - cpu_before)


def run_once(command: Command, timeout: float) -> float:
    """Run ``command`` once; return its wall time in seconds or raise BenchmarkError."""
    return run_checked(command, timeout).wall


def run_checked(command: Command, timeout: float) -> Captured:
    """Run ``command`` once and check it; what it did, or raise BenchmarkError."""
    run = capture(command, timeout)
    stdout, stderr = run.stdout, run.stderr
    problems: list[str] = []
    if run.returncode != command.expect_returncode:
        problems.append(
            f"exited with status {run.returncode}, expected {command.expect_returncode}"
        )
    output = stdout + stderr
    problems.extend(
        f"did not print {wanted!r}" for wanted in command.expect_output if wanted not in output
    )
    if not problems and command.verify is not None:
        problems.extend(command.verify(run))
    if problems:
        raise BenchmarkError(
            f"command {command.name!r} {'; '.join(problems)}\n"
            f"argv: {list(command.argv)}\ncwd: {command.cwd}\n"
            f"--- tail of its stdout ---\n{_tail(stdout, 10)}\n"
            f"--- tail of its stderr ---\n{_tail(stderr)}"
        )
    return run


def round_order(commands: Sequence[Command], round_index: int, rotate: bool) -> list[Command]:
    """Commands in the order of one round: rotated by ``round_index`` when ``rotate``."""
    shift = round_index % len(commands) if rotate else 0
    return [*commands[shift:], *commands[:shift]]


def run_benchmark(
    commands: Sequence[Command],
    config: TimingConfig,
    progress: Callable[[str], None] | None = None,
) -> list[CommandResult]:
    """Warm up, then time all commands interleaved; results are in ``commands`` order."""
    names = [command.name for command in commands]
    if not commands or len(set(names)) != len(names):
        raise ValueError(f"need at least one command, with unique names: {names}")
    report = progress or (lambda message: None)
    for warm in range(config.warmup):
        for command in commands:
            seconds = run_once(command, config.timeout)
            report(f"warm-up {warm + 1}/{config.warmup}: {command.name} {seconds:.3f}s")
    results = {command.name: CommandResult(command) for command in commands}
    for round_index in range(config.repeat):
        timings: list[str] = []
        for command in round_order(commands, round_index, config.rotate):
            run = run_checked(command, config.timeout)
            results[command.name].times.append(run.wall)
            results[command.name].cpu.append(run.cpu)
            timings.append(f"{command.name} {run.wall:.3f}s")
        report(f"round {round_index + 1}/{config.repeat}: {', '.join(timings)}")
    return [results[name] for name in names]


def ratios(results: Sequence[CommandResult], baseline: str) -> dict[str, float]:
    """Each command's median divided by the baseline command's median."""
    by_name = {result.command.name: result for result in results}
    if baseline not in by_name:
        raise ValueError(f"baseline {baseline!r} is not one of {sorted(by_name)}")
    base = by_name[baseline].median
    return {name: result.median / base for name, result in by_name.items()}


def paired_ratio(result: CommandResult, base: CommandResult) -> float | None:
    """Median over rounds of this command's time over the baseline's in the same round."""
    if len(result.times) != len(base.times) or not base.times:
        return None
    pairs = zip(result.times, base.times, strict=True)
    return statistics.median(mine / theirs for mine, theirs in pairs)


def cpu_ratio(result: CommandResult, base: CommandResult) -> float | None:
    """This command's median CPU time over the baseline's."""
    mine, theirs = result.cpu_median, base.cpu_median
    return None if mine is None or not theirs else mine / theirs


def _figure(value: float | None, width: int, unit: str = "") -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width - len(unit)}.3f}{unit}"


def format_table(results: Sequence[CommandResult], baseline: str) -> str:
    """A plain-text table per command: runs; wall median, min, max (seconds) and ratio to
    the baseline's median; paired ratio; CPU median (seconds) and ratio."""
    ratio_of = ratios(results, baseline)
    base = next(result for result in results if result.command.name == baseline)
    width = max(len("command"), *(len(result.command.name) for result in results))
    header = (
        f"{'command':<{width}}  {'runs':>4}  {'median':>8}  {'min':>8}  {'max':>8}  {'ratio':>6}"
        f"  {'paired':>6}  {'cpu':>8}  {'cpu r.':>6}"
    )
    lines = [header, "-" * len(header)]
    for result in results:
        name = result.command.name
        mark = "  (baseline)" if name == baseline else ""
        lines.append(
            f"{name:<{width}}  {len(result.times):>4}  {result.median:>7.3f}s  "
            f"{result.minimum:>7.3f}s  {result.maximum:>7.3f}s  {ratio_of[name]:>6.3f}  "
            f"{_figure(paired_ratio(result, base), 6)}  {_figure(result.cpu_median, 8, 's')}  "
            f"{_figure(cpu_ratio(result, base), 6)}{mark}"
        )
    return "\n".join(lines)


def results_as_data(
    results: Sequence[CommandResult],
    baseline: str,
    config: TimingConfig,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """JSON-ready dict of the configuration, the machine and every timing."""
    ratio_of = ratios(results, baseline)
    return {
        "baseline": baseline,
        "config": {
            "repeat": config.repeat,
            "warmup": config.warmup,
            "timeout": config.timeout,
            "rotate": config.rotate,
        },
        "machine": {
            "python": sys.version,
            "executable": sys.executable,
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
        },
        "commands": [
            {
                "name": result.command.name,
                "argv": list(result.command.argv),
                "cwd": str(result.command.cwd) if result.command.cwd else None,
                "env": dict(result.command.env),
                "times": result.times,
                "cpu": result.cpu,
                "median": result.median,
                "min": result.minimum,
                "max": result.maximum,
                "ratio": ratio_of[result.command.name],
            }
            for result in results
        ],
        **(dict(extra) if extra else {}),
    }


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def add_timing_arguments(parser: argparse.ArgumentParser, repeat: int = 7) -> None:
    """The options every benchmark script shares."""
    group = parser.add_argument_group("timing")
    group.add_argument("--repeat", type=int, default=repeat, help="timed rounds (%(default)s)")
    group.add_argument("--warmup", type=int, default=1, help="untimed runs per command")
    group.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    group.add_argument(
        "--no-rotate", action="store_true", help="keep the same command order every round"
    )
    group.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")


def config_from_args(args: argparse.Namespace) -> TimingConfig:
    return TimingConfig(
        repeat=args.repeat, warmup=args.warmup, timeout=args.timeout, rotate=not args.no_rotate
    )


@contextmanager
def scratch_directory(prefix: str, keep: bool) -> Iterator[Path]:
    """A temporary directory for generated projects, removed afterwards unless ``keep``."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield workdir
    finally:
        if keep:
            print(f"kept generated project(s) in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def scrub_environment(prefixes: tuple[str, ...], names: tuple[str, ...]) -> list[str]:
    """Remove the variables that would change the runs; return their names."""
    found = [name for name in os.environ if name.startswith(prefixes) or name in names]
    for name in found:
        del os.environ[name]
    return sorted(found)
