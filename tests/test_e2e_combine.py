"""``--artifacts`` and ``python -m django_testkit combine`` end to end on the example project.

Shards run one after another, each in its own copy of the project (another checkout),
then ``combine`` runs in a third: the union of the shards' outcomes is a full run's,
test for test, and the combined coverage data is the full run's, line for line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest
from coverage.data import CoverageData

from tests.support.projects import EXAMPLE_PROJECT, Run, copy_project, run_manage, run_tests

SHARDS = 3
FAILING = """
from django.test import SimpleTestCase


class CombineFails(SimpleTestCase):
    def test_fails(self):
        self.assertEqual(1, 2)
"""


def combine(project: Path, *args: str) -> Run:
    """``python -m django_testkit combine ARGS`` in ``project``."""
    return run_manage(project, "django_testkit", "combine", *args, script="-m")


def cases(path: Path) -> dict[str, str]:
    """Test id -> how it ended, from a JUnit file."""
    found = {}
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        ending = next((child.tag for child in case if child.tag != "system-out"), "passed")
        found[f"{case.get('classname')}.{case.get('name')}"] = ending
    return found


def lines(path: Path) -> dict[str, list[int]]:
    data = CoverageData(str(path))
    data.read()
    return {name: sorted(data.lines(name) or []) for name in data.measured_files()}


def _total(run: Run) -> str:
    found = re.search(r"^TOTAL .*$", run.stdout, re.MULTILINE)
    assert found is not None, run.describe()
    return found[0]


def shard_runs(
    tmp_path: Path, store: Path, backend: str, *extra: str, prepare: object = None
) -> list[Path]:
    """Run every shard in its own copy of the project; their artifacts folders."""
    folders = []
    for index in range(1, SHARDS + 1):
        checkout = copy_project(EXAMPLE_PROJECT, tmp_path / f"checkout-{index}")
        if callable(prepare):
            prepare(checkout)
        (checkout / ".testkit").mkdir()
        shutil.copy(store, checkout / ".testkit" / "durations.json")
        folder = tmp_path / "artifacts" / f"shard-{index}"
        workers = ("--parallel", "2") if index == 2 else ()
        run = run_tests(
            checkout,
            "--cov",
            "--shard",
            f"{index}/{SHARDS}",
            "--artifacts",
            str(folder),
            *workers,
            *extra,
            backend=backend,
        )
        assert run.returncode in (0, 1), run.describe()
        assert (folder / "manifest.json").is_file(), run.describe()
        folders.append(folder)
    return folders


def test_shards_in_other_checkouts_combine_into_the_full_run(tmp_path: Path, backend: str) -> None:
    main = copy_project(EXAMPLE_PROJECT, tmp_path / "main")
    whole = run_tests(main, "--cov", "--parallel", "2", "--junit-xml", "full.xml", backend=backend)
    assert whole.returncode == 0, whole.describe()
    full_data = lines(main / ".coverage")
    full_cases = cases(main / "full.xml")
    store = main / ".testkit" / "durations.json"
    recorded = json.loads(store.read_text(encoding="utf-8"))["units"]
    store.unlink()
    (tmp_path / "stored.json").write_text(
        json.dumps({"format": 1, "units": recorded}), encoding="utf-8"
    )
    folders = shard_runs(tmp_path, tmp_path / "stored.json", backend)
    (main / ".coverage").unlink()

    run = combine(
        main, *map(str, folders), "--junit-xml", "combined.xml", "--timeline", "shards.html"
    )
    assert run.returncode == 0, run.describe()
    assert run.stdout.startswith(f"Combined {SHARDS} shards ("), run.describe()
    assert "\nOK\n" in run.stdout
    assert _total(run) == _total(whole)
    # Paths from the shards' checkouts now name files here, and every line is the same.
    assert lines(main / ".coverage") == full_data
    assert all(name.startswith(str(main.resolve())) for name in full_data)
    assert cases(main / "combined.xml") == full_cases
    # The stores are written for the next split: every class measured by some shard.
    assert set(json.loads(store.read_text(encoding="utf-8"))["units"]) == set(recorded)
    assert not (main / ".testkit" / "failed.json").exists()  # nothing failed, ever
    page = (main / "shards.html").read_text(encoding="utf-8")
    for index in range(1, SHARDS + 1):
        assert f">shard {index}/{SHARDS} · phases<" in page
    # Every lane of every shard is drawn in that shard's group (shard 2 ran with
    # workers, but how many it used depends on how many classes the split gave it).
    for index, folder in enumerate(folders, start=1):
        shard_lanes = {
            bar[0] for bar in json.loads((folder / "timeline.json").read_text())["bars"]
        }
        assert shard_lanes
        for lane in shard_lanes:
            assert f">shard {index}/{SHARDS} · {lane}<" in page
    assert f">shard 1/{SHARDS} · in-process<" in page


def test_combine_has_a_single_runs_exit_statuses(tmp_path: Path) -> None:
    main = copy_project(EXAMPLE_PROJECT, tmp_path / "main")
    store = tmp_path / "stored.json"
    store.write_text('{"format": 1, "units": {}}', encoding="utf-8")
    folders = [str(folder) for folder in shard_runs(tmp_path, store, "sqlite")]

    missed = combine(main, *folders, "--cov-fail-under", "99", "--cov-report=")
    assert missed.returncode == 2, missed.describe()
    assert (
        missed.stderr.strip()
        .splitlines()[-1]
        .startswith("Coverage failure: total: 92% is less than 99%")
    )
    met = combine(main, *folders, "--cov-fail-under", "90", "--no-record")
    assert met.returncode == 0, met.describe()

    def add_failing_test(checkout: Path) -> None:
        (checkout / "orders" / "tests" / "test_combine_fails.py").write_text(FAILING)

    shutil.rmtree(tmp_path / "artifacts")
    for index in range(1, SHARDS + 1):
        shutil.rmtree(tmp_path / f"checkout-{index}")
    folders = [str(f) for f in shard_runs(tmp_path, store, "sqlite", prepare=add_failing_test)]
    failed = combine(main, *folders, "--cov-fail-under", "99")
    assert failed.returncode == 1, failed.describe()
    assert "\nFAILED (failures=1)\n" in failed.stdout
    assert re.search(r"^  shard \d/3: 1 failed or not run\.$", failed.stdout, re.MULTILINE)
    stored = json.loads((main / ".testkit" / "failed.json").read_text(encoding="utf-8"))
    assert stored["tests"] == ["orders.tests.test_combine_fails.CombineFails.test_fails"]
    ending = cases(main / "junit.xml")["orders.tests.test_combine_fails.CombineFails.test_fails"]
    assert ending == "failure"


def test_folders_that_are_not_one_run_are_one_line(tmp_path: Path) -> None:
    main = copy_project(EXAMPLE_PROJECT, tmp_path / "main")
    store = tmp_path / "stored.json"
    store.write_text('{"format": 1, "units": {}}', encoding="utf-8")
    one, two, three = map(str, shard_runs(tmp_path, store, "sqlite"))
    other = tmp_path / "artifacts" / "other-2"
    run = run_tests(
        tmp_path / "checkout-2",
        "--cov",
        "--cov-branch",
        "--shard",
        "2/3",
        "--artifacts",
        str(other),
    )
    assert run.returncode == 0, run.describe()
    expected = {
        (one, three): f"combine: shard 2/3 is missing (given: shard 1/3 in {one}, shard 3/3 "
        f"in {three}); pass the artifacts of every shard.",
        (one, two, two, three): f"combine: shard 2/3 is given more than once ({two}, {two}); "
        "pass each shard's folder once.",
        (one, str(other), three): f"combine: shard 2/3 ({other}) ran with other options than "
        f"shard 1/3 ({one}): --cov-branch True vs None; run every shard with the same options "
        "and test labels.",
    }
    for folders, line in expected.items():
        refused = combine(main, *folders)
        assert refused.returncode == 1, refused.describe()
        assert refused.stderr.strip() == line
        assert refused.stdout == ""
    assert not (main / "junit.xml").exists()
    assert not (main / ".coverage").exists()


def test_a_cut_short_folder_has_no_manifest_and_fails_the_run(tmp_path: Path) -> None:
    project = copy_project(EXAMPLE_PROJECT, tmp_path / "main")
    folder = tmp_path / "artifacts"
    folder.mkdir()
    os.mkfifo(folder / "junit.xml")
    run = run_tests(project, "--artifacts", str(folder), "catalog")
    assert run.returncode == 1, run.describe()
    assert re.search(
        rf"^The artifacts could not be written to {re.escape(str(folder))} \(.*junit\.xml is "
        r"not a regular file, so nothing was written to it\); this run counts as failed",
        run.stderr,
        re.MULTILINE,
    ), run.describe()
    assert not (folder / "manifest.json").exists()
    refused = combine(project, str(folder))
    assert refused.returncode == 1
    assert "has no manifest.json (the run did not finish" in refused.stderr


@pytest.mark.parametrize("value", ["manage.py", "/proc/version"])
def test_a_bad_artifacts_folder_stops_before_any_database(tmp_path: Path, value: str) -> None:
    project = copy_project(EXAMPLE_PROJECT, tmp_path / "main")
    run = run_tests(project, "--artifacts", value)
    assert run.returncode == 1, run.describe()
    assert (
        f"ConfigurationError: --artifacts = {value!r} cannot take the run's artifacts: it is "
        "not a directory; give a folder" in run.stderr
    ), run.describe()
    assert "Creating test database" not in run.stderr
