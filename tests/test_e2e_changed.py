"""``--changed`` end to end: the example project in a real git repository, its map recorded
once by a ``--record-map --parallel 2`` run, then each test edits a copy and runs what
changed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.support.mutations import mutants, project_sources, sample
from tests.support.projects import EXAMPLE_PROJECT, Run, copy_project, run_tests

TOTAL = 68
SUMMARY = re.compile(r"^Changed: .*$", re.MULTILINE)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project committed to git, with the map of a measured parallel run."""
    project = copy_project(EXAMPLE_PROJECT, tmp_path_factory.mktemp("changed") / "project")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "initial")
    # --record-map: on Python 3.12+ a bare --cov measures with sys.monitoring, and no map.
    run = run_tests(project, "--record-map", "--parallel", "2", "--cov-report=")
    assert run.returncode == 0, run.describe()
    assert (project / ".testkit" / "map.json").is_file(), run.describe()
    return project


@pytest.fixture
def project(recorded: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(recorded, tmp_path / "project", symlinks=True))


@pytest.mark.parametrize(
    ("args", "env", "recorded"),
    [
        # Coverage's default core: the C tracer before Python 3.12, sys.monitoring after.
        (("--cov",), {}, sys.version_info < (3, 12)),
        (("--cov",), {"TESTKIT_RECORD_MAP": "0"}, False),
        (("--record-map",), {}, True),
    ],
    ids=["cov", "cov-never", "record-map"],
)
def test_which_runs_record_the_map(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], recorded: bool
) -> None:
    project = copy_project(EXAMPLE_PROJECT, tmp_path / "project")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "initial")
    run = run_tests(project, "catalog.tests.test_utils", *args, "--cov-report=", env=env)
    assert run.returncode == 0, run.describe()
    assert (project / ".testkit" / "map.json").is_file() is recorded


def summary(run: Run) -> str:
    found = SUMMARY.search(run.stdout + run.stderr)
    assert found is not None, run.describe()
    return found[0]


def ran(run: Run) -> int:
    found = re.search(r"^Ran (\d+) tests?", run.stderr, re.MULTILINE)
    assert found is not None, run.describe()
    return int(found[1])


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def head(project: Path) -> str:
    return git(project, "rev-parse", "HEAD").strip()[:8]


def test_nothing_changed_runs_nothing(project: Path) -> None:
    run = run_tests(project, "--changed")
    assert run.returncode == 0, run.describe()
    assert summary(run) == (
        f"Changed: 0 files since {head(project)}; running 0 of {TOTAL} tests (0 classes); "
        f"{TOTAL} not affected."
    )
    assert ran(run) == 0


def test_a_changed_function_runs_the_classes_that_ran_it(project: Path) -> None:
    edit(
        project / "orders" / "views.py",
        'select_related("product")',
        'select_related("product").all()',
    )
    run = run_tests(project, "--changed", "-v", "2")
    assert run.returncode == 0, run.describe()
    assert summary(run) == (
        f"Changed: 1 file since {head(project)}; running 5 of {TOTAL} tests (1 class); "
        f"{TOTAL - 5} not affected."
    )
    reason = "it ran orders/views.py:order_detail, which changed"
    assert f"  orders.tests.test_views.OrderViewTests: {reason}" in run.stdout
    assert ran(run) == 5


def test_a_breaking_change_fails_the_changed_run(project: Path) -> None:
    edit(
        project / "orders" / "views.py",
        "get_object_or_404(Order, pk=pk)",
        "get_object_or_404(Order, pk=pk + 1)",
    )
    run = run_tests(project, "--changed", "--parallel", "2")
    assert run.returncode == 1, run.describe()
    assert "running 5 of" in summary(run)


@pytest.mark.parametrize(
    ("path", "old", "new", "why"),
    [
        (
            "config/settings.py",
            "USE_TZ = True",
            "USE_TZ = False",
            "the settings file config/settings.py changed",
        ),
        (
            "templates/base.html",
            "</body>",
            "<p>footer</p></body>",
            "templates/base.html changed, and the map does not follow files that are not Python",
        ),
        (
            "orders/views.py",
            "class OrderCreateView(FormView):",
            "LIMIT = 3\n\n\nclass OrderCreateView(FormView):",
            "module-level code of orders/views.py changed, and Django imports it at start-up "
            "(through config/settings.py)",
        ),
    ],
)
def test_what_the_map_cannot_follow_runs_everything(
    project: Path, path: str, old: str, new: str, why: str
) -> None:
    edit(project / path, old, new)
    run = run_tests(project, "--changed")
    assert run.returncode == 0, run.describe()
    assert (
        summary(run) == f"Changed: 1 file since {head(project)}; running all {TOTAL} tests: {why}."
    )
    assert ran(run) == TOTAL


