"""``manage.py test`` parses every spelling Django's runner accepts or rejects the same way.

argparse accepts any unambiguous abbreviation of an option. The runner's options are
accepted only when spelled out, so no abbreviation changes meaning: Django's own
options keep theirs (``--tim`` is ``--timing``, ``--re`` is ``--reverse``), and what
Django rejects stays rejected (``--durations=10`` on Python 3.11, where Django has no
``--durations``, is not taken for ``--durations-file``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError
from django.core.management.commands.test import Command

from django_testkit.config import OPTIONS
from tests.support.projects import run_tests

DJANGO = "django.test.runner.DiscoverRunner"
OURS = "django_testkit.TestkitRunner"
OUR_DESTS = {item.name for item in OPTIONS if item.flag is not None}


def _parser(runner: str) -> argparse.ArgumentParser:
    command = Command()
    command.test_runner = runner
    return command.create_parser("manage.py", "test")


def _parsed(parser: argparse.ArgumentParser, args: list[str]) -> dict[str, Any] | str:
    """What ``args`` parse to, or the error's first words."""
    try:
        return vars(parser.parse_args(args))
    except CommandError as error:
        return str(error).split(":", 2)[1].strip()


def _long_options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {
        spelling: action
        for action in parser._actions
        for spelling in action.option_strings
        if spelling.startswith("--")
        and not isinstance(action, (argparse._HelpAction, argparse._VersionAction))
    }


def _spellings(option: str, action: argparse.Action) -> list[list[str]]:
    """Every abbreviation of ``option`` from ``--x`` on, with a value if it takes one."""
    takes_value = (action.nargs != 0 and action.const is None) or action.nargs == "?"
    return [
        [f"{option[:end]}=1"] if takes_value else [option[:end]]
        for end in range(3, len(option) + 1)
    ]


def _as_django_sees_it(parsed: dict[str, Any] | str) -> dict[str, Any] | str:
    if isinstance(parsed, str):
        return parsed
    return {name: value for name, value in parsed.items() if name not in OUR_DESTS}


@pytest.fixture(scope="module")
def parsers() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    return _parser(DJANGO), _parser(OURS)


def test_every_abbreviation_of_djangos_options_means_what_it_means_to_django(
    parsers: tuple[argparse.ArgumentParser, argparse.ArgumentParser],
) -> None:
    django, ours = parsers
    checked = 0
    for option, action in _long_options(django).items():
        for args in _spellings(option, action):
            theirs = _parsed(django, args)
            mine = _parsed(ours, args)
            assert _as_django_sees_it(mine) == theirs, args
            if not isinstance(mine, str):
                # None of our options was set by it.
                assert all(mine[name] is None for name in OUR_DESTS if name in mine), args
            checked += 1
    assert checked > 100


def test_an_abbreviation_of_our_options_is_what_django_makes_of_it(
    parsers: tuple[argparse.ArgumentParser, argparse.ArgumentParser],
) -> None:
    django, ours = parsers
    djangos, mine = _long_options(django), _long_options(ours)
    for option, action in mine.items():
        if option in djangos:
            continue
        for args in _spellings(option, action)[:-1]:
            if args[0].split("=")[0] in mine:
                continue  # another option of ours, spelled out (--cov of --cov-report)
            assert _as_django_sees_it(_parsed(ours, args)) == _parsed(django, args), args
        # Spelled out, it is ours (a value it refuses is refused by that option).
        spelled = _parsed(ours, _spellings(option, action)[-1])
        assert not isinstance(spelled, str) or spelled == f"argument {option}", option


def test_durations_is_parsed_as_django_parses_it_on_this_python(
    parsers: tuple[argparse.ArgumentParser, argparse.ArgumentParser],
) -> None:
    django, ours = parsers
    theirs, mine = _parsed(django, ["--durations=10"]), _parsed(ours, ["--durations=10"])
    assert _as_django_sees_it(mine) == theirs
    if isinstance(mine, dict):
        assert mine["durations"] == 10
        assert mine["durations_file"] is None
    else:
        assert mine == "unrecognized arguments"


def test_manage_py_test_rejects_durations_where_django_does(example_project: Path) -> None:
    run = run_tests(example_project, "catalog.tests.test_utils", "--durations=10")
    if sys.version_info < (3, 12):
        # Django has no --durations on this Python; it must not become --durations-file.
        assert run.returncode == 2, run.describe()
        assert "unrecognized arguments: --durations=10" in run.stderr
        assert not (example_project / "10").exists()
    else:
        assert run.returncode == 0, run.describe()
        assert "Slowest test durations" in run.stderr


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--start-method", "bogus"],
            "ConfigurationError: --start-method = 'bogus' is not a multiprocessing start "
            "method; use one of 'fork', 'spawn', 'forkserver'.",
        ),
        (
            ["--timeout", "abc"],
            "ConfigurationError: --timeout = 'abc' is not a number of seconds; use a positive "
            "number such as 60, or 0 for no limit.",
        ),
        (
            ["--cov-fail-under", "x"],
            "ConfigurationError: --cov-fail-under = 'x' is not a percentage; use a number from "
            "0 to 100, such as 90 or 87.5.",
        ),
        (
            ["--schedule=longest"],
            "ConfigurationError: --schedule = 'longest' is not a schedule; use one of "
            "'duration', 'discovery'.",
        ),
    ],
)
def test_a_bad_value_of_our_options_is_one_line_and_status_1(
    example_project: Path, args: list[str], line: str
) -> None:
    run = run_tests(example_project, "catalog.tests.test_utils", *args)
    assert run.returncode == 1, run.describe()
    assert run.stderr.strip().splitlines() == [line]


def test_an_invalid_django_test_processes_fails_as_under_djangos_runner(
    example_project: Path,
) -> None:
    env = {"DJANGO_TEST_PROCESSES": "invalid"}
    args = ("catalog.tests.test_utils", "--parallel", "auto")
    ours = run_tests(example_project, *args, env=env)
    theirs = run_tests(example_project, *args, "--testrunner", DJANGO, env=env)
    assert ours.returncode == theirs.returncode == 1
    last = "ValueError: invalid literal for int() with base 10: 'invalid'"
    assert ours.stderr.strip().splitlines()[-1] == theirs.stderr.strip().splitlines()[-1] == last
