"""End-to-end tests of coverage inside ``manage.py test``, on the coverage fixture project.

Exactness: the data ``manage.py test --cov`` writes is compared, file by file
and line by line (arc by arc with ``--cov-branch``), with what a reference run
measures: ``coverage run`` with multiprocessing concurrency around Django's own
runner with ``--parallel 2``, then ``coverage combine``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from coverage.data import CoverageData

from django_testkit.cov.measure import default_omit
from tests.support.projects import (
    COVERAGE_PROJECT,
    DISCOVER,
    RUN_TIMEOUT,
    Run,
    copy_project,
    coverage_leftovers,
    manage_environment,
    run_tests,
)

pytestmark = pytest.mark.e2e

Measured = dict[str, tuple[list[int], list[tuple[int, int]]]]


def measured(data_file: Path) -> Measured:
    data = CoverageData(str(data_file))
    data.read()
    return {
        name: (sorted(data.lines(name) or []), sorted(data.arcs(name) or []))
        for name in data.measured_files()
    }


def assert_same(ours: Measured, reference: Measured) -> None:
    assert sorted(ours) == sorted(reference), "measured files differ"
    different = {
        name: (
            set(ours[name][0]) ^ set(reference[name][0]),
            set(ours[name][1]) ^ set(reference[name][1]),
        )
        for name in ours
        if ours[name] != reference[name]
    }
    assert not different, f"lines/arcs that differ (symmetric difference): {different}"


def run_command(project: Path, argv: list[str], env: dict[str, str] | None = None) -> Run:
    completed = subprocess.run(
        argv,
        cwd=project,
        env=manage_environment(env=env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    return Run(argv, completed.returncode, completed.stdout, completed.stderr)


def reference_rc(project: Path, folder: Path, branch: bool, extra: str = "") -> Path:
    omit = "\n    ".join(default_omit(project, str(project / "covproj" / "settings.py")))
    rc = folder / f"reference{'-branch' if branch else ''}.rc"
    rc.write_text(
        f"[run]\nsource = {project}\nbranch = {branch}\n{extra}omit =\n    {omit}\n",
        encoding="utf-8",
    )
    return rc


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One project copy for the exactness tests, and the reference data per branch mode."""
    root = tmp_path_factory.mktemp("coverage")
    project = copy_project(COVERAGE_PROJECT, root / "proj")
    references: dict[bool, Measured] = {}
    for branch in (False, True):
        data_dir = root / f"reference-{branch}"
        data_dir.mkdir()
        extra = (
            "concurrency = multiprocessing,thread\nparallel = true\n"
            f"data_file = {data_dir / '.coverage'}\n"
        )
        rc = reference_rc(project, root, branch, extra)
        env = {"COVERAGE_RCFILE": str(rc), "EXAMPLE_TEST_RUNNER": DISCOVER}
        coverage_run = [sys.executable, "-m", "coverage", "run"]
        run = run_command(project, [*coverage_run, "manage.py", "test", "--parallel", "2"], env)
        assert run.returncode == 0, run.describe()
        combine = run_command(project, [sys.executable, "-m", "coverage", "combine", "-q"], env)
        assert combine.returncode == 0, combine.describe()
        references[branch] = measured(data_dir / ".coverage")
    return {"project": project, "root": root, "references": references}


def _django_admin() -> str:
    return str(Path(sys.executable).parent / "django-admin")


EXACT_MODES = {
    "serial": ["manage.py", "test"],
    "fork": ["manage.py", "test", "--parallel", "2", "--start-method", "fork"],
    "spawn": ["manage.py", "test", "--parallel", "2", "--start-method", "spawn"],
    "forkserver": ["manage.py", "test", "--parallel", "2", "--start-method", "forkserver"],
    "python -m django": ["-m", "django", "test", "--parallel", "2"],
    "django-admin": ["DJANGO_ADMIN", "test", "--parallel", "2"],
}


@pytest.mark.parametrize("branch", [False, True], ids=["lines", "branches"])
@pytest.mark.parametrize("mode", list(EXACT_MODES))
def test_data_equals_coverage_run_with_multiprocessing(
    shared: dict[str, object], mode: str, branch: bool
) -> None:
    project = shared["project"]
    assert isinstance(project, Path)
    args = [arg if arg != "DJANGO_ADMIN" else _django_admin() for arg in EXACT_MODES[mode]]
    argv = [sys.executable, *args] if args[0] != _django_admin() else args
    env = {"DJANGO_SETTINGS_MODULE": "covproj.settings", "PYTHONPATH": str(project)}
    options = ["--noinput", "--cov", *(["--cov-branch"] if branch else [])]
    (project / ".coverage").unlink(missing_ok=True)
    run = run_command(project, [*argv, *options], env)
    assert run.returncode == 0, run.describe()
    references = shared["references"]
    assert isinstance(references, dict)
    assert_same(measured(project / ".coverage"), references[branch])
    assert coverage_leftovers(project) == []


def test_under_coverage_run_extends_that_measurement(shared: dict[str, object]) -> None:
    project, root = shared["project"], shared["root"]
    assert isinstance(project, Path)
    assert isinstance(root, Path)
    data_file = root / "outer" / ".coverage"
    data_file.parent.mkdir()
    rc = reference_rc(project, data_file.parent, False, f"data_file = {data_file}\n")
    argv = [sys.executable, "-m", "coverage", "run", "--rcfile", str(rc), "manage.py", "test"]
    run = run_command(project, [*argv, "--noinput", "--cov", "--parallel", "2", "-v", "2"])
    assert run.returncode == 0, run.describe()
    assert "extending the measurement of the `coverage run`" in run.stdout
    references = shared["references"]
    assert isinstance(references, dict)
    assert_same(measured(data_file), references[False])
    assert coverage_leftovers(project) == []
    assert coverage_leftovers(data_file.parent) == []


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(COVERAGE_PROJECT, tmp_path / "proj")


def json_totals(project: Path, *args: str, env: dict[str, str] | None = None) -> dict:
    """Run with a JSON report and return it (to compute the exact expected lines)."""
    import json

    run = run_tests(project, "--cov", "--cov-report", "json:cov.json", *args, env=env)
    assert run.returncode in (0, 2), run.describe()
    return json.loads((project / "cov.json").read_text())


def test_under_coverage_run_with_multiprocessing_the_report_includes_the_workers(
    shared: dict[str, object],
) -> None:
    project, root = shared["project"], shared["root"]
    assert isinstance(project, Path)
    assert isinstance(root, Path)
    data_file = root / "outer-mp" / ".coverage"
    data_file.parent.mkdir()
    extra = f"concurrency = multiprocessing,thread\nparallel = true\ndata_file = {data_file}\n"
    rc = reference_rc(project, data_file.parent, False, extra)
    argv = [sys.executable, "-m", "coverage", "run", "--rcfile", str(rc), "manage.py", "test"]
    run = run_command(project, [*argv, "--noinput", "--cov", "--parallel", "2"])
    assert run.returncode == 0, run.describe()
    # coverage's own patch measured the workers; their data was combined in before the report.
    total = [line for line in run.stdout.splitlines() if line.startswith("TOTAL")]
    combine = [sys.executable, "-m", "coverage", "combine", "--rcfile", str(rc), "-q"]
    assert run_command(project, combine).returncode == 0
    report = [sys.executable, "-m", "coverage", "report", "--rcfile", str(rc)]
    after = run_command(project, report).stdout.splitlines()
    assert total == [line for line in after if line.startswith("TOTAL")]
    references = shared["references"]
    assert isinstance(references, dict)
    assert_same(measured(data_file), references[False])
    assert coverage_leftovers(project) == []
