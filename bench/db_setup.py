#!/usr/bin/env python
"""Test-database setup time on PostgreSQL: Django's DiscoverRunner vs TestkitRunner.

Generates a project with four PostgreSQL aliases in two independent TEST DEPENDENCIES
chains (``default`` <- ``reports``, ``archive`` <- ``search``), one app of about 30
migrations per alias (see ``db_project.py``), and runs ``manage.py test --noinput
--timing`` under both runners, interleaved, in three phases:

``fresh``
    serial, databases created from scratch every run; goal testkit/discover <= 0.6;
``fresh-parallel``
    the same with ``--parallel 2`` (worker clones too); same goal;
``warm``
    DiscoverRunner ``--keepdb`` vs TestkitRunner ``--reuse-db`` on databases kept by
    an untimed first run of each; goal reuse-db/keepdb <= 0.2.

The measure is the ``Total database setup took X.XXXs`` line of ``--timing``; the
whole command's wall time is reported alongside. Every TEST NAME starts with a
prefix unique to this benchmark run (pid and random token) plus one tag per runner
and phase, so no run reuses another's databases. After every run the server must
hold exactly the databases expected (none, or the kept ones); anything else is
reported and dropped. At the end every database with the run's prefix is dropped
and the server is checked for leftovers. Nothing else on the server is touched.

Run from the repository root: ``python bench/db_setup.py [--repeat 5] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from db_project import (
    ALIASES,
    DEFAULT_MIGRATIONS,
    HOST_ENV,
    PORT_ENV,
    PREFIX_ENV,
    USER_ENV,
    generate_project,
    total_tests,
)
from projectgen import DEFAULT_RUNNER, DISCOVER_RUNNER, RUNNER_ENV
from psycopg import sql
from timing import (
    BenchmarkError,
    Command,
    CommandResult,
    TimingConfig,
    _tail,
    add_timing_arguments,
    capture,
    config_from_args,
    format_table,
    ratios,
    results_as_data,
    round_order,
    write_json,
)

FRESH_GOAL = 0.6
WARM_GOAL = 0.2
PHASES = ("fresh", "fresh-parallel", "warm")
SETUP_LINE = re.compile(r"^Total database setup took (\d+\.\d+)s$", re.MULTILINE)
TIMING_LINE = re.compile(r"^(.+?) took (\d+\.\d+)s$", re.MULTILINE)
#: Output that means a run found a database it should not have (timing would be off).
FORBIDDEN_OUTPUT = ("Destroying old test database", "Rebuilding test database")
#: Pinned so that the caller's environment cannot change what is measured.
TESTKIT_DEFAULTS = {
    "TESTKIT_REUSE_DB": "0",
    "TESTKIT_DB_SUFFIX": "",
    "TESTKIT_SETUP_PROCESSES": "0",
}


@dataclass
class Server:
    """The PostgreSQL server, seen only through this run's database name prefix."""

    host: str
    port: int
    user: str
    prefix: str
    oddities: list[str] = field(default_factory=list)

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True
        )

    def ours(self) -> list[str]:
        """Databases whose name starts with this run's prefix."""
        with self._connect() as conn:
            rows = conn.execute("SELECT datname FROM pg_database").fetchall()
        return sorted(str(name) for (name,) in rows if str(name).startswith(self.prefix))

    def drop(self, names: Sequence[str]) -> None:
        with self._connect() as conn:
            for name in names:
                if not name.startswith(self.prefix):  # never anything we did not create
                    raise ValueError(f"refusing to drop {name!r}: not prefixed {self.prefix!r}")
                query = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                conn.execute(query.format(sql.Identifier(name)))

    def expect(self, wanted: set[str], when: str) -> None:
        """Note and drop this run's databases that should not exist now."""
        ours = set(self.ours())
        missing, extra = sorted(wanted - ours), sorted(ours - wanted)
        if missing:
            self.oddities.append(f"{when}: expected databases missing: {', '.join(missing)}")
        if extra:
            self.oddities.append(f"{when}: unexpected databases (dropped): {', '.join(extra)}")
            self.drop(extra)


@dataclass(frozen=True)
class Phase:
    key: str
    title: str
    baseline: Command
    candidate: Command
    goal: float
    #: Runs keep their databases (checked before and after every timed run).
    warm: bool = False


@dataclass
class PhaseResult:
    phase: Phase
    setup: list[CommandResult]
    wall: list[CommandResult]
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return ratios(self.setup, self.phase.baseline.name)[self.phase.candidate.name]


def source_revision() -> str:
    """The commit of django_testkit being measured, and whether it has local changes."""
    repo = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" + local changes" if git("status", "--porcelain", "django_testkit") else "")


def kept_names(command: Command) -> set[str]:
    return {f"{command.env[PREFIX_ENV]}{alias}" for alias in ALIASES}


def ran_output() -> tuple[str, ...]:
    """What every run must print: all tests ran and passed."""
    return (f"Ran {total_tests()} tests", "\nOK")


