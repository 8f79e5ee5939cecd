"""The options table: the command line, the sources of each value, and the README built on it."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from django_testkit.config import OPTIONS, Option, add_arguments, command_line, load_config
from django_testkit.options import SCHEDULES, Source, TestkitConfig
from django_testkit.parallel.scheduling import strategy_for

README = Path(__file__).resolve().parent.parent / "README.md"
_TOKEN = re.compile(r"`([^`]+)`")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser


def test_every_flagged_option_is_on_the_command_line_once() -> None:
    strings = [s for action in _parser()._actions for s in action.option_strings]
    flagged = [item.option_string for item in OPTIONS if item.flag is not None]
    assert sorted(strings) == sorted(["-h", "--help", *flagged])
    assert len(OPTIONS) == len(TestkitConfig.__dataclass_fields__) - 1  # all but origins


def test_the_table_defaults_are_the_config_defaults() -> None:
    config = TestkitConfig()
    assert {item.name: getattr(config, item.name) for item in OPTIONS} == {
        item.name: item.default for item in OPTIONS
    }


def test_command_line_values_reach_the_config_as_before() -> None:
    args = vars(_parser().parse_args(["--cov", "--cov=shop", "--reuse-db", "--timeout", "5"]))
    cli = command_line(args)
    assert args == {}
    assert cli["cov"] == ["shop"]
    assert cli["reuse_db"] is True
    config = load_config({}, {}, cli)
    assert (config.cov, config.reuse_db, config.timeout) == (("shop",), True, 5.0)
    assert command_line({"reuse_db": False})["reuse_db"] is None
    assert command_line({"cov": [True]})["cov"] is True


def test_each_value_knows_where_it_came_from() -> None:
    config = load_config(
        {"TIMEOUT": 3, "COV_FAIL_UNDER": 80},
        {"TESTKIT_COV_FAIL_UNDER": "85", "TESTKIT_SCHEDULE": "discovery"},
        {"cov_fail_under": "90", "db_suffix": None},
    )
    assert config.origin("timeout") is Source.SETTINGS
    assert config.origin("schedule") is Source.ENVIRONMENT
    assert config.origin("cov_fail_under") is Source.COMMAND_LINE
    assert config.cov_fail_under == 90.0
    assert config.origin("db_suffix") is Source.DEFAULT


def test_the_schedules_are_the_strategies_the_scheduler_knows() -> None:
    assert [strategy_for(name).name for name in SCHEDULES] == list(SCHEDULES)


def _readme_rows() -> list[list[str]]:
    """Rows of the README tables that have a ``settings.TESTKIT`` key column, by header."""
    rows: list[list[str]] = []
    header: list[str] = []
    for line in README.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = []
            continue
        cells = [cell.strip() for cell in line.replace("\\|", "/").strip("|").split("|")]
        if not header:
            header = cells
        elif "`settings.TESTKIT` key" in header and not set(cells[0]) <= {"-"}:
            rows.append([f"{name}: {cell}" for name, cell in zip(header, cells, strict=True)])
    return rows


def _tokens(cells: list[str], column: str) -> set[str]:
    """The option names backticked in ``column`` of a row (``--cov[=SOURCE]``: ``--cov``)."""
    found = set()
    for cell in cells:
        if cell.startswith(f"{column}: "):
            for token in _TOKEN.findall(cell.removeprefix(f"{column}: ")):
                found.add(re.split(r"[\s\[=]", token)[0])
    return {token for token in found if re.fullmatch(r"--[a-z-]+|[A-Z_]+", token)}


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.name)
def test_the_readme_has_a_row_for_each_option(option: Option) -> None:
    rows = [
        row for row in _readme_rows() if option.setting in _tokens(row, "`settings.TESTKIT` key")
    ]
    assert len(rows) == 1, f"README: one settings row should name {option.setting}"
    (row,) = rows
    flags = _tokens(row, "option") | _tokens(row, "command line")
    if option.flag is not None:
        assert option.option_string in flags, f"README: {option.setting}'s row lacks its flag"
    if any(cell.startswith("environment: ") for cell in row):
        assert _tokens(row, "environment") == {option.variable}


def test_the_readme_names_no_unknown_option() -> None:
    settings = {item.setting for item in OPTIONS}
    variables = {item.variable for item in OPTIONS}
    flags = {item.option_string for item in OPTIONS if item.flag is not None}
    for row in _readme_rows():
        assert _tokens(row, "`settings.TESTKIT` key") <= settings, row
        assert _tokens(row, "environment") <= variables, row
        assert _tokens(row, "option") | _tokens(row, "command line") <= flags, row
