"""End-to-end tests of the parallel worker pool, through ``manage.py test`` in a fixture project.

The fixture (tests/fixtures/pool) has tests that crash or hang their worker on
request (POOL_CRASH, POOL_HANG), one that waits for a file (POOL_WAIT_FILE) so
that a run can be interrupted mid-test, and a class of every outcome
(POOL_OUTCOMES=1) to compare a parallel run with a serial one.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

import pytest

from tests.support.projects import (
    DISCOVER,
    POOL_PROJECT,
    RUN_TIMEOUT,
    copy_project,
    interrupt_run,
    manage_environment,
    run_tests,
    start_tests,
)
from tests.support.servers import leftover_databases

ALL_TESTS = 22


def _class_skips_count_as_run() -> bool:
    """Whether this Python's unittest counts a test of a skipped class in ``testsRun``.

    (Python 3.12.1 stopped counting them; 3.13 counts them again.)
    """

    @unittest.skip("probe")
    class Probe(unittest.TestCase):
        def test_probe(self) -> None:
            pass

    result = unittest.TestResult()
    unittest.TestSuite([Probe("test_probe")]).run(result)
    return result.testsRun == 1


#: What "Ran N tests" says for the whole fixture: its 9 tests of skipped classes may not count.
COUNTED = ALL_TESTS - (0 if _class_skips_count_as_run() else 9)
TROUBLE = "work.tests.test_trouble.TroubleTests"
START_METHODS = ["fork", "spawn"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(POOL_PROJECT, tmp_path / "pool")


def _env(suffix: str = "", **extra: str) -> dict[str, str]:
    return {"EXAMPLE_DB_SUFFIX": suffix, **extra}


def _same_addresses(text: str) -> str:
    """Leave out what differs between any two runs: object addresses, query times."""
    text = re.sub(r" at 0x[0-9a-f]+", " at 0x…", text)
    return re.sub(r"^\(\d+\.\d+\)", "(…)", text, flags=re.MULTILINE)


def _error_reports(stderr: str) -> list[str]:
    """The run's error reports (between the ``====`` lines and the summary), sorted."""
    body = stderr.split("=" * 70, 1)[1].split("\n" + "-" * 70 + "\nRan ", 1)[0]
    return sorted(_same_addresses(report.strip()) for report in body.split("=" * 70))


