"""``django_testkit_startup.pth``: coverage started with the interpreter, so that
``manage.py test --cov`` runs once; the relaunch when the settings ask for another
measurement. The hook is in the wheel (tox installs it); an editable install has none."""

from __future__ import annotations

import site
import sys
from pathlib import Path

import pytest

from django_testkit.cov.early import settings_from_manage
from tests.support.projects import (
    DISCOVER,
    EXAMPLE_PROJECT,
    copy_project,
    coverage_leftovers,
    run_manage,
    run_tests,
)

EARLY = (
    "Coverage: started with the interpreter (django_testkit_startup.pth), so the command "
    "runs once."
)
HOOKED = any(
    Path(folder, "django_testkit_startup.pth").is_file()
    for folder in [*site.getsitepackages(), site.getusersitepackages()]
)
needs_hook = pytest.mark.skipif(not HOOKED, reason="the start-up hook is installed with the wheel")


def test_the_settings_module_is_read_from_manage_py(tmp_path: Path) -> None:
    example = EXAMPLE_PROJECT / "manage.py"
    assert settings_from_manage(example, {}) == "config.settings"
    # setdefault: the environment wins.
    assert settings_from_manage(example, {"DJANGO_SETTINGS_MODULE": "other"}) == "other"
    script = tmp_path / "manage.py"
    script.write_text('import os\nos.environ["DJANGO_SETTINGS_MODULE"] = "forced"\n')
    assert settings_from_manage(script, {"DJANGO_SETTINGS_MODULE": "other"}) == "forced"
    script.write_text("import os\nos.environ.update(DJANGO_SETTINGS_MODULE=pick())\n")
    assert settings_from_manage(script, {}) is None


def test_the_wheel_carries_the_hook() -> None:
    """setup.py puts the .pth beside the package; its one line imports the hook only for
    ``manage.py test`` (other processes of the environment import nothing)."""
    source = Path(__file__).resolve().parents[1] / "django_testkit" / "startup.pth.in"
    (line,) = source.read_text().splitlines()
    assert line.startswith("import sys; ")
    for argv, imported in [
        (["manage.py", "test", "--cov"], True),
        (["/srv/shop/manage.py", "test"], True),
        (["manage.py", "check"], False),
        (["-c"], False),
        ([""], False),
    ]:
        calls: list[str] = []
        fake_sys = type("FakeSys", (), {"argv": argv})
        code = line.removeprefix("import sys; ").replace("t.start()", "calls.append(1)")
        exec(code, {"sys": fake_sys, "calls": calls})
        assert bool(calls) is imported, argv


@needs_hook
def test_coverage_starts_with_the_interpreter(tmp_path: Path) -> None:
    project = copy_project(EXAMPLE_PROJECT, tmp_path / "project")
    run = run_tests(project, "catalog", "-v", "2", "--cov", "--cov-report=")
    assert run.returncode == 0, run.describe()
    assert EARLY in run.stdout
    off = run_tests(project, "catalog", "-v", "2", "--cov", env={"TESTKIT_NO_STARTUP_HOOK": "1"})
    assert off.returncode == 0, off.describe()
    assert EARLY not in off.stdout


@needs_hook
def test_settings_that_ask_for_another_measurement_relaunch(tmp_path: Path) -> None:
    project = copy_project(EXAMPLE_PROJECT, tmp_path / "project")
    settings = project / "config" / "settings.py"
    settings.write_text(
        settings.read_text(encoding="utf-8") + '\nTESTKIT = {"COV_BRANCH": True}\n',
        encoding="utf-8",
    )
    run = run_tests(project, "catalog.tests.test_utils", "-v", "2", "--cov")
    assert run.returncode == 0, run.describe()
    assert EARLY not in run.stdout
    assert "(lines and branches, core " in run.stdout
    assert "Branch" in run.stdout  # the table has branch columns


@needs_hook
def test_a_command_that_never_reaches_the_runner_leaves_nothing(tmp_path: Path) -> None:
    project = copy_project(EXAMPLE_PROJECT, tmp_path / "project")
    helped = run_manage(project, "test", "--cov", "--help")
    assert helped.returncode == 0, helped.describe()
    refused = run_tests(project, "--cov", runner=DISCOVER)  # Django's runner: no --cov
    assert refused.returncode == 2, refused.describe()
    assert "unrecognized arguments: --cov" in refused.stderr
    assert coverage_leftovers(project) == []
    assert not (project / ".coverage").exists()


def test_the_hook_is_off_for_other_commands() -> None:
    from django_testkit import _startup
    from django_testkit.cov import session

    saved = sys.argv
    try:
        sys.argv = ["manage.py", "check", "--cov"]
        _startup.start()
        sys.argv = ["script.py", "test", "--cov"]
        _startup.start()
    finally:
        sys.argv = saved
    assert session.current() is None
