"""Unit tests of the durations store: files in a temporary directory, no Django."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from django_testkit.parallel.durations import (
    DEFAULT_PATH,
    FORMAT,
    load_durations,
    merge_durations,
    save_durations,
)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / ".testkit" / "durations.json"


def files_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_default_path_is_relative_under_the_testkit_directory() -> None:
    assert DEFAULT_PATH.parts == (".testkit", "durations.json")
    assert not DEFAULT_PATH.is_absolute()


def test_saved_durations_load_back(store: Path) -> None:
    durations = {"shop.tests.ItemTests": 0.123, "shop.tests.CartTests": 2.5, "x.T": 0.0}
    save_durations(store, durations)
    assert load_durations(store) == (durations, None)


def test_saved_file_is_sorted_indented_rounded_and_ends_with_a_newline(store: Path) -> None:
    save_durations(store, {"b.T": 1.23456789, "a.T": 2})
    assert store.read_text(encoding="utf-8") == (
        '{\n  "format": 1,\n  "units": {\n    "a.T": 2.0,\n    "b.T": 1.234568\n  }\n}\n'
    )


def test_save_creates_missing_directories_and_leaves_no_temporary_file(store: Path) -> None:
    save_durations(store, {"a.T": 1.0})
    save_durations(store, {"a.T": 2.0})
    assert files_in(store.parent) == ["durations.json"]
    assert load_durations(store) == ({"a.T": 2.0}, None)


def test_failed_rename_keeps_the_old_file_and_removes_the_temporary_one(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_durations(store, {"a.T": 1.0})
    before = store.read_bytes()

    def refuse(source: object, target: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        save_durations(store, {"a.T": 9.0})
    assert store.read_bytes() == before
    assert files_in(store.parent) == ["durations.json"]


def test_failed_write_keeps_the_old_file_and_removes_the_temporary_one(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_durations(store, {"a.T": 1.0})
    before = store.read_bytes()

    def fail(descriptor: int) -> None:
        raise OSError("I/O error")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="I/O error"):
        save_durations(store, {"a.T": 9.0})
    assert store.read_bytes() == before
    assert files_in(store.parent) == ["durations.json"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.5])
def test_save_refuses_a_duration_that_is_not_seconds_and_writes_nothing(
    store: Path, bad: float
) -> None:
    save_durations(store, {"a.T": 1.0})
    before = store.read_bytes()
    with pytest.raises(ValueError, match=r"'b\.T'"):
        save_durations(store, {"a.T": 2.0, "b.T": bad})
    assert store.read_bytes() == before
    assert files_in(store.parent) == ["durations.json"]


def test_missing_file_gives_no_durations_and_no_warning(store: Path) -> None:
    assert load_durations(store) == ({}, None)


def test_integer_seconds_load_as_floats(store: Path) -> None:
    store.parent.mkdir()
    store.write_text(json.dumps({"format": FORMAT, "units": {"a.T": 3}}), encoding="utf-8")
    durations, warning = load_durations(store)
    assert warning is None
    assert durations == {"a.T": 3.0}
    assert isinstance(durations["a.T"], float)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "it is not valid JSON (Expecting value: line 1 column 1 (char 0))"),
        ("{not json", "it is not valid JSON"),
        (b"\xff\xfe\x00garbage", "it is not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "it is not valid JSON"),
        ('[{"a.T": 1.0}]', 'it holds a list, not an object with "format" and "units"'),
        ('"durations"', "it holds a string"),
        ('{"units": {"a.T": 1.0}}', 'it has no "format" number'),
        ('{"format": 0, "units": {}}', "it is in format 0; this version reads format 1"),
        ('{"format": "1", "units": {}}', "it is in format '1'"),
        ('{"format": true, "units": {}}', "it is in format True"),
        ('{"format": 1}', 'its "units" is null, not an object'),
        ('{"format": 1, "units": [["a.T", 1.0]]}', 'its "units" is a list, not an object'),
    ],
)
def test_unusable_file_is_ignored_with_a_one_line_warning(
    store: Path, content: str | bytes, problem: str
) -> None:
    store.parent.mkdir()
    if isinstance(content, bytes):
        store.write_bytes(content)
    else:
        store.write_text(content, encoding="utf-8")
    durations, warning = load_durations(store)
    assert durations == {}
    assert warning is not None
    assert warning.startswith(f"Ignoring the durations file {store}: ")
    assert problem in warning
    assert warning.endswith("; it will be rewritten after this run.")
    assert "\n" not in warning


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('"abc"', "'abc'"),
        ("-5", "-5"),
        ("-1.5", "-1.5"),
        ("NaN", "nan"),
        ("Infinity", "inf"),
        ("1e999", "inf"),
        ("true", "True"),
        ("null", "None"),
    ],
)
def test_one_bad_entry_is_dropped_alone_with_a_one_line_warning(
    store: Path, value: str, shown: str
) -> None:
    store.parent.mkdir()
    store.write_text(
        f'{{"format": 1, "units": {{"a.T": 1.0, "b.T": {value}, "c.T": 2}}}}', encoding="utf-8"
    )
    durations, warning = load_durations(store)
    assert durations == {"a.T": 1.0, "c.T": 2.0}
    assert warning == (
        f"Dropping entry from the durations file {store}, not a number of seconds >= 0: "
        f"'b.T' ({shown}); the other durations are used."
    )


def test_many_bad_entries_are_one_line_listing_a_few(store: Path) -> None:
    store.parent.mkdir()
    units = {f"bad{n}.T": "x" for n in range(8)} | {"good.T": 1.5}
    store.write_text(json.dumps({"format": 1, "units": units}), encoding="utf-8")
    durations, warning = load_durations(store)
    assert durations == {"good.T": 1.5}
    assert warning is not None
    assert "\n" not in warning
    assert warning.startswith(f"Dropping 8 entries from the durations file {store}, ")
    assert "'bad4.T' ('x') and 3 more;" in warning


def test_dropped_entries_are_gone_from_the_file_after_the_next_save(store: Path) -> None:
    store.parent.mkdir()
    store.write_text('{"format": 1, "units": {"a.T": 1.0, "b.T": "abc"}}', encoding="utf-8")
    durations, _ = load_durations(store)
    save_durations(store, merge_durations(durations, {"c.T": 0.5}, None))
    assert load_durations(store) == ({"a.T": 1.0, "c.T": 0.5}, None)


def test_a_file_of_a_newer_format_is_left_alone_and_said_so(store: Path) -> None:
    store.parent.mkdir()
    newer = '{"format": 2, "units": {"a.T": {"mean": 1.0}}}'
    store.write_text(newer, encoding="utf-8")
    durations, warning = load_durations(store)
    assert durations == {}
    assert warning == (
        f"Leaving the durations file {store} alone: it is in format 2, newer than this "
        "version reads (format 1); this run's durations are not recorded."
    )
    assert save_durations(store, {"a.T": 3.0}) is False
    assert store.read_text(encoding="utf-8") == newer
    assert files_in(store.parent) == ["durations.json"]


def test_a_file_of_an_older_format_is_rewritten(store: Path) -> None:
    store.parent.mkdir()
    store.write_text('{"format": 0, "units": {}}', encoding="utf-8")
    assert save_durations(store, {"a.T": 3.0}) is True
    assert load_durations(store) == ({"a.T": 3.0}, None)


def test_a_fifo_is_not_read_and_gets_the_durations(store: Path) -> None:
    from tests.test_files_safety import FifoReader

    store.parent.mkdir()
    os.mkfifo(store)
    assert load_durations(store) == ({}, None)  # no writer: reading would hang
    reader = FifoReader(store)
    assert save_durations(store, {"a.T": 1.0}) is True
    assert json.loads(reader.wait()) == {"format": 1, "units": {"a.T": 1.0}}


def test_a_symlink_to_a_shared_store_is_kept_and_the_store_updated(tmp_path: Path) -> None:
    shared = tmp_path / "cache" / "durations.json"
    save_durations(shared, {"a.T": 1.0})
    link = tmp_path / "durations.json"
    link.symlink_to(shared)
    assert load_durations(link) == ({"a.T": 1.0}, None)
    save_durations(link, {"a.T": 2.0})
    assert link.is_symlink()
    assert load_durations(shared) == ({"a.T": 2.0}, None)


def test_huge_bad_value_is_shortened_in_the_warning(store: Path) -> None:
    store.parent.mkdir()
    store.write_text(json.dumps({"format": 1, "units": {"a.T": "x" * 5000}}), encoding="utf-8")
    _, warning = load_durations(store)
    assert warning is not None
    assert len(warning) < 300


def test_unreadable_path_is_ignored_with_a_warning(store: Path) -> None:
    store.mkdir(parents=True)
    durations, warning = load_durations(store)
    assert durations == {}
    assert warning is not None
    assert f"Ignoring the durations file {store}: it cannot be read (" in warning
    assert "\n" not in warning


def test_a_loop_of_links_is_ignored_with_a_warning(store: Path) -> None:
    store.parent.mkdir()
    store.symlink_to(store)
    durations, warning = load_durations(store)
    assert durations == {}
    assert warning is not None
    assert f"Ignoring the durations file {store}: it cannot be read (" in warning


def test_warning_shows_a_relative_path_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    DEFAULT_PATH.parent.mkdir()
    DEFAULT_PATH.write_text("", encoding="utf-8")
    assert load_durations(DEFAULT_PATH) == (
        {},
        "Ignoring the durations file .testkit/durations.json: it is not valid JSON "
        "(Expecting value: line 1 column 1 (char 0)); it will be rewritten after this run.",
    )


def test_merge_updates_old_durations_with_measured_ones() -> None:
    merged = merge_durations({"a.T": 1.0, "b.T": 2.0}, {"b.T": 3.0, "c.T": 4.0}, None)
    assert merged == {"a.T": 1.0, "b.T": 3.0, "c.T": 4.0}


def test_merge_drops_units_that_no_longer_exist() -> None:
    old = {"a.T": 1.0, "gone.T": 2.0, "b.T": 5.0}
    merged = merge_durations(old, {"a.T": 1.5}, present={"a.T", "b.T"})
    assert merged == {"a.T": 1.5, "b.T": 5.0}


def test_merge_keeps_measured_units_even_when_not_listed_as_present() -> None:
    merged = merge_durations({"a.T": 1.0}, {"new.T": 0.5}, present=set())
    assert merged == {"new.T": 0.5}


def test_merge_leaves_its_inputs_alone() -> None:
    old = {"a.T": 1.0}
    measured = {"a.T": 2.0}
    merge_durations(old, measured, present=[])
    assert old == {"a.T": 1.0}
    assert measured == {"a.T": 2.0}