def run_measured(
    command: Command, timeout: float, expect: Sequence[str] | None = None
) -> tuple[float, dict[str, Any]]:
    """Run ``command`` once; return (setup seconds, run details) or raise BenchmarkError.

    ``expect`` (default: the command's ``expect_output``) must all appear in its output.
    """
    run = capture(command, timeout)
    stdout, stderr, wall = run.stdout, run.stderr, run.wall
    output = stdout + stderr
    wanted = command.expect_output if expect is None else expect
    setups = SETUP_LINE.findall(stderr)
    problems = [f"exited with status {run.returncode}"] if run.returncode else []
    problems += [f"did not print {text!r}" for text in wanted if text not in output]
    problems += [f"printed {text!r}" for text in FORBIDDEN_OUTPUT if text in output]
    if len(setups) != 1:
        problems.append(f"printed {len(setups)} 'Total database setup took' lines, expected 1")
    if problems:
        raise BenchmarkError(
            f"command {command.name!r} {'; '.join(problems)}\n"
            f"argv: {list(command.argv)}\ncwd: {command.cwd}\n"
            f"env: {dict(command.env)}\n"
            f"--- tail of its stdout ---\n{_tail(stdout, 10)}\n"
            f"--- tail of its stderr ---\n{_tail(stderr)}"
        )
    timings = [(label, float(seconds)) for label, seconds in TIMING_LINE.findall(stderr)]
    return float(setups[0]), {"command": command.name, "wall": wall, "timings": timings}


def run_phase(
    phase: Phase, config: TimingConfig, server: Server, progress: Callable[[str], None]
) -> PhaseResult:
    commands = [phase.baseline, phase.candidate]
    setup = {command.name: CommandResult(command) for command in commands}
    wall = {command.name: CommandResult(command) for command in commands}
    result = PhaseResult(phase, list(setup.values()), list(wall.values()))

    kept: set[str] = set()  # what the server must hold between runs

    def once(command: Command, label: str) -> str:
        if phase.warm and label != "warm-up":
            missing = kept_names(command) - set(server.ours())
            if missing:
                raise BenchmarkError(
                    f"{command.name}: the databases it kept are gone: {sorted(missing)}"
                )
        # A warm phase's first runs create the databases: they cannot print "Using existing".
        expect = ran_output() if label == "warm-up" else None
        seconds, details = run_measured(command, config.timeout, expect)
        if phase.warm:
            kept.update(kept_names(command))
        server.expect(kept, f"after {phase.key} {command.name} ({label})")
        result.runs.append({**details, "round": label, "setup": seconds})
        return f"{command.name} setup {seconds:.3f}s wall {details['wall']:.3f}s"

    # A warm phase needs one untimed run per command to create the databases it keeps.
    for warm in range(max(config.warmup, 1 if phase.warm else 0)):
        for command in commands:
            progress(f"warm-up {warm + 1}: {once(command, 'warm-up')}")
    for round_index in range(config.repeat):
        done = []
        for command in round_order(commands, round_index, config.rotate):
            done.append(once(command, f"round {round_index + 1}"))
            setup[command.name].times.append(result.runs[-1]["setup"])
            wall[command.name].times.append(result.runs[-1]["wall"])
        progress(f"round {round_index + 1}/{config.repeat}: {', '.join(done)}")
    return result


def make_phases(project: Path, prefix: str, pg_env: dict[str, str]) -> dict[str, Phase]:
    argv = [sys.executable, "manage.py", "test", "--noinput", "--timing"]
    ran = ran_output()

    def command(
        name: str, tag: str, runner: str, extra: Sequence[str], expect: list[str]
    ) -> Command:
        env = {
            "DJANGO_SETTINGS_MODULE": "benchproject.settings",
            RUNNER_ENV: runner,
            PREFIX_ENV: f"{prefix}{tag}_",
            **pg_env,
            **(TESTKIT_DEFAULTS if runner == DEFAULT_RUNNER else {}),
        }
        return Command(name, [*argv, *extra], project, env, expect_output=(*ran, *expect))

    created = [f"Creating test database for alias '{alias}'..." for alias in ALIASES]
    cloned = [f"Cloning test database for alias '{alias}'..." for alias in ALIASES]
    kept = [f"Using existing test database for alias '{alias}'" for alias in ALIASES]
    reused = [f"{text} (schema unchanged)..." for text in kept]
    p2 = ["--parallel", "2"]
    return {
        "fresh": Phase(
            "fresh",
            "Fresh setup, serial",
            command("discover", "fd", DISCOVER_RUNNER, [], created),
            command("testkit", "ft", DEFAULT_RUNNER, [], created),
            FRESH_GOAL,
        ),
        "fresh-parallel": Phase(
            "fresh-parallel",
            "Fresh setup, --parallel 2 (4 databases + 8 clones)",
            command("discover-p2", "pd", DISCOVER_RUNNER, p2, created + cloned),
            command("testkit-p2", "pt", DEFAULT_RUNNER, p2, created + cloned),
            FRESH_GOAL,
        ),
        "warm": Phase(
            "warm",
            "Warm setup, serial: databases kept by a previous run",
            command("keepdb", "kd", DISCOVER_RUNNER, ["--keepdb"], kept),
            command("reuse-db", "rd", DEFAULT_RUNNER, ["--reuse-db"], reused),
            WARM_GOAL,
            warm=True,
        ),
    }


