"""The project directory: one rule for the durations file and coverage's default source."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from django_testkit.files import project_dir


def override_settings(monkeypatch: pytest.MonkeyPatch, **values: object) -> None:
    # Settings stand in for the project's; the process's own settings stay unconfigured.
    monkeypatch.setattr("django.conf.settings", SimpleNamespace(**values))


def test_manage_py_directory_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "project").mkdir()
    manage = tmp_path / "project" / "manage.py"
    manage.write_text("")
    (tmp_path / "base").mkdir()
    monkeypatch.setattr(sys, "argv", [str(manage), "test"])
    override_settings(monkeypatch, BASE_DIR=tmp_path / "base")
    assert project_dir() == (tmp_path / "project").resolve()


def test_base_dir_when_not_run_through_manage_py(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["/usr/bin/django-admin", "test"])
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base").mkdir()
    override_settings(monkeypatch, BASE_DIR=str(tmp_path / "base"))
    assert project_dir() == (tmp_path / "base").resolve()


def test_current_directory_otherwise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["-c"])
    monkeypatch.chdir(tmp_path)
    override_settings(monkeypatch, BASE_DIR=str(tmp_path / "missing"))
    assert project_dir() == tmp_path
    # A file named manage.py that does not exist is not a project.
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "manage.py")])
    assert project_dir() == tmp_path