def _group_is_gone(pid: int) -> bool:
    """True once no process of the run's process group (its workers included) is left."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("start_method", START_METHODS)
@pytest.mark.parametrize(
    "extra", [[], ["--buffer"], ["--debug-sql"]], ids=["plain", "buffer", "sql"]
)
def test_outcomes_are_replayed_exactly_as_a_serial_run_prints_them(
    project: Path, start_method: str, extra: list[str]
) -> None:
    labels = ["work.tests.test_outcomes", "work.tests.test_plain"]
    env = _env(POOL_OUTCOMES="1")
    serial = run_tests(project, *extra, *labels, env=env)
    parallel = run_tests(
        project, "--parallel", "2", "--start-method", start_method, *extra, *labels, env=env
    )
    assert serial.returncode == parallel.returncode == 1, parallel.describe()
    first, second = (run.outcomes.as_multiset() for run in (serial, parallel))
    assert first[2] == second[2] == 15
    assert first == second
    # Every error report, text for text: tracebacks, chained exceptions, output, SQL.
    # (Django attaches the SQL of whichever test ran last to a setUpClass error, so
    # with --debug-sql that report depends on the order and is left out.)
    reports = [_error_reports(run.stderr) for run in (serial, parallel)]
    if extra == ["--debug-sql"]:
        reports = [[r for r in each if "setUpClass" not in r] for each in reports]
    assert reports[0] == reports[1]
    # Chained exceptions, source lines and captured output travel intact.
    assert (
        "The above exception was the direct cause of the following exception:" in parallel.stderr
    )
    assert "work.tests.test_outcomes.Unpicklable: carries a lock" in parallel.stderr
    if extra == ["--buffer"]:
        assert "\nStdout:\nprinted before failing\n" in parallel.stderr
    if extra == ["--debug-sql"]:
        assert 'FROM "work_note"' in parallel.stderr or "FROM `work_note`" in parallel.stderr
    assert "\x1b" not in parallel.stderr
    assert "\r" not in parallel.stderr


@pytest.mark.parametrize("start_method", START_METHODS)
@pytest.mark.parametrize("crash", ["exit", "kill", "segfault"])
def test_a_test_that_kills_its_worker_is_an_error_and_the_run_goes_on(
    project: Path, start_method: str, crash: str
) -> None:
    run = run_tests(
        project, "--parallel", "2", "--start-method", start_method, env=_env(POOL_CRASH=crash)
    )
    assert run.returncode == 1, run.describe()
    how = {
        "exit": "exited with status 3",
        "kill": "killed by SIGKILL",
        "segfault": "killed by SIGSEGV",
    }[crash]
    assert f"ERROR: test_b_trouble ({TROUBLE}.test_b_trouble)" in run.stderr
    assert re.search(
        rf"WorkerCrashed: worker (\d) \(pid \d+\) died while running it: {how}\.", run.stderr
    ), run.describe()
    assert re.search(
        rf"Not run: 2 test\(s\), because worker \d \(pid \d+\) died: {TROUBLE}.test_c_after, "
        rf"{TROUBLE}.test_d_after\.",
        run.stderr,
    ), run.describe()
    assert run.outcomes.ran == COUNTED - 2
    assert run.outcomes.verdict == "FAILED (errors=1, skipped=9)"


@pytest.mark.parametrize("start_method", START_METHODS)
def test_passes_a_worker_held_back_are_reported_when_it_dies(
    project: Path, start_method: str
) -> None:
    # 40 quick passes finish well within the time a worker holds passes back.
    label = "work.tests.test_held"
    run = run_tests(
        project, label, "--parallel", "2", "--start-method", start_method, "-v", "2",
        env=_env(POOL_HELD_CRASH="kill"),
    )  # fmt: skip
    assert run.returncode == 1, run.describe()
    held = f"{label}.QuickThenCrashTests"
    for number in range(40):
        assert run.outcomes.status_of(f"test_{number:02d}_quick ({held}") == ["ok"], number
    assert run.outcomes.status_of(f"test_zz_crash ({held}") == ["ERROR"]
    assert run.outcomes.status_of(f"test_partner ({label}.PartnerTests") == ["ok"]
    assert "Not run" not in run.stderr, run.describe()
    assert run.outcomes.ran == 42
    assert run.outcomes.verdict == "FAILED (errors=1)"


def test_a_replacement_worker_uses_the_dead_workers_database_clone(
    project: Path, backend: str, db_suffix: str
) -> None:
    labels = ["work.tests.test_trouble", "work.tests.test_plain"]
    for files in ("0", "1") if backend == "sqlite" else ("0",):
        env = _env(db_suffix, POOL_CRASH="kill", POOL_SQLITE_FILES=files)
        args = ("--parallel", "2", "-v", "2", *labels)
        run = run_tests(project, *args, backend=backend, env=env)
        assert run.returncode == 1, run.describe()
        # The database tests ran (in whichever worker) against an existing clone.
        assert run.outcomes.status_of("test_write_and_read") == ["ok"]
        assert run.outcomes.status_of("test_starts_empty") == ["ok"]
        # Nothing is left: server databases, or SQLite test and clone files.
        assert leftover_databases(project, backend, db_suffix) == [], run.describe()


@pytest.mark.parametrize("start_method", START_METHODS)
def test_a_hanging_test_is_stopped_by_the_timeout_with_its_stack(
    project: Path, start_method: str
) -> None:
    args = ("--parallel", "2", "--start-method", start_method, "--timeout", "2")
    run = run_tests(project, *args, env=_env(POOL_HANG="1"))
    assert run.returncode == 1, run.describe()
    assert f"ERROR: test_b_trouble ({TROUBLE}.test_b_trouble)" in run.stderr
    assert re.search(
        r"TestTimedOut: ran longer than --timeout 2s; worker \d \(pid \d+\) was stopped\. "
        r"Where it was:\nTimeout \(0:00:02\)!",
        run.stderr,
    ), run.describe()
    # The test's thread from the test's frames down; the runner's frames and thread hidden.
    where = run.stderr.split("Where it was:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert [line.split(", ", 1)[-1] for line in where[2:4]] == [
        "line 36 in wait_forever",
        "line 29 in test_b_trouble",
    ], run.describe()
    assert re.fullmatch(
        r"\(\d+ frames of the test runner and 1 thread of its own not shown; -v 3 shows them\)",
        where[4],
    ), run.describe()
    assert "multiprocessing" not in run.stderr
    assert re.search(
        r"Not run: 2 test\(s\), because worker \d \(pid \d+\) was stopped", run.stderr
    )
    assert run.outcomes.ran == COUNTED - 2
    # -v 3: every frame of every thread.
    labels = (TROUBLE, "work.tests.test_plain")  # two classes: workers, not one process
    loud = run_tests(project, *args, "-v", "3", *labels, env=_env(POOL_HANG="1"))
    assert "in _exit_with_parent" in loud.stderr, loud.describe()
    assert "multiprocessing" in loud.stderr


def test_a_hanging_class_setup_is_stopped_by_the_timeout_too(project: Path) -> None:
    env = _env(POOL_HANG_CLASS="1")
    labels = ("work.tests.test_trouble.HangingSetUpClassTests", "work.tests.test_plain")
    run = run_tests(project, "--parallel", "2", "--timeout", "2", *labels, env=env)
    assert run.returncode == 1, run.describe()
    assert "ERROR: setUpClass (work.tests.test_trouble.HangingSetUpClassTests)" in run.stderr, (
        run.describe()
    )
    assert "in setUpClass" in run.stderr
    assert re.search(
        r"Not run: 1 test\(s\), because worker \d \(pid \d+\) was stopped for a timeout: "
        r"work\.tests\.test_trouble\.HangingSetUpClassTests\.test_after_setup\.",
        run.stderr,
    ), run.describe()
    assert run.outcomes.ran == 7


@pytest.mark.skipif(sys.version_info < (3, 12), reason="--durations needs Python 3.12")
def test_durations_option_lists_tests_measured_in_workers(project: Path) -> None:
    run = run_tests(project, "--parallel", "2", "--durations", "1", "work.tests.test_plain")
    assert run.returncode == 0, run.describe()
    output = run.stdout + run.stderr
    assert "Slowest test durations" in output, run.describe()
    assert re.search(r"\d\.\d+s\s+test_takes_a_moment", output), run.describe()


def test_timeout_comes_from_settings_too(project: Path) -> None:
    env = _env(POOL_HANG="1", TESTKIT_TIMEOUT="1.5")
    run = run_tests(project, "--parallel", "2", TROUBLE, "work.tests.test_plain", env=env)
    assert run.returncode == 1, run.describe()
    assert "ran longer than --timeout 1.5s" in run.stderr


@pytest.mark.parametrize("start_method", START_METHODS)
def test_ctrl_c_once_lets_running_tests_finish_and_prints_the_results(
    project: Path, backend: str, db_suffix: str, tmp_path: Path, start_method: str
) -> None:
    marker = tmp_path / "go"
    env = _env(db_suffix, POOL_WAIT_FILE=str(marker))
    args = ("--parallel", "2", "--start-method", start_method, "--schedule", "discovery")
    process = start_tests(project, backend, env, *args)

    def let_the_waiting_test_finish() -> None:
        time.sleep(0.5)
        marker.touch()

    err = interrupt_run(
        process, Path(f"{marker}.started"), "ctrl-c", then=let_the_waiting_test_finish
    )
    assert process.returncode == 1, err
    assert "Interrupted: letting running tests finish (Ctrl-C again to stop them now)." in err
    # The waiting test finished and the results so far were printed.
    assert re.search(r"Ran \d+ tests in", err), err
    assert "Traceback" not in err
    assert _group_is_gone(process.pid)
    assert leftover_databases(project, backend, db_suffix) == [], err


@pytest.mark.parametrize("start_method", START_METHODS)
@pytest.mark.parametrize("how", ["sigterm", "ctrl-c-twice"])
def test_sigterm_or_a_second_ctrl_c_stops_the_workers_now(
    project: Path, backend: str, db_suffix: str, tmp_path: Path, start_method: str, how: str
) -> None:
    marker = tmp_path / "never"
    env = _env(db_suffix, POOL_WAIT_FILE=str(marker))
    process = start_tests(project, backend, env, "--parallel", "2", "--start-method", start_method)
    err = interrupt_run(process, Path(f"{marker}.started"), how)
    if how == "sigterm":
        assert process.returncode == 128 + signal.SIGTERM, err
        assert "Terminated (SIGTERM): stopping and cleaning up." in err
    else:
        assert process.returncode == 128 + signal.SIGINT, err
        assert "Interrupted again: stopping the workers now and cleaning up." in err
    # Quietly: no traceback of where the parent happened to be.
    assert "Traceback" not in err, err
    # The results of the tests that finished are printed, not lost.
    assert re.search(r"^Ran [1-9]\d* tests? before the run was interrupted$", err, re.M), err
    assert re.search(r"^INTERRUPTED( \(.*\))?$", err, re.M), err
    assert _group_is_gone(process.pid)
    assert leftover_databases(project, backend, db_suffix) == [], err


@pytest.mark.parametrize("start_method", START_METHODS)
def test_failfast_stops_every_worker_and_keeps_finished_results(
    project: Path, tmp_path: Path, start_method: str
) -> None:
    labels = ["work.tests.test_trouble.WaitTests", "work.tests.test_outcomes.OutcomeTests"]
    env = _env(POOL_OUTCOMES="1", POOL_WAIT_FILE=str(tmp_path / "never"))
    args = ("--parallel", "2", "--start-method", start_method, "--failfast", "-v", "2")
    run = run_tests(project, *args, *labels, env=env)
    assert run.returncode == 1, run.describe()
    # The waiting test was stopped, not waited for (it waits up to a minute).
    assert run.outcomes.status_of("test_waits_for_the_file") == []
    assert len([s for _, s in run.outcomes.statuses if s in {"ERROR", "FAIL"}]) >= 1


def test_workers_that_cannot_start_stop_the_run_with_one_line(project: Path) -> None:
    env = _env(POOL_BREAK_WORKERS="1")
    run = run_tests(project, "--parallel", "2", "--start-method", "spawn", env=env)
    assert run.returncode == 1, run.describe()
    last = run.stderr.strip().splitlines()[-1]
    assert re.fullmatch(
        r"PoolError: Worker \d could not start \(exited with status 1\); see its output "
        r"above\. Run with --parallel 1 to see the problem in-process\.",
        last,
    ), run.describe()
    assert "RuntimeError: this worker cannot start (POOL_BREAK_WORKERS)" in run.stderr
    assert leftover_databases(project, "sqlite", "") == []


def test_pdb_with_parallel_workers_is_refused(project: Path) -> None:
    run = run_tests(project, "--parallel", "2", "--pdb")
    assert run.returncode == 1
    assert "You cannot use --pdb with parallel tests; pass --parallel=1 to use it." in run.stderr


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_fresh_workers_get_the_runners_test_environment(project: Path, start_method: str) -> None:
    args = ("--parallel", "2", "--start-method", start_method, "-v", "2", "work.tests.test_plain")
    run = run_tests(project, *args)
    assert run.returncode == 0, run.describe()
    assert run.outcomes.status_of("test_runner_setting_reaches_the_worker") == ["ok"]
    assert run.outcomes.status_of("test_write_and_read") == ["ok"]


def test_parallel_auto_uses_workers_under_forkserver(project: Path, tmp_path: Path) -> None:
    """Django 4.2/5.2 turn ``auto`` into 1 under forkserver; our workers work there."""
    pids = tmp_path / "pids"
    pids.mkdir()
    env = _env(DJANGO_TEST_PROCESSES="2", POOL_PID_DIR=str(pids))
    args = ("--parallel", "auto", "--start-method", "forkserver")
    run = run_tests(project, *args, "work.tests.test_plain", env=env)
    assert run.returncode == 0, run.describe()
    # Every test ran in a worker that manage.py started (not in manage.py, our child).
    parents = {name.split("_")[1] for name in os.listdir(pids)}
    assert parents, run.describe()
    assert str(os.getpid()) not in parents, run.describe()


def test_durations_are_recorded_pruned_and_survive_a_corrupt_file(project: Path) -> None:
    store = project / ".testkit" / "durations.json"
    run = run_tests(project, "--parallel", "2")
    assert run.returncode == 0, run.describe()
    units = json.loads(store.read_text())["units"]
    assert "work.tests.test_plain.SlowerTests" in units
    assert units["work.tests.test_plain.SlowerTests"] >= 0.2
    assert TROUBLE in units

    # A label run keeps what it did not run; a whole run prunes what no longer exists.
    store.write_text(json.dumps({"format": 1, "units": {**units, "gone.tests.OldTests": 9.0}}))
    run_tests(project, "--parallel", "2", "work.tests.test_plain", TROUBLE)
    assert "gone.tests.OldTests" in json.loads(store.read_text())["units"]
    run_tests(project, "--parallel", "2")
    assert "gone.tests.OldTests" not in json.loads(store.read_text())["units"]

    # At -v 2 the run says how well the recorded durations predicted it.
    run = run_tests(project, "--parallel", "2", "-v", "2")
    schedule = [line for line in run.stderr.splitlines() if line.startswith("Schedule: ")]
    assert len(schedule) == 1, run.describe()
    assert re.fullmatch(
        r"Schedule: \d+ classes on 2 workers, \d+ with recorded durations; "
        r"predicted \d+\.\ds, took \d+\.\ds \(\d+\.\d\dx\)\.",
        schedule[0],
    ), schedule
    assert "Schedule: " not in run_tests(project, "--parallel", "2").stderr

    store.write_text("{not json")
    run = run_tests(project, "--parallel", "2")
    assert run.returncode == 0, run.describe()
    output = run.stdout + run.stderr
    warnings = [line for line in output.splitlines() if "durations file" in line]
    assert len(warnings) == 1, output
    assert str(store.name) in warnings[0], output
    assert json.loads(store.read_text())["format"] == 1


def test_custom_durations_file_and_schedule(project: Path, tmp_path: Path) -> None:
    store = tmp_path / "timings" / "d.json"
    run = run_tests(
        project, "--parallel", "2", "--durations-file", str(store), "--schedule", "discovery"
    )
    assert run.returncode == 0, run.describe()
    assert TROUBLE in json.loads(store.read_text())["units"]
    assert not (project / ".testkit").exists()


def _run_on_a_terminal(project: Path, *args: str) -> str:
    """Run ``manage.py test ARGS`` with stdout and stderr on a pseudo-terminal."""
    master, slave = pty.openpty()
    env = {key: value for key, value in manage_environment().items() if key != "CI"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "test", "--noinput", *args],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    output = b""
    while True:
        ready, _, _ = select.select([master], [], [], RUN_TIMEOUT)
        if not ready:
            process.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closes when the run ends
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    assert process.wait(timeout=RUN_TIMEOUT) == 0, output.decode()
    return output.decode()


def test_a_terminal_gets_a_live_status_line_and_the_serial_output_in_the_end(
    project: Path,
) -> None:
    output = _run_on_a_terminal(project, "--parallel", "2", "-v", "2")
    assert "[testkit] " in output
    assert re.search(r"\[testkit\] 22/22 tests, 0 failed, \d+:\d\d", output)
    # At -v 2 the status names what each worker runs.
    assert re.search(r"\| [12]:work\.tests\.", output)
    # Once the status line is erased for the last time, what is left is the run's output.
    final = output.rsplit("\x1b[K", 1)[1]
    assert "\x1b" not in final
    assert f"\nRan {COUNTED} tests in " in final.replace("\r\n", "\n")


def test_without_a_terminal_there_are_no_control_characters(project: Path) -> None:
    run = run_tests(project, "--parallel", "2", "-v", "2")
    assert run.returncode == 0, run.describe()
    assert "\x1b" not in run.stderr + run.stdout
    assert "\r" not in run.stderr + run.stdout
    assert "[testkit]" not in run.stderr  # short run: no periodic line


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("mode", ["serial", "fork", "spawn"])
@pytest.mark.parametrize("what", ["thread", "fork", "thread+fork"])
def test_threads_and_children_a_test_leaves_behind_never_hold_the_run(
    project: Path, tmp_path: Path, mode: str, what: str
) -> None:
    pid_file = tmp_path / "child.pid"
    env = _env(POOL_LEAVE=what, POOL_LEAVE_PID=str(pid_file))
    args = [] if mode == "serial" else ["--parallel", "2", "--start-method", mode]
    run = run_tests(project, *args, TROUBLE, "work.tests.test_plain", env=env)
    assert run.returncode == 0, run.describe()
    assert re.search(r"Ran \d+ tests in", run.stderr), run.describe()
    if mode == "serial":
        line = next(x for x in run.stderr.splitlines() if x.startswith("The tests left running"))
    else:
        line = next(x for x in run.stderr.splitlines() if x.startswith(f"{TROUBLE} left running"))
    assert ("thread 'left-behind'" in line) == ("thread" in what), line
    assert ("child process" in line) == ("fork" in what), line
    if "fork" in what:
        assert _gone(int(pid_file.read_text())), line


@pytest.mark.parametrize("how", ["sigterm", "ctrl-c-twice"])
def test_a_serial_run_stopped_at_once_prints_the_finished_results_too(
    project: Path, tmp_path: Path, how: str
) -> None:
    marker = tmp_path / "never"
    env = _env(POOL_WAIT_FILE=str(marker), POOL_OUTCOMES="1")
    labels = ["work.tests.test_outcomes", "work.tests.test_trouble.WaitTests"]
    process = start_tests(project, "sqlite", env, *labels)
    err = interrupt_run(process, Path(f"{marker}.started"), how)
    if how == "sigterm":
        assert process.returncode == 128 + signal.SIGTERM, err
    else:
        assert process.returncode == 128 + signal.SIGINT, err
    assert "Traceback (most recent call last)" not in err.split("INTERRUPTED")[-1], err
    assert "KeyboardInterrupt" not in err, err
    assert re.search(r"^Ran [1-9]\d* tests? before the run was interrupted$", err, re.M), err
    # The outcome class ran first: its failure and error are reported in full.
    assert "FAIL: test_failure_with_output" in err, err
    assert re.search(r"^INTERRUPTED \(failures=\d+, errors=\d+", err, re.M), err


def test_a_worker_that_died_leaves_no_rows_for_the_next_tests_in_its_slot(
    project: Path, backend: str, db_suffix: str
) -> None:
    """A TransactionTestCase commits a row and kills its worker; the replacement worker
    gets its slot's databases copied afresh, so no later test sees that row."""
    args = ("--parallel", "2", "--schedule", "discovery", "-v", "2", "work.tests.dirty")
    for files in ("0", "1") if backend == "sqlite" else ("0",):
        env = _env(db_suffix, POOL_SQLITE_FILES=files)
        run = run_tests(project, *args, backend=backend, env=env)
        assert run.returncode == 1, run.describe()
        assert run.outcomes.status_of("test_commits_then_dies") == ["ERROR"], run.describe()
        assert run.outcomes.status_of("test_starts_empty") == ["ok"] * 6, run.describe()
        assert leftover_databases(project, backend, db_suffix) == [], run.describe()


