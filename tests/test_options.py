"""The options table: the command line, the sources of each value, and the README built on it."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import pytest

from django_testkit import records
from django_testkit.config import OPTIONS, Option, add_arguments, command_line, load_config
from django_testkit.options import SCHEDULES, Source, TestkitConfig
from django_testkit.parallel.scheduling import strategy_for

README = Path(__file__).resolve().parent.parent / "README.md"
_TOKEN = re.compile(r"`([^`]+)`")
#: A "|" between two cells of a table row (``\|`` is a "|" inside a cell).
_CELL_BORDER = re.compile(r"(?<!\\)\|")
#: A flag cell: the flag in backticks, then at most a remark in brackets.
_FLAG_CELL = re.compile(r"`([^`]+)`(?: \([^`]*\))?")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser


def test_every_flagged_option_is_on_the_command_line_once() -> None:
    strings = [s for action in _parser()._actions for s in action.option_strings]
    flagged = [item.option_string for item in OPTIONS if item.flag is not None]
    assert sorted(strings) == sorted(["-h", "--help", *flagged])
    assert len(OPTIONS) == len(records.fields(TestkitConfig)) - 1  # all but origins


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


#: The columns of the README's one table of options, in order.
OPTIONS_HEADER = [
    "flag",
    "`settings.TESTKIT` key",
    "environment variable",
    "default",
    "meaning",
]


def _readme_tables() -> list[tuple[list[str], list[dict[str, str]]]]:
    """Every table of the README: its header and its rows, each row a dict by header cell."""
    tables: list[tuple[list[str], list[dict[str, str]]]] = []
    header: list[str] = []
    for line in README.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = []
            continue
        inner = line.strip().removeprefix("|").removesuffix("|")
        cells = [cell.strip().replace("\\|", "|") for cell in _CELL_BORDER.split(inner)]
        if not header:
            header = cells
            tables.append((header, []))
        elif not set("".join(cells)) <= {"-", ":"}:
            assert len(cells) == len(header), f"README: a row with {len(cells)} cells: {line}"
            tables[-1][1].append(dict(zip(header, cells, strict=True)))
    return tables


def _options_table() -> list[dict[str, str]]:
    """The rows of the README's table of options (the one table with a settings key column)."""
    keyed = [rows for header, rows in _readme_tables() if "`settings.TESTKIT` key" in header]
    tables = [rows for header, rows in _readme_tables() if header == OPTIONS_HEADER]
    assert len(keyed) == len(tables) == 1, (
        "README: the options should be in one table, with the columns "
        + " | ".join(OPTIONS_HEADER)
    )
    return tables[0]


def _tokens(cell: str) -> list[str]:
    return _TOKEN.findall(cell)


def _only_token(row: dict[str, str], column: str) -> str:
    """The one backticked name of a cell (a key, a variable)."""
    match = re.fullmatch(r"`([^`]+)`", row[column])
    assert match, f"README options table: {column} should be one `NAME`, not {row[column]!r}"
    return match[1]


def _flag_name(row: dict[str, str]) -> str | None:
    """The option string of a row's flag cell (``--cov[=SOURCE]``: ``--cov``); None for —."""
    if row["flag"] == "—":
        return None
    match = _FLAG_CELL.fullmatch(row["flag"])
    assert match, f"README options table: flag should be `--flag ...` or —, not {row['flag']!r}"
    return re.split(r"[\s\[=]", match[1])[0]


def _same_value(written: object, declared: object) -> bool:
    """Equal, and of the same kind: ``0`` stands for ``0.0``, but ``0`` never for ``False``."""
    numbers = [
        isinstance(value, int | float) and not isinstance(value, bool)
        for value in (written, declared)
    ]
    return written == declared and (all(numbers) or type(written) is type(declared))


def _row_for(option: Option) -> dict[str, str]:
    rows = [
        row
        for row in _options_table()
        if _only_token(row, "`settings.TESTKIT` key") == option.setting
    ]
    assert len(rows) == 1, f"README options table: {len(rows)} rows for {option.setting}, not 1"
    return rows[0]


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.name)
def test_the_readme_options_table_has_the_declared_row_of_each_option(option: Option) -> None:
    row = _row_for(option)
    assert _only_token(row, "environment variable") == option.variable
    if option.flag is None:
        assert row["flag"] == "—", f"README: {option.setting} has no flag, but its row shows one"
    else:
        assert _flag_name(row) == option.option_string, f"README: {option.setting}'s flag"
        (written,) = _tokens(row["flag"])
        argument = written.removeprefix(option.option_string)
        if option.flag.action == "store_true":
            assert argument == "", f"README: {option.option_string} takes no value"
        if option.flag.metavar:
            assert option.flag.metavar in argument, f"README: {option.option_string}'s metavar"
        elif option.flag.choices:
            shown = argument.strip().split("|")
            assert shown == list(option.flag.choices), f"README: {option.option_string}'s choices"
    default = row["default"]
    assert default.startswith("`"), f"README: {option.setting}'s default should start `value`"
    written_default = ast.literal_eval(_tokens(default)[0])
    assert _same_value(written_default, option.default), (
        f"README: {option.setting}'s default is {written_default!r}; the code's is "
        f"{option.default!r}"
    )
    assert row["meaning"], f"README: {option.setting}'s row says nothing of what it means"


def test_the_readme_options_table_names_no_undeclared_option() -> None:
    settings = {item.setting for item in OPTIONS}
    variables = {item.variable for item in OPTIONS}
    flags = {item.option_string for item in OPTIONS if item.flag is not None}
    for row in _options_table():
        assert _only_token(row, "`settings.TESTKIT` key") in settings, row
        assert _only_token(row, "environment variable") in variables, row
        assert _flag_name(row) in {None, *flags}, row
    assert len(_options_table()) == len(OPTIONS), "README: one row per option, and no other"
