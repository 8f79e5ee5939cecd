"""``python -m django_testkit`` as a user calls it."""

from __future__ import annotations

import subprocess
import sys

from django_testkit import __version__


def test_version_flag_prints_the_version() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "django_testkit", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == f"django-testkit {__version__}\n"


def test_no_arguments_prints_help() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "django_testkit"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0
    assert completed.stdout.startswith("usage: django-testkit")
