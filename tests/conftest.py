"""Shared fixtures: database backends and fixture-project copies.

Database-backed end-to-end tests always run on SQLite. They also run on the
server backends named in ``TESTKIT_TEST_BACKENDS`` (comma separated:
``postgresql``, ``mysql``); a backend named there whose server cannot be
reached fails the tests instead of skipping them.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.projects import DBSETUP_PROJECT, EDGE_PROJECT, EXAMPLE_PROJECT, copy_project
from tests.support.servers import drop_databases, server_databases

# The fixture projects hold Django tests, run through manage.py, never by pytest.
collect_ignore = ["fixtures"]

SERVER_BACKENDS = ("postgresql", "mysql")


def requested_backends() -> list[str]:
    listed = [
        name.strip()
        for name in os.environ.get("TESTKIT_TEST_BACKENDS", "").split(",")
        if name.strip()
    ]
    unknown = sorted(set(listed) - {"sqlite", *SERVER_BACKENDS})
    if unknown:
        raise pytest.UsageError(
            f"TESTKIT_TEST_BACKENDS={os.environ['TESTKIT_TEST_BACKENDS']!r} names unknown "
            f"backend(s) {', '.join(unknown)}; use a comma-separated subset of "
            "postgresql,mysql (sqlite always runs)."
        )
    return ["sqlite", *[name for name in SERVER_BACKENDS if name in listed]]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", requested_backends(), indirect=True)


def _check_server(backend: str) -> None:
    try:
        if backend == "postgresql":
            import psycopg

            psycopg.connect(
                host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=5
            ).close()
        elif backend == "mysql":
            import MySQLdb

            MySQLdb.connect(host="127.0.0.1", port=3306, user="root", password="").close()
    except Exception as exc:  # any failure to reach a listed server is fatal
        pytest.fail(
            f"TESTKIT_TEST_BACKENDS lists {backend!r} but its server is not reachable: {exc}",
            pytrace=False,
        )


_checked: dict[str, bool] = {}


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name != "sqlite" and name not in _checked:
        _check_server(name)
        _checked[name] = True
    return name


@pytest.fixture
def edge_project(tmp_path: Path) -> Path:
    return copy_project(EDGE_PROJECT, tmp_path / "edgecases")


@pytest.fixture
def example_project(tmp_path: Path) -> Path:
    return copy_project(EXAMPLE_PROJECT, tmp_path / "example_project")


@pytest.fixture
def dbsetup_project(tmp_path: Path) -> Path:
    return copy_project(DBSETUP_PROJECT, tmp_path / "dbsetup")


@pytest.fixture
def db_suffix(backend: str) -> Iterator[str]:
    """A test-database name suffix of this test only; its server databases are dropped after."""
    value = f"_t{uuid.uuid4().hex[:10]}"
    yield value
    if backend != "sqlite":
        drop_databases(backend, server_databases(backend, value))


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "results.fifo"
    os.mkfifo(path)
    return path


@pytest.fixture
def char_device(tmp_path: Path) -> Path:
    """A null device (1, 3) made in the temporary directory, when this user may make one."""
    path = tmp_path / "null"
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.close(os.open(path, os.O_WRONLY))
    except (OSError, AttributeError) as error:
        pytest.skip(f"cannot make and open a character device here ({error})")
    return path