def report(result: PhaseResult) -> str:
    phase = result.phase
    base, cand = phase.baseline.name, phase.candidate.name
    met = "met" if result.ratio <= phase.goal else "NOT met"
    return (
        f"== {phase.title} ==\n"
        f"database setup ('Total database setup took', from --timing):\n"
        f"{format_table(result.setup, base)}\n"
        f"whole command (wall):\n{format_table(result.wall, base)}\n"
        f"{cand}/{base} setup median ratio: {result.ratio:.3f} "
        f"(goal <= {phase.goal:.2f}: {met})\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Test-database setup time on PostgreSQL: DiscoverRunner vs TestkitRunner."
    )
    parser.add_argument(
        "--phase", action="append", choices=PHASES, help="run only these (default: all)"
    )
    parser.add_argument("--migrations", type=int, default=DEFAULT_MIGRATIONS, help="per app")
    parser.add_argument("--host", default="127.0.0.1", help="PostgreSQL host (%(default)s)")
    parser.add_argument("--port", type=int, default=5432, help="PostgreSQL port (%(default)s)")
    parser.add_argument("--user", default="postgres", help="PostgreSQL user (%(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the generated project")
    add_timing_arguments(parser, repeat=5)
    args = parser.parse_args(argv)
    config = config_from_args(args)
    prefix = f"bench_dbsetup_{os.getpid()}_{secrets.token_hex(2)}_"
    server = Server(args.host, args.port, args.user, prefix)
    pg_env = {HOST_ENV: args.host, PORT_ENV: str(args.port), USER_ENV: args.user}
    try:
        if server.ours():
            print(f"databases named {prefix}* already exist; not touching them", file=sys.stderr)
            return 1
    except psycopg.Error as exc:
        print(f"cannot reach PostgreSQL at {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1

    workdir = Path(tempfile.mkdtemp(prefix="bench-db-setup-"))
    results: list[PhaseResult] = []
    status = 0
    revision = source_revision()
    try:
        project = generate_project(workdir / "project", args.migrations)
        phases = make_phases(project, prefix, pg_env)
        print(
            f"{len(ALIASES)} PostgreSQL aliases, {args.migrations} migrations per app, "
            f"{total_tests()} tests; {config.warmup} warm-up + {config.repeat} interleaved "
            f"runs per command; test databases {prefix}*; python {sys.executable}; "
            f"django_testkit {revision}",
            flush=True,
        )
        for key in args.phase or PHASES:
            print(f"{phases[key].title}:", flush=True)
            results.append(
                run_phase(phases[key], config, server, lambda m: print(f"  {m}", flush=True))
            )
    except BenchmarkError as exc:
        print(f"BENCHMARK FAILED: {exc}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print("BENCHMARK INTERRUPTED", file=sys.stderr)
        status = 130
    finally:
        if source_revision() != revision:
            server.oddities.append(
                f"django_testkit changed during the run: {revision} -> {source_revision()}"
            )
        leftovers = server.ours()
        if leftovers:
            server.drop(leftovers)
        remaining = server.ours()
        if args.keep:
            print(f"kept generated project: {workdir / 'project'}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    for result in results:
        print(report(result))
    print(f"dropped at the end: {', '.join(leftovers) or 'nothing'}")
    for oddity in server.oddities:
        print(f"ODD: {oddity}")
    if remaining:
        print(f"LEFTOVER databases that could not be dropped: {', '.join(remaining)}")
        status = 1
    else:
        print(f"no database named {prefix}* is left on the server")
    if args.json and results:
        data = {
            "benchmark": "db_setup",
            "prefix": prefix,
            "django_testkit_revision": revision,
            "aliases": {alias: list(deps) for alias, (_, deps) in ALIASES.items()},
            "migrations_per_app": args.migrations,
            "tests": total_tests(),
            "completed": status == 0,
            "dropped_at_end": leftovers,
            "oddities": server.oddities,
            "left_on_server": remaining,
            "phases": {
                result.phase.key: {
                    "title": result.phase.title,
                    "goal_ratio": result.phase.goal,
                    "ratio": result.ratio,
                    "goal_met": result.ratio <= result.phase.goal,
                    "setup": results_as_data(result.setup, result.phase.baseline.name, config),
                    "wall": results_as_data(result.wall, result.phase.baseline.name, config),
                    "runs": result.runs,
                }
                for result in results
            },
        }
        write_json(args.json, data)
        print(f"wrote {args.json}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
