"""Two runs on one server (or one SQLite directory) without --db-suffix (issue 11, item 6).

The second run is refused with one line naming the first run before it touches
anything, and the first run finishes with its own outcomes; in both start orders
(a serial run holding while a parallel one starts, then the other way round), on
every listed backend. A killed run's lock goes with it, and a forked child can never
release its parent's lock.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

from tests.support.projects import (
    RUN_TIMEOUT,
    run_manage,
    run_tests,
    start_tests,
    wait_for_file,
)
from tests.support.servers import leftover_databases

HOLD = "shop.tests.test_hold"
MIRROR = "shop.tests.test_mirror"
PORTS = {"postgresql": 5432, "mysql": 3306}


def refusal_pattern(project: Path, backend: str, suffix: str, pid: int) -> str:
    if backend == "sqlite":
        where = re.escape(str(project / "test_default.sqlite3"))
    else:
        where = re.escape(f"test_dbsetup_default{suffix} on 127.0.0.1:{PORTS[backend]}")
    host = re.escape(re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:20])
    return (
        rf"DatabaseInUseError: Another test run \(pid {pid} on host {host}[A-Za-z0-9._-]*, "
        rf"started \d\d:\d\d:\d\d\) is using {where}; wait for it, or give this run its "
        r"own databases with --db-suffix\."
    )


def _finish(process: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return process.communicate(timeout=RUN_TIMEOUT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def test_a_second_run_on_the_same_databases_is_refused_in_both_orders(
    dbsetup_project: Path, backend: str, db_suffix: str, tmp_path: Path
) -> None:
    env = {"EXAMPLE_DB_SUFFIX": db_suffix, "DBSETUP_SQLITE_FILES": "1"}
    orders = [((), ("--parallel", "2")), (("--parallel", "2"), ())]
    for index, (first_args, second_args) in enumerate(orders):
        hold, release = tmp_path / f"hold-{index}", tmp_path / f"release-{index}"
        holding_env = {**env, "DBSETUP_HOLD_FILE": str(hold), "DBSETUP_RELEASE_FILE": str(release)}
        first = start_tests(dbsetup_project, backend, holding_env, *first_args, HOLD, MIRROR)
        try:
            wait_for_file(hold, first)
            second = run_tests(dbsetup_project, *second_args, MIRROR, backend=backend, env=env)
            release.write_text("go on")
        finally:
            _, first_err = _finish(first)
        assert second.returncode == 1, second.describe()
        last_line = second.stderr.strip().splitlines()[-1]
        assert re.fullmatch(
            refusal_pattern(dbsetup_project, backend, db_suffix, first.pid), last_line
        ), second.describe()
        assert "Traceback" not in second.stderr, second.describe()
        assert "Creating test database" not in second.stderr, second.describe()
        assert first.returncode == 0, first_err
        assert re.search(r"^Ran 4 tests", first_err, re.MULTILINE), first_err
        assert leftover_databases(dbsetup_project, backend, db_suffix) == [], first_err
    assert sorted(path.name for path in dbsetup_project.glob("*.lock")) == []


def test_a_killed_runs_lock_goes_with_it(
    dbsetup_project: Path, backend: str, db_suffix: str, tmp_path: Path
) -> None:
    env = {"EXAMPLE_DB_SUFFIX": db_suffix, "DBSETUP_SQLITE_FILES": "1"}
    hold = tmp_path / "hold"
    holding_env = {
        **env,
        "DBSETUP_HOLD_FILE": str(hold),
        "DBSETUP_RELEASE_FILE": str(tmp_path / "never"),
    }
    first = start_tests(dbsetup_project, backend, holding_env, "--parallel", "2", HOLD, MIRROR)
    try:
        wait_for_file(hold, first)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.communicate()
    second = run_tests(dbsetup_project, MIRROR, backend=backend, env=env)
    assert second.returncode == 0, second.describe()
    # The second run replaced and destroyed the killed run's test databases; its clones
    # (--parallel 2) were left by the kill and are dropped with the suffix afterwards.
    assert not (dbsetup_project / "test_default.sqlite3").exists()
    assert sorted(path.name for path in dbsetup_project.glob("*.lock")) == []


def test_a_forked_child_cannot_release_its_parents_lock(
    dbsetup_project: Path, backend: str, db_suffix: str
) -> None:
    env = {"EXAMPLE_DB_SUFFIX": db_suffix, "DBSETUP_SQLITE_FILES": "1"}
    run = run_manage(dbsetup_project, backend=backend, env=env, script="lock_fork_check.py")
    assert run.returncode == 0, run.describe()
    assert run.stdout.splitlines() == ["held after the child", "free after release"]
