"""End-to-end tests of coverage reports, thresholds and bad values, on the coverage fixture.

Every threshold test checks the exit status (2: tests passed, a threshold was
missed) and the exact line printed; the expected percentages are computed from
the JSON report of the same run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from coverage.data import CoverageData

from django_testkit.cov.thresholds import display_percent, summary_percent
from tests.support.projects import (
    COVERAGE_PROJECT,
    Run,
    copy_project,
    coverage_leftovers,
    interrupt_run,
    run_manage,
    run_tests,
    start_tests,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(COVERAGE_PROJECT, tmp_path / "proj")


def run_cov(project: Path, *args: str, env: dict[str, str] | None = None, **kw: Any) -> Run:
    return run_tests(project, "--cov", *args, env=env, **kw)  # type: ignore[arg-type]


def settings_env(**values: Any) -> dict[str, str]:
    return {"COVPROJ_TESTKIT": json.dumps(values)}


def json_report(project: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((project / "cov.json").read_text(encoding="utf-8"))
    return loaded


def stderr_lines(run: Run) -> list[str]:
    return run.stderr.splitlines()


# -- reports -----------------------------------------------------------------------------


def test_every_report_type_is_written_and_parsable(project: Path) -> None:
    summary = project / "summary.md"
    summary.write_text("# CI summary\n", encoding="utf-8")
    run = run_cov(
        project,
        "--cov-report=term-missing:skip-covered",
        "--cov-report=html:out/html",
        "--cov-report=xml:out/coverage.xml",
        "--cov-report=json:out/coverage.json",
        "--cov-report=lcov:out/coverage.lcov",
        "--cov-report=markdown:out/coverage.md",
        "--cov-report=markdown-append",
        "--parallel",
        "2",
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert run.returncode == 0, run.describe()
    out = project / "out"
    assert ET.parse(out / "coverage.xml").getroot().tag == "coverage"
    totals = json.loads((out / "coverage.json").read_text())["totals"]
    assert totals["num_statements"] > 0
    lcov = (out / "coverage.lcov").read_text()
    assert "SF:shop/pricing.py" in lcov
    assert lcov.rstrip().endswith("end_of_record")
    assert (out / "html" / "index.html").is_file()
    assert "| Name" in (out / "coverage.md").read_text()
    appended = summary.read_text()
    assert appended.startswith("# CI summary\n| Name")
    # The terminal table first (missing lines, full files skipped), then where files went.
    assert "Missing" in run.stdout
    assert "shop/apps.py" not in run.stdout
    assert "files skipped due to complete coverage" in run.stdout
    where = [line for line in run.stdout.splitlines() if line.startswith("Coverage ")]
    assert where == [
        "Coverage HTML written to dir out/html",
        "Coverage XML written to file out/coverage.xml",
        "Coverage JSON written to file out/coverage.json",
        "Coverage LCOV written to file out/coverage.lcov",
        "Coverage Markdown written to file out/coverage.md",
        f"Coverage Markdown appended to {summary}",
    ]
    # No scratch file or directory of a report is left (they are all hidden names).
    assert not [path.name for path in out.iterdir() if path.name.startswith(".")]


def _xml(path: Path) -> bool:
    return ET.parse(path).getroot().tag == "coverage"


def _json(path: Path) -> bool:
    return bool(json.loads(path.read_text())["totals"]["num_statements"])


def _lcov(path: Path) -> bool:
    text = path.read_text()
    return "SF:shop/pricing.py" in text and text.rstrip().endswith("end_of_record")


def _html(path: Path) -> bool:
    return "pricing.py" in (path / "index.html").read_text()


def _markdown(path: Path) -> bool:
    return path.read_text().startswith("| Name ")


REPORT_FILES = {
    "xml": ("coverage.xml", _xml),
    "json": ("coverage.json", _json),
    "lcov": ("coverage.lcov", _lcov),
    "html": ("htmlcov", _html),
    "markdown": ("coverage.md", _markdown),
}


@pytest.mark.parametrize("kind", list(REPORT_FILES))
def test_each_file_report_at_its_default_destination(project: Path, kind: str) -> None:
    run = run_cov(project, f"--cov-report={kind}", "--parallel", "2")
    assert run.returncode == 0, run.describe()
    name, parsable = REPORT_FILES[kind]
    assert parsable(project / name)
    assert "TOTAL" not in run.stdout


@pytest.mark.parametrize("kind", ["term", "term-missing"])
def test_each_terminal_report(project: Path, kind: str) -> None:
    run = run_cov(project, f"--cov-report={kind}")
    assert run.returncode == 0, run.describe()
    header = next(line for line in run.stdout.splitlines() if line.startswith("Name"))
    assert header.split() == ["Name", "Stmts", "Miss", "Cover"] + (
        ["Missing"] if kind == "term-missing" else []
    )


def test_no_report_when_asked_for_none(project: Path) -> None:
    run = run_cov(project, "--cov-report=")
    assert run.returncode == 0, run.describe()
    assert "TOTAL" not in run.stdout
    assert (project / ".coverage").is_file()


def test_defaults_measure_the_project_without_tests_migrations_and_settings(
    project: Path,
) -> None:
    run = run_cov(project, "-v", "2")
    assert run.returncode == 0, run.describe()
    data = CoverageData(str(project / ".coverage"))
    data.read()
    files = sorted(os.path.relpath(name, project) for name in data.measured_files())
    assert files == [
        "covproj/__init__.py",
        "shop/__init__.py",
        "shop/admin.py",
        "shop/apps.py",
        "shop/background.py",
        "shop/models.py",
        "shop/payments/__init__.py",
        "shop/payments/gateway.py",
        "shop/pricing.py",
        "shop/signals.py",
        "shop/unused.py",
        "shop/urls.py",
        "shop/views.py",
    ]
    core = "sysmon" if sys.version_info >= (3, 12) else "ctrace"
    assert f"Coverage: measuring {project} (lines, core {core}); data in " in run.stdout


def test_branch_coverage_uses_the_c_tracer_before_python_3_14(project: Path) -> None:
    run = run_cov(project, "--cov-branch", "-v", "2")
    assert run.returncode == 0, run.describe()
    core = "sysmon" if sys.version_info >= (3, 14) else "ctrace"
    assert f"(lines and branches, core {core})" in run.stdout
    assert "Branch" in run.stdout


def test_coverage_configuration_is_honoured(project: Path) -> None:
    (project / "setup.cfg").write_text(
        "[coverage:run]\nsource = shop/payments\n[coverage:report]\nprecision = 2\n",
        encoding="utf-8",
    )
    run = run_cov(project, "--cov-report=term")
    assert run.returncode == 0, run.describe()
    table = [line.split()[0] for line in run.stdout.splitlines() if line.startswith("shop")]
    assert table == ["shop/payments/__init__.py", "shop/payments/gateway.py"]
    assert "50.00%" in run.stdout


def test_contexts_name_the_test_that_ran_each_line(project: Path) -> None:
    run = run_cov(project, "--cov-context", "test", "--parallel", "2", "-v", "2")
    assert run.returncode == 0, run.describe()
    assert "core ctrace" in run.stdout
    data = CoverageData(str(project / ".coverage"))
    data.read()
    pricing = next(name for name in data.measured_files() if name.endswith("pricing.py"))
    contexts = data.contexts_by_lineno(pricing)
    assert "shop.tests.test_pricing.PricingTests.test_bulk_discount" in contexts[10]


def test_templates_are_measured_with_the_plugin(project: Path) -> None:
    if not importlib.util.find_spec("django_coverage_plugin"):
        pytest.skip("django_coverage_plugin is not installed (the 'templates' extra)")
    run = run_cov(project, "--cov-templates", "--parallel", "2", "-v", "2")
    assert run.returncode == 0, run.describe()
    assert "(lines, core ctrace)" in run.stdout
    data = CoverageData(str(project / ".coverage"))
    data.read()
    receipt = str(project / "templates" / "receipt.html")
    assert receipt in data.measured_files()
    assert data.lines(receipt)


def test_no_cov_wins_over_the_setting(project: Path) -> None:
    run = run_tests(project, "--no-cov", env=settings_env(COV=True))
    assert run.returncode == 0, run.describe()
    assert "TOTAL" not in run.stdout
    assert not (project / ".coverage").exists()


def test_a_threshold_without_cov_turns_coverage_on_and_says_so(project: Path) -> None:
    run = run_tests(project, "--cov-fail-under", "100", "-v", "2")
    assert run.returncode == 2, run.describe()
    assert "Coverage: on, because --cov-fail-under asks for it (without --cov)." in run.stdout
    assert re.search(r"^Coverage failure: total: \d+% is less than 100%$", run.stderr, re.M)
    assert (project / ".coverage").exists()
    quiet = run_tests(project, "--cov-fail-under", "100", "--no-cov")
    assert quiet.returncode == 0, quiet.describe()


def test_only_the_projects_settings_are_left_out_not_every_settings_py(project: Path) -> None:
    conf = project / "shop" / "conf"
    conf.mkdir()
    (conf / "__init__.py").write_text("", encoding="utf-8")
    (conf / "settings.py").write_text(
        "def page_size(requested):\n"
        "    if requested > 100:\n"
        "        return 100\n"
        "    return requested\n",
        encoding="utf-8",
    )
    (project / "shop" / "tests" / "test_conf.py").write_text(
        "from django.test import SimpleTestCase\n\n"
        "from shop.conf.settings import page_size\n\n\n"
        "class PageSizeTests(SimpleTestCase):\n"
        "    def test_small(self):\n"
        "        self.assertEqual(page_size(5), 5)\n",
        encoding="utf-8",
    )
    label = "shop.tests.test_conf"
    run = run_tests(project, label, "--cov", "--cov-report", "json:cov.json")
    assert run.returncode == 0, run.describe()
    measured = json_report(project)["files"]
    library = measured["shop/conf/settings.py"]["summary"]
    assert (library["num_statements"], library["missing_lines"]) == (4, 1)
    assert not [name for name in measured if name.startswith("covproj/settings")]


def test_setting_turns_coverage_on(project: Path) -> None:
    run = run_tests(project, env=settings_env(COV=True, COV_REPORT=["term-missing"]))
    assert run.returncode == 0, run.describe()
    assert "Missing" in run.stdout


def test_a_runner_started_from_code_measures_from_there_and_says_so(project: Path) -> None:
    script = project / "from_code.py"
    script.write_text(
        "import os\n"
        "import django\n"
        "from django.core.management import call_command\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'covproj.settings')\n"
        "django.setup()\n"
        "call_command('test', '--noinput', '--cov', '--parallel', '2')\n",
        encoding="utf-8",
    )
    run = run_manage(project, script="from_code.py")
    assert run.returncode == 0, run.describe()
    assert (
        "Coverage: started after Django was set up (this is not a `manage.py test` command "
        "line), so module-level lines that ran earlier are not measured; use `coverage run` "
        "around this program to measure them."
    ) in stderr_lines(run)
    assert "TOTAL" in run.stdout
    assert coverage_leftovers(project) == []


def test_pdb_keeps_working_with_coverage(project: Path) -> None:
    run = run_cov(project, "--pdb", env={"COVPROJ_FAIL": "1"}, stdin="p 6 * 7\nc\n")
    assert run.returncode == 1, run.describe()
    assert "(Pdb) 42" in run.stdout


# -- thresholds ----------------------------------------------------------------------------


def test_total_below_cov_fail_under_exits_2_with_one_line(project: Path) -> None:
    run = run_cov(project, "--cov-report=json:cov.json", "--cov-fail-under", "99")
    assert run.returncode == 2, run.describe()
    total = display_percent(summary_percent(json_report(project)["totals"]), 0)
    assert stderr_lines(run)[-1] == f"Coverage failure: total: {total} is less than 99%"


def test_fail_under_and_precision_from_coverage_config(project: Path) -> None:
    (project / ".coveragerc").write_text(
        f"[run]\nsource = {project}\nomit = */tests/*\n    */migrations/*\n"
        "[report]\nfail_under = 99.5\nprecision = 2\n",
        encoding="utf-8",
    )
    run = run_cov(project, "--cov-report=json:cov.json", "--parallel", "2")
    assert run.returncode == 2, run.describe()
    total = display_percent(summary_percent(json_report(project)["totals"]), 2)
    assert stderr_lines(run)[-1] == f"Coverage failure: total: {total} is less than 99.5%"


def test_total_met_exits_0(project: Path) -> None:
    run = run_cov(project, "--cov-fail-under", "50")
    assert run.returncode == 0, run.describe()
    assert "Coverage failure" not in run.stderr


def test_failed_tests_win_over_thresholds(project: Path) -> None:
    run = run_cov(project, "--cov-fail-under", "99", env={"COVPROJ_FAIL": "1"})
    assert run.returncode == 1, run.describe()
    assert "Coverage failure: total: " in run.stderr


def test_per_path_minimums_by_glob_and_app_label(project: Path) -> None:
    rules = {"shop/payments/*": 100, "shop": 95, "shop/pricing.py": 50, "shop/nope/*": 10}
    run = run_cov(
        project, "--cov-report=json:cov.json", env=settings_env(COV_FAIL_UNDER_PATHS=rules)
    )
    assert run.returncode == 2, run.describe()
    files = json_report(project)["files"]

    def subset(prefix: str) -> str:
        keys = [key for key in files if key.startswith(prefix)]
        summary = {
            name: sum(files[key]["summary"][name] for key in keys)
            for name in ("covered_lines", "num_statements")
        }
        return display_percent(summary_percent(summary), 0)

    assert [line for line in stderr_lines(run) if line.startswith("Coverage failure")] == [
        f"Coverage failure: shop/payments/*: {subset('shop/payments/')} is less than 100%",
        f"Coverage failure: shop: {subset('shop/')} is less than 95%",
        "Coverage failure: shop/nope/*: matches no measured file (minimum 10%)",
    ]


def test_labels_report_thresholds_without_enforcing_them(project: Path) -> None:
    label = "shop.tests.test_pricing"
    # Labels go before --cov, whose optional SOURCE would take them (as with pytest-cov).
    run = run_tests(project, label, "--cov", env=settings_env(COV_FAIL_UNDER=99))
    assert run.returncode == 0, run.describe()
    assert stderr_lines(run)[-1] == (
        "Coverage thresholds not enforced: only part of the suite ran (test labels, tags or "
        "-k); pass --cov-fail-under to enforce the total."
    )
    enforced = run_tests(project, label, "--cov", "--cov-fail-under", "99")
    assert enforced.returncode == 2, enforced.describe()


def _git(project: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)


def test_changed_lines_coverage_lists_what_did_not_run(project: Path) -> None:
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", ".")
    _git(project, "commit", "-qm", "start")
    _git(project, "checkout", "-qb", "feature")
    pricing = project / "shop" / "pricing.py"
    text = pricing.read_text().replace(
        "    total = unit * quantity\n",
        "    total = unit * quantity\n    if quantity < 0:\n        total = 0\n",
    )
    pricing.write_text(text + "\n\ndef unused_rebate(total):\n    return total - 1\n")
    _git(project, "commit", "-qam", "change pricing")
    run = run_cov(project, "--diff-fail-under", "90", "--parallel", "2")
    assert run.returncode == 2, run.describe()
    lines = stderr_lines(run)
    # Changed executable lines: 9, 10, 22, 23 (the def runs at import); 9 and 22 ran.
    assert lines[-3].startswith("Coverage of changed lines since ")
    assert lines[-3].endswith(": 2 of 4 (50%).")
    assert lines[-2].endswith(": 50% is less than 90%; 2 of 4 changed lines are not covered")
    assert lines[-1] == "  not covered: shop/pricing.py:10, 23"


def test_baseline_ratchet_fails_on_a_drop_and_rises_after_a_good_run(project: Path) -> None:
    baseline = project / ".testkit" / "coverage-baseline.json"
    first = run_cov(project, "--cov-baseline", str(baseline), "--cov-update-baseline")
    assert first.returncode == 0, first.describe()
    recorded = json.loads(baseline.read_text())["total"]
    assert f"Coverage baseline raised to {display_percent(recorded, 0)} in {baseline}." in (
        first.stderr
    )
    baseline.write_text(json.dumps({"total": 99.0}))
    dropped = run_cov(project, "--cov-baseline", str(baseline), "--cov-baseline-tolerance", "0.5")
    assert dropped.returncode == 2, dropped.describe()
    assert stderr_lines(dropped)[-1] == (
        f"Coverage failure: total: {display_percent(recorded, 0)} is less than 99% "
        f"(baseline in {baseline}, tolerance 0.5)"
    )


# -- workers that die, bad values ----------------------------------------------------------


def test_a_dead_worker_loses_only_its_class_and_the_run_says_so(project: Path) -> None:
    run = run_cov(project, "--parallel", "2", env={"COVPROJ_CRASH": "1"})
    assert run.returncode == 1, run.describe()
    incomplete = [line for line in stderr_lines(run) if line.startswith("Coverage: the data")]
    assert len(incomplete) == 1
    assert "died" in incomplete[0]
    assert incomplete[0].endswith("in shop.tests.test_payments.PaymentTests).")
    data = CoverageData(str(project / ".coverage"))
    data.read()
    background = next(name for name in data.measured_files() if name.endswith("background.py"))
    assert 9 in (data.lines(background) or [])  # ran in a thread, by another class
    assert not [path.name for path in project.iterdir() if path.name.startswith(".testkit-")]


@pytest.mark.parametrize("how", ["ctrl-c", "ctrl-c-twice", "sigterm"])
def test_an_interrupted_run_combines_its_data_and_leaves_no_fragment(
    project: Path, tmp_path: Path, how: str
) -> None:
    marker = tmp_path / "go"
    env = {"COVPROJ_WAIT_FILE": str(marker)}
    process = start_tests(project, "sqlite", env, "--cov", "--parallel", "2")

    def let_the_waiting_test_finish() -> None:
        if how == "ctrl-c":
            time.sleep(0.5)
            marker.touch()

    err = interrupt_run(process, Path(f"{marker}.started"), how, then=let_the_waiting_test_finish)
    assert process.returncode != 0, err
    assert coverage_leftovers(project) == []
    data = CoverageData(str(project / ".coverage"))
    data.read()
    pricing = next(name for name in data.measured_files() if name.endswith("pricing.py"))
    if how == "ctrl-c":
        # Results and the coverage report are printed, and the data is said to be partial.
        assert "Coverage: the data is incomplete (the run was interrupted)." in err
        assert 16 in (data.lines(pricing) or [])
    else:
        assert "Coverage:" not in err


BAD_VALUES = [
    (["--cov-fail-under", "lots"], "--cov-fail-under = 'lots' is not a percentage"),
    (["--cov-fail-under", "120"], "--cov-fail-under = '120' is outside 0-100"),
    (["--diff-fail-under", "-1"], "--diff-fail-under = '-1' is outside 0-100"),
    (["--cov-report", "pdf"], "--cov-report = 'pdf' is not a report type"),
    (["--cov-report", "xml:manage.py/out.xml"], "--cov-report xml:manage.py/out.xml cannot"),
    (["--cov-config", "missing.rc"], "= 'missing.rc' is not a file"),
    (["--diff-fail-under", "80", "--diff-base", "nope"], "--diff-base 'nope' needs a git"),
    (["--cov-templates"], "needs django_coverage_plugin, which is not installed"),
]


@pytest.mark.parametrize(("args", "message"), BAD_VALUES, ids=[" ".join(a) for a, _ in BAD_VALUES])
def test_bad_values_stop_before_any_database(project: Path, args: list[str], message: str) -> None:
    if args == ["--cov-templates"] and importlib.util.find_spec("django_coverage_plugin"):
        pytest.skip("django_coverage_plugin is installed here")
    run = run_cov(project, *args)
    assert run.returncode == 1, run.describe()
    assert "Creating test database" not in run.stderr
    errors = [line for line in stderr_lines(run) if line.strip()]
    assert len(errors) == 1, run.describe()
    assert message in errors[0]
    assert not (project / ".coverage").exists()