def test_a_migration_runs_everything(project: Path) -> None:
    migration = project / "orders" / "migrations" / "0003_backfill_order_totals.py"
    migration.write_text(migration.read_text(encoding="utf-8") + "\n# reviewed\nX = 1\n")
    run = run_tests(project, "--changed")
    assert summary(run) == (
        f"Changed: 1 file since {head(project)}; running all {TOTAL} tests: the migration "
        "orders/migrations/0003_backfill_order_totals.py changed."
    )


def test_a_map_of_other_settings_runs_everything(project: Path) -> None:
    path = project / ".testkit" / "map.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["configuration"] = "other.settings"
    path.write_text(json.dumps(document), encoding="utf-8")
    run = run_tests(project, "--changed")
    assert summary(run) == (
        f"Changed: running all {TOTAL} tests: the change map was recorded with settings "
        "'other.settings'."
    )


def test_an_edited_test_module_runs_its_classes(project: Path) -> None:
    edit(
        project / "orders" / "tests" / "test_views.py",
        "def test_form_lists",
        "def test_form_shows",
    )
    run = run_tests(project, "--changed", "-v", "2")
    assert run.returncode == 0, run.describe()
    assert "running 5 of" in summary(run)
    assert "OrderViewTests: its test module orders/tests/test_views.py changed" in run.stdout


def test_it_narrows_labels_k_and_shards(project: Path) -> None:
    edit(
        project / "orders" / "views.py",
        'select_related("product")',
        'select_related("product").all()',
    )
    edit(
        project / "catalog" / "utils.py",
        "def ",
        "def ",
    )
    labelled = run_tests(project, "orders", "-k", "detail", "--changed")
    assert summary(labelled).startswith(f"Changed: 1 file since {head(project)}; running ")
    assert ran(labelled) == len(
        re.findall(
            r"def test_\w*detail", (project / "orders" / "tests" / "test_views.py").read_text()
        )
    )
    shards = [run_tests(project, "--changed", "--shard", f"{k}/2") for k in (1, 2)]
    assert sorted(ran(run) for run in shards) == [0, 5]


def test_a_module_only_tests_import_selects_its_importers(project: Path) -> None:
    edit(project / "orders" / "reports.py", "from", "LIMIT = 3\nfrom")
    run = run_tests(project, "--changed", "-v", "2")
    assert run.returncode == 0, run.describe()
    assert "running 4 of" in summary(run)
    assert "orders.tests.test_reports.SlowReportTests: it uses orders/reports.py" in run.stdout


def test_a_new_test_module_runs_its_tests(project: Path) -> None:
    (project / "orders" / "tests" / "test_new.py").write_text(
        "from django.test import SimpleTestCase\n\n\nclass NewTests(SimpleTestCase):\n"
        "    def test_one(self):\n        pass\n",
        encoding="utf-8",
    )
    run = run_tests(project, "--changed", "-v", "2")
    assert run.returncode == 0, run.describe()
    assert summary(run) == (
        f"Changed: 1 file since {head(project)}; running 1 of {TOTAL + 1} tests (1 class); "
        f"{TOTAL} not affected."
    )
    assert (
        "orders.tests.test_new.NewTests: its test module orders/tests/test_new.py changed"
        in run.stdout
    )


def test_without_a_map_everything_runs_and_says_why(project: Path) -> None:
    (project / ".testkit" / "map.json").unlink()
    run = run_tests(project, "--changed")
    assert run.returncode == 0, run.describe()
    assert summary(run) == (
        f"Changed: running all {TOTAL} tests: there is no change map at "
        f"{(project / '.testkit' / 'map.json').resolve()} yet (--record-map records one, and "
        "so does --cov where coverage uses its C tracer)."
    )


def test_outside_git_everything_runs(project: Path) -> None:
    shutil.rmtree(project / ".git")
    run = run_tests(project, "--changed")
    assert (
        summary(run)
        == f"Changed: running all {TOTAL} tests: the project is not in a git repository."
    )


def test_a_base_that_is_no_commit_is_one_line_before_any_database(project: Path) -> None:
    run = run_tests(project, "--changed", "no-such-branch")
    assert run.returncode == 1, run.describe()
    assert run.stderr.strip().splitlines()[-1] == (
        "ConfigurationError: --changed / settings.TESTKIT['CHANGED'] = 'no-such-branch' is not "
        "a commit in the git "
        f"repository at {project.resolve()}; use a branch, tag or commit such as origin/main."
    )
    assert "Creating test database" not in run.stderr
    assert "Found" not in run.stderr
    # A test label taken for REF (a bare --changed takes an optional value) is named so.
    label = run_tests(project, "--changed", "orders")
    assert (
        label.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "; if 'orders' is a test label, put it before --changed (--changed takes an "
            "optional REF)."
        )
    )