@pytest.mark.parametrize("start_method", START_METHODS)
def test_a_test_that_raises_keyboard_interrupt_is_an_error_of_that_test(
    project: Path, start_method: str
) -> None:
    args = ("--parallel", "2", "--start-method", start_method, "-v", "2")
    labels = (TROUBLE, "work.tests.test_plain")
    run = run_tests(project, *args, *labels, env=_env(POOL_CRASH="keyboard"))
    assert run.returncode == 1, run.describe()
    assert f"ERROR: test_b_trouble ({TROUBLE}" in run.stderr, run.describe()
    assert "\nKeyboardInterrupt\n" in run.stderr, run.describe()
    assert "WorkerCrashed" not in run.stderr, run.describe()
    assert "tearDownClass" not in run.stderr, run.describe()
    assert f"{TROUBLE} raised KeyboardInterrupt: letting running tests finish, then stopping." in (
        run.stderr
    )
    # Like a serial run, nothing after it runs; what did not run is listed.
    assert run.outcomes.status_of("test_c_after") == [], run.describe()


@pytest.mark.parametrize("start_method", START_METHODS)
def test_what_a_finished_test_held_is_released_as_unittest_releases_it(
    project: Path, start_method: str
) -> None:
    django_run = run_tests(project, "--parallel", "2", "work.tests.lifetime", runner=DISCOVER)
    assert django_run.returncode == 0, django_run.describe()
    args = ("--parallel", "2", "--start-method", start_method, "work.tests.lifetime")
    run = run_tests(project, *args)
    assert run.returncode == 0, run.describe()
    assert run.outcomes.verdict == django_run.outcomes.verdict == "OK"


def test_scratch_left_by_a_killed_run_is_removed_by_the_next(
    project: Path, tmp_path: Path
) -> None:
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    dead = scratch_root / "testkit-pool-999999999-abcd"
    dead.mkdir()
    (dead / "default.sqlite3").write_bytes(b"snapshot of a killed run")
    alive = scratch_root / f"testkit-pool-{os.getpid()}-efgh"
    alive.mkdir()
    env = _env(TMPDIR=str(scratch_root))
    run = run_tests(project, "--parallel", "2", "work.tests.test_plain", env=env)
    assert run.returncode == 0, run.describe()
    assert sorted(path.name for path in scratch_root.iterdir()) == [alive.name]
