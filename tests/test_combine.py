"""The manifest's checks, its round trip, the JUnit merge, the stores and the path remapping
of ``combine``: files in a temporary folder, no Django run."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from django_testkit.combine import merging
from django_testkit.combine.manifest import (
    FILE_NAME,
    CombineError,
    Manifest,
    check_set,
    config_document,
    read,
)
from django_testkit.config import load_config
from django_testkit.cov.merge import moved
from django_testkit.parallel import failures
from django_testkit.parallel.timeline import Bar, Timeline, render, to_document, together


def manifest(index: int | None = 1, total: int = 3, **changes: Any) -> Manifest:
    values: dict[str, Any] = {
        "shard": (index, total) if index else None,
        "split": "abc",
        "selection": {"labels": [], "tags": [], "exclude_tags": [], "patterns": []},
        "whole_selection": True,
        "selected": 10,
        "config": {"cov_branch": None, "cov_fail_under": None},
        "origins": {},
        "versions": {"python": "3.12.1", "django": "5.2.1"},
        "cwd": "/src/app",
        "root": "/src",
        "outcome": {"tests": 3, "failures": 0, "errors": 0, "skipped": 0, "failed": 0},
        "files": {"junit": "junit.xml", "durations": "d.json", "failed": "f.json"},
    }
    values.update(changes)
    return Manifest(**values)


def shards(total: int = 3, **changes: Any) -> list[tuple[Manifest, Path]]:
    return [(manifest(index, total), Path(f"a/{index}")) for index in range(1, total + 1)]


def problem(found: list[tuple[Manifest, Path]]) -> str:
    with pytest.raises(CombineError) as raised:
        check_set(found)
    return str(raised.value)


def test_every_shard_once_is_one_run() -> None:
    check_set(shards())
    check_set([(manifest(None), Path("whole"))])


def test_a_missing_shard_is_named() -> None:
    found = shards()
    assert problem([found[0], found[2]]) == (
        "combine: shard 2/3 is missing (given: shard 1/3 in a/1, shard 3/3 in a/3); pass the "
        "artifacts of every shard."
    )
    assert "shards 2/3, 3/3 are missing" in problem(found[:1])


def test_a_shard_given_twice_is_named() -> None:
    found = shards()
    assert problem([*found, (found[1][0], Path("b/2"))]) == (
        "combine: shard 2/3 is given more than once (a/2, b/2); pass each shard's folder once."
    )


def test_shards_of_other_splits_do_not_mix() -> None:
    found = shards()
    assert "different numbers of shards" in problem([*found[:2], (manifest(3, 4), Path("x"))])
    whole = (manifest(None), Path("w"))
    assert problem([found[0], whole]).startswith("combine: the whole run in w is not a shard")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"versions": {"python": "3.12.1", "django": "5.2.2"}},
            "combine: shard 3/3 (a/3) ran on other versions than shard 1/3 (a/1): "
            "django '5.2.2' vs '5.2.1'; run every shard on the same versions.",
        ),
        (
            {"config": {"cov_branch": True, "cov_fail_under": None}},
            "combine: shard 3/3 (a/3) ran with other options than shard 1/3 (a/1): "
            "--cov-branch True vs None; run every shard with the same options and test labels.",
        ),
        (
            {"selection": {"labels": ["shop"], "tags": [], "exclude_tags": [], "patterns": []}},
            "combine: shard 3/3 (a/3) ran with other options than shard 1/3 (a/1): "
            "labels ['shop'] vs []; run every shard with the same options and test labels.",
        ),
    ],
)
def test_shards_that_ran_otherwise_are_named(changes: dict[str, Any], expected: str) -> None:
    found = shards()
    found[2] = (manifest(3, **changes), found[2][1])
    assert problem(found) == expected


def test_shards_that_split_differently_are_refused() -> None:
    found = shards()
    found[1] = (manifest(2, split="other"), found[1][1])
    assert "shard 2/3 (a/2) split the suite differently from shard 1/3 (a/1)" in problem(found)
    found[1] = (manifest(2, selected=9), found[1][1])
    assert "held 9 and 10 tests" in problem(found)


def test_a_manifest_round_trips_and_gives_the_config_back(tmp_path: Path) -> None:
    config = load_config(
        {"COV_REPORT": ["xml:out/c.xml", "term-missing:skip-covered"], "COV": ["shop"]},
        {},
        {"cov_fail_under": "90", "shard": "1/2"},
    )
    values, origins = config_document(config)
    assert "shard" not in values  # each job names its own
    assert values["cov_report"] == ["xml:out/c.xml", "term-missing:skip-covered"]
    written = manifest(config=values, origins=origins)
    (tmp_path / FILE_NAME).write_text(written.to_json(), encoding="utf-8")
    again = read(tmp_path)
    assert again == written
    rebuilt = again.testkit_config()
    assert rebuilt.cov_report == config.cov_report
    assert rebuilt.cov == ("shop",)
    assert rebuilt.cov_fail_under == 90.0
    assert rebuilt.origin("cov_fail_under") == config.origin("cov_fail_under")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "has no manifest.json (the run did not finish, or this is another folder)"),
        ("{", "manifest.json cannot be read (Expecting property name"),
        ('{"kind": "other"}', "manifest.json is not a django-testkit manifest"),
        ('{"kind": "django-testkit artifacts", "format": 9}', "is in format 9 and this"),
        ('{"kind": "django-testkit artifacts", "format": 1}', "manifest.json is incomplete"),
    ],
)
def test_a_folder_without_a_usable_manifest_is_one_line(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    if content is not None:
        (tmp_path / FILE_NAME).write_text(content, encoding="utf-8")
    with pytest.raises(CombineError, match=r"^combine: ") as raised:
        read(tmp_path)
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(CombineError, match="is not a folder; pass the folders that"):
        read(tmp_path / "nowhere")


JUNIT = """<?xml version='1.0' encoding='utf-8'?>
<testsuites name="django-testkit" tests="{n}" failures="{f}" errors="0" skipped="0" time="1.5">
  <testsuite name="django-testkit" tests="{n}" failures="{f}" errors="0" skipped="0" time="1.5">
    {cases}
  </testsuite>