def test_a_base_adds_what_changed_since_it(project: Path) -> None:
    edit(
        project / "orders" / "views.py",
        'select_related("product")',
        'select_related("product").all()',
    )
    git(project, "commit", "-qam", "views")
    # The map's state is the first commit: the committed change is seen either way.
    assert "running 5 of" in summary(run_tests(project, "--changed"))
    edit(
        project / "catalog" / "views.py",
        "def ",
        "def helper():\n    return 1\n\n\ndef ",
    )
    run = run_tests(project, "--changed", "HEAD~1", "-v", "2")
    assert "Changed: 2 files since HEAD~1; running all" in summary(run)


def test_with_last_failed_runs_the_union(project: Path) -> None:
    failing = project / "catalog" / "tests" / "test_zz_fails.py"
    failing.write_text(
        "from django.test import SimpleTestCase\n\n\nclass Fails(SimpleTestCase):\n"
        "    def test_fails(self):\n        self.fail('no')\n",
        encoding="utf-8",
    )
    assert run_tests(project).returncode == 1
    failing.unlink()
    (project / "catalog" / "tests" / "test_zz_fails.py").write_text(
        "from django.test import SimpleTestCase\n\n\nclass Fails(SimpleTestCase):\n"
        "    def test_fails(self):\n        pass\n",
        encoding="utf-8",
    )
    git(project, "add", "-A")
    git(project, "commit", "-qm", "a test")
    edit(
        project / "orders" / "views.py",
        'select_related("product")',
        'select_related("product").all()',
    )
    run = run_tests(project, "--changed", "--last-failed", "--parallel", "2")
    assert run.returncode == 0, run.describe()
    # OrderViewTests (5, changed) and the test that failed last time (also new to the map).
    assert ran(run) == 6


def test_a_measured_changed_run_moves_the_map_on(project: Path) -> None:
    edit(
        project / "orders" / "views.py",
        'select_related("product")',
        'select_related("product").all()',
    )
    first = run_tests(project, "--changed", "--record-map", "--cov-report=")
    assert ran(first) == 5, first.describe()
    document = json.loads((project / ".testkit" / "map.json").read_text(encoding="utf-8"))
    assert document["uncommitted"].keys() >= {"orders/views.py"}
    again = run_tests(project, "--changed")
    assert "running 0 of" in summary(again), again.describe()


def _failed(path: Path) -> set[str]:
    found = set()
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        if any(child.tag in ("failure", "error") for child in case):
            found.add(f"{case.get('classname')}.{case.get('name')}")
    return found


def _ran(path: Path) -> set[str]:
    return {
        f"{case.get('classname')}.{case.get('name')}"
        for case in ElementTree.parse(path).getroot().iter("testcase")
    }


def test_no_mutation_fails_a_test_that_changed_does_not_run(project: Path) -> None:
    """A smaller run of bench/mutations.py: every test a mutation makes fail, --changed runs."""
    found = mutants(project, project_sources(project))
    misses = []
    for mutant in sample(found, 24, seed=7):
        original = mutant.apply(project)
        try:
            run_tests(project, "--junit-xml", "full.xml")
            changed = run_tests(project, "--changed", "--junit-xml", "changed.xml")
            if not (project / "full.xml").exists():
                # The project no longer starts: a run of what changed must not pass either.
                if changed.returncode == 0:
                    misses.append(f"{mutant.describe()}: the project does not start, yet passed")
                continue
            missed = _failed(project / "full.xml") - _ran(project / "changed.xml")
            if missed:
                misses.append(f"{mutant.describe()}: {sorted(missed)}")
        finally:
            (project / mutant.path).write_text(original, encoding="utf-8")
            for name in ("full.xml", "changed.xml"):
                (project / name).unlink(missing_ok=True)
    assert misses == []


def test_fifos_in_the_project_and_the_store_do_not_hang_it(project: Path) -> None:
    """A tracked file replaced by a FIFO, and FIFOs where the stores are expected."""
    template = project / "templates" / "base.html"
    template.unlink()
    os.mkfifo(template)
    run = run_tests(project, "--changed", "--last-failed", "catalog.tests.test_utils")
    assert "templates/base.html changed, and the map does not follow files" in summary(run)
    template.unlink()
    git(project, "checkout", "--", "templates/base.html")
    for name in ("map.json", "failed.json"):
        (project / ".testkit" / name).unlink(missing_ok=True)
        os.mkfifo(project / ".testkit" / name)
    run = run_tests(project, "--changed", "--last-failed")
    assert run.returncode == 0, run.describe()
    assert summary(run).endswith("is not a regular file that can be read.")
