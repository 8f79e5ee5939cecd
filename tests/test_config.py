"""TestkitConfig: defaults, then settings.TESTKIT, then TESTKIT_* variables, then the CLI."""

from __future__ import annotations

import pickle

import pytest

from django_testkit.config import TestkitConfig, load_config
from django_testkit.exceptions import ConfigurationError


def test_defaults() -> None:
    config = load_config()
    assert config == TestkitConfig()
    assert config.mirrors_see_primary_writes is True
    assert config.reuse_db is False
    assert config.db_suffix == ""


def test_later_sources_win() -> None:
    settings = {"REUSE_DB": True, "DB_SUFFIX": "from_settings", "SETUP_PROCESSES": 3}
    environ = {"TESTKIT_DB_SUFFIX": "from_env", "TESTKIT_REUSE_DB": "off"}
    config = load_config(settings, environ, {"db_suffix": "from_cli", "reuse_db": None})
    assert config.db_suffix == "from_cli"
    assert config.reuse_db is False  # the environment beat settings; the CLI gave nothing
    assert config.setup_processes == 3


def test_config_travels_to_workers() -> None:
    config = load_config({"MIRRORS_SEE_PRIMARY_WRITES": False})
    assert pickle.loads(pickle.dumps(config)) == config


@pytest.mark.parametrize(
    ("settings", "environ", "cli", "message"),
    [
        (
            {"REUSEDB": True},
            {},
            {},
            "settings.TESTKIT has an unknown key 'REUSEDB'; the known keys are DB_SUFFIX, "
            "REUSE_DB, CREATE_DB, MIRRORS_SEE_PRIMARY_WRITES, SETUP_PROCESSES, TIMEOUT, SCHEDULE, "
            "START_METHOD, LAST_FAILED, FAILED_FIRST, CHANGED, RERUN_FAILURES, FLAKY_FAILS, "
            "SHARD, JUNIT_XML, ARTIFACTS, TIMELINE, "
            "DURATIONS_FILE, "
            "COV, "
            "NO_COV, "
            "COV_REPORT, COV_BRANCH, "
            "COV_FAIL_UNDER, COV_CONTEXT, COV_CONFIG, RECORD_MAP, COV_TEMPLATES, "
            "COV_FAIL_UNDER_PATHS, "
            "DIFF_BASE, DIFF_FAIL_UNDER, COV_BASELINE, COV_BASELINE_TOLERANCE, "
            "COV_UPDATE_BASELINE.",
        ),
        (
            ["REUSE_DB"],
            {},
            {},
            "settings.TESTKIT = ['REUSE_DB'] is not a dict; write it as TESTKIT = "
            "{'REUSE_DB': True, ...}.",
        ),
        (
            {},
            {"TESTKIT_REUSE_DB": "maybe"},
            {},
            "the TESTKIT_REUSE_DB environment variable = 'maybe' is not a boolean; use True or "
            "False (in the environment: 1/0, true/false, yes/no, on/off).",
        ),
        (
            {"DB_SUFFIX": "job 7"},
            {},
            {},
            "settings.TESTKIT['DB_SUFFIX'] = 'job 7' cannot be part of a database name; use up "
            "to 40 letters, digits and underscores (for example a CI job id).",
        ),
        (
            {},
            {},
            {"db_suffix": "x" * 41},
            f"--db-suffix = '{'x' * 41}' cannot be part of a database name; use up to 40 "
            "letters, digits and underscores (for example a CI job id).",
        ),
        (
            {"TIMEOUT": "soon"},
            {},
            {},
            "settings.TESTKIT['TIMEOUT'] = 'soon' is not a number of seconds; use a positive "
            "number such as 60, or 0 for no limit.",
        ),
        (
            {},
            {"TESTKIT_START_METHOD": "thread"},
            {},
            "the TESTKIT_START_METHOD environment variable = 'thread' is not a multiprocessing "
            "start method; use one of 'fork', 'spawn', 'forkserver'.",
        ),
        (
            {},
            {},
            {"schedule": "fastest"},
            "--schedule = 'fastest' is not a schedule; use one of 'duration', 'discovery'.",
        ),
        (
            {"SETUP_PROCESSES": -2},
            {},
            {},
            "settings.TESTKIT['SETUP_PROCESSES'] = -2 is not a count; use 0 (one per CPU) or a "
            "positive whole number.",
        ),
    ],
)
def test_bad_values_are_one_clear_line(
    settings: object, environ: dict[str, str], cli: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError) as error:
        load_config(settings, environ, cli)
    assert str(error.value) == message