</testsuites>
"""


def _folder(tmp_path: Path, index: int, cases: list[str], failed: list[str]) -> Path:
    folder = tmp_path / f"s{index}"
    folder.mkdir()
    body = "\n".join(
        f'<testcase classname="app.tests.T{index}" name="{name}" time="0.5">'
        + ("<failure message='x'>boom</failure>" if name in failed else "")
        + "</testcase>"
        for name in cases
    )
    xml = JUNIT.format(n=len(cases), f=len(failed), cases=body)
    (folder / "junit.xml").write_text(xml, encoding="utf-8")
    units = {f"app.tests.T{index}": 1.5 * index}
    (folder / "d.json").write_text(json.dumps({"format": 1, "units": units}), encoding="utf-8")
    ids = [f"app.tests.T{index}.{name}" for name in failed]
    document = {"format": 1, "tests": ids, "groups": []}
    (folder / "f.json").write_text(json.dumps(document), encoding="utf-8")
    return folder


def test_junit_files_become_one_with_a_suite_per_shard(tmp_path: Path) -> None:
    found = [
        (manifest(1, 2), _folder(tmp_path, 1, ["test_a", "test_b"], ["test_b"])),
        (manifest(2, 2), _folder(tmp_path, 2, ["test_c"], [])),
    ]
    text, ran = merging.junit(found)
    from xml.etree import ElementTree

    root = ElementTree.fromstring(text)
    assert (root.get("tests"), root.get("failures"), root.get("time")) == ("3", "1", "3.000")
    names = [suite.get("name") for suite in root.findall("testsuite")]
    assert names == ["django-testkit shard 1/2", "django-testkit shard 2/2"]
    assert ran == {"app.tests.T1.test_a", "app.tests.T1.test_b", "app.tests.T2.test_c"}


def test_the_stores_take_the_union_of_the_shards(tmp_path: Path) -> None:
    found = [
        (manifest(1, 2), _folder(tmp_path, 1, ["test_a", "test_b"], ["test_b"])),
        (manifest(2, 2), _folder(tmp_path, 2, ["test_c"], [])),
    ]
    store = tmp_path / "store" / "durations.json"
    store.parent.mkdir()
    old = {"format": 1, "units": {"app.tests.Gone": 9.0, "app.tests.T2": 7.0}}
    store.write_text(json.dumps(old), encoding="utf-8")
    assert merging.record_durations(found, store, whole=True) == ""
    units = json.loads(store.read_text(encoding="utf-8"))["units"]
    assert units == {"app.tests.T1": 1.5, "app.tests.T2": 3.0}  # a whole run drops Gone
    failed_store = store.with_name("failed.json")
    failures.record(
        failed_store, failures.Failed({"app.tests.T2.test_c", "x.Y.z"}), failures.Failed(), None
    )
    ran = {"app.tests.T1.test_a", "app.tests.T1.test_b", "app.tests.T2.test_c"}
    union = merging.record_failures(found, failed_store, ran, complete=True)
    assert union.tests == {"app.tests.T1.test_b"}
    # What ran and passed leaves the store; what did not run stays.
    assert failures.load(failed_store).tests == {"app.tests.T1.test_b", "x.Y.z"}


def test_paths_of_another_checkout_are_moved() -> None:
    assert moved("/ci/one/shop/models.py", "/ci/one", "/here") == "/here/shop/models.py"
    assert moved("/ci/one", "/ci/one/", "/here") == "/here"
    assert moved("/ci/oneother/x.py", "/ci/one", "/here") == "/ci/oneother/x.py"
    assert moved(["/ci/one/**/tests/**", 3], "/ci/one", "/here") == ["/here/**/tests/**", 3]
    assert moved(True, "/ci/one", "/here") is True


def test_timelines_of_shards_are_lane_groups_from_their_own_starts() -> None:
    one = Timeline(100.0, 110.0, [("tests", 101.0, 109.0)], [Bar("worker 1", "a.T", 101, 109)])
    two = Timeline(
        500.0,
        504.0,
        [("tests", 500.5, 503.5)],
        [Bar("in-process", "b.U", 500.5, 503.5, "failed")],
    )
    combined = together(
        [("shard 1/2", to_document(one)), ("shard 2/2", to_document(two))], "title"
    )
    assert combined.workers == 2
    assert (combined.started, combined.ended) == (0.0, 10.0)
    assert combined.tests_phase() == (0.5, 9.0)
    lanes = sorted({bar.lane for bar in combined.bars})
    assert lanes == ["shard 1/2 · worker 1", "shard 2/2 · in-process"]
    page = render(combined)
    order = [
        page.index(text)
        for text in (
            "shard 1/2 · phases",
            "shard 1/2 · worker 1",
            "shard 2/2 · phases",
            "shard 2/2 · in-process",
        )
    ]
    assert order == sorted(order)
    assert "<script" not in page
    assert dataclasses.asdict(combined)["phase_rows"]["shard 2/2"] == [("tests", 0.5, 3.5)]


def test_coverage_options_for_shards_without_coverage_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django_testkit.cli import main

    folders = []
    for index in (1, 2):
        folder = _folder(tmp_path, index, ["test_a"], [])
        (folder / FILE_NAME).write_text(manifest(index, 2).to_json(), encoding="utf-8")
        folders.append(str(folder))
    monkeypatch.chdir(tmp_path)
    assert main(["combine", *folders, "--cov-fail-under", "80"]) == 1
    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        "combine: --cov-fail-under given, but the shards measured no coverage; run them "
        "with --cov.\n",
    )
    # Without coverage options the shards combine: outcomes only.
    assert main(["combine", *folders, "--no-record"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[1:] == ["OK", "JUnit XML of 2 shard(s) written to junit.xml"]
    assert (tmp_path / "junit.xml").is_file()


def test_a_report_that_cannot_be_written_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django_testkit.cli import main

    folder = _folder(tmp_path, 1, ["test_a"], [])
    (folder / FILE_NAME).write_text(manifest(None).to_json(), encoding="utf-8")
    (tmp_path / "taken").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["combine", str(folder), "--junit-xml", "taken", "--no-record"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("combine: could not write taken (it is a directory")
    assert err.count("\n") == 1
