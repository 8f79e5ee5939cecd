"""Every shell command of the README is run here, or checked where CI runs it.

Each command of a fenced ``sh`` block of README.md has one check in :data:`CHECKS`.
A check either runs the command (``manage.py`` commands in a temporary copy of the
example project, with this interpreter standing in for the ``python`` of a new virtual
environment) or asserts that the command is what a CI step runs, or why it cannot run
here at all (a placeholder, a package not yet published). A command without a check
fails, as does a check whose command is no longer in the README, so a new command
cannot go unchecked and a changed one cannot go stale.
"""

from __future__ import annotations

import configparser
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import django_testkit
from tests.support.projects import (
    EXAMPLE_PROJECT,
    REPO,
    RUN_TIMEOUT,
    Run,
    copy_project,
    manage_environment,
    run_manage,
)
from tests.support.readme_terminal import run_on_terminal, screen_lines

README = REPO / "README.md"
CI_SCRIPT = REPO / ".ci" / "run"
#: The one language a fenced block of shell commands may name.
SHELL = "sh"
#: Other names of shell languages, refused so that no command hides from this test.
OTHER_SHELL_NAMES = {"bash", "console", "shell", "shell-session", "shellsession", "zsh"}
#: The quick start's command whose output the README shows as a sample.
SAMPLE_COMMAND = "python manage.py test --parallel auto --cov --cov-fail-under 95"


@dataclass(frozen=True)
class Block:
    """A fenced code block of the README."""

    language: str
    lines: list[str]
    #: The README line number of the opening fence.
    line: int


@dataclass(frozen=True)
class Command:
    """One command of an ``sh`` block, with the comment after it."""

    text: str
    comment: str
    line: int


def fenced_blocks(text: str) -> list[Block]:
    """The README's fenced blocks, indented ones (inside list items) included."""
    blocks: list[Block] = []
    opening: tuple[str, int, int] | None = None
    body: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if opening is None:
            if stripped.startswith("```"):
                opening = (
                    stripped.removeprefix("```").strip(),
                    number,
                    len(line) - len(line.lstrip()),
                )
                body = []
        elif stripped == "```":
            language, start, indent = opening
            blocks.append(Block(language, [item[indent:] for item in body], start))
            opening = None
        else:
            body.append(line)
    assert opening is None, f"README line {opening[1]}: a fenced block is never closed"
    return blocks


def _split_comment(line: str) -> tuple[str, str]:
    """A shell line's command and its trailing ``# comment``, outside quotes."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].strip(), line[index + 1 :].strip()
    return line.strip(), ""


def shell_commands(blocks: list[Block]) -> list[Command]:
    """Every command of the ``sh`` blocks; a line ending in ``\\`` goes on to the next."""
    commands = []
    for block in blocks:
        if block.language != SHELL:
            continue
        pending = ""
        for offset, line in enumerate(block.lines, start=1):
            if line.endswith("\\"):
                pending += line[:-1]
                continue
            text, comment = _split_comment(pending + line)
            pending = ""
            if text:
                commands.append(Command(text, comment, block.line + offset))
    return commands


BLOCKS = fenced_blocks(README.read_text(encoding="utf-8"))
COMMANDS = shell_commands(BLOCKS)

Check = Callable[[Command, Path], None]
#: Command text -> the check that runs it, or that shows where it runs and why not here.
CHECKS: dict[str, Check] = {}
#: The commands whose check runs ``manage.py test`` (marked e2e).
RUNS_TESTS: set[str] = set()


def covers(*texts: str, runs_tests: bool = False) -> Callable[[Check], Check]:
    """Register ``check`` as the check of the README commands ``texts``."""

    def register(check: Check) -> Check:
        for text in texts:
            assert text not in CHECKS, f"two checks for {text!r}"
            CHECKS[text] = check
            if runs_tests:
                RUNS_TESTS.add(text)
        return check

    return register


# Helpers ------------------------------------------------------------------------------


def _project_name() -> str:
    with (REPO / "pyproject.toml").open("rb") as file:
        name: str = tomllib.load(file)["project"]["name"]
    return name


def _extras() -> set[str]:
    with (REPO / "pyproject.toml").open("rb") as file:
        return set(tomllib.load(file)["project"]["optional-dependencies"])


def _tox() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(REPO / "tox.ini", encoding="utf-8")
    return parser


def _tox_envs() -> list[str]:
    return _tox()["tox"]["envlist"].split()


def _ci_lines() -> list[str]:
    """The lines of the CI script, comments and blank lines left out."""
    lines = [line.strip() for line in CI_SCRIPT.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _section(title: str) -> str:
    """The README's text from the heading ``## title`` to the next heading of that level."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _run_in_example_project(argv: list[str], tmp_path: Path) -> Run:
    """``python manage.py ...`` in a fresh copy of the example project, with this Python."""
    assert argv[:2] == ["python", "manage.py"], argv
    project = copy_project(EXAMPLE_PROJECT, tmp_path / "example_project")
    return run_manage(project, *argv[2:])


# The two commands at the top ----------------------------------------------------------

MAIN_JOB = (
    "python3 -m venv .venv && .venv/bin/pip install -e . && cd example_project && "
    "../.venv/bin/python manage.py test --parallel 2 --cov"
)
TOX_JOB = "python3 -m pip install tox && tox"


def test_the_readme_opens_with_the_two_commands_ci_runs() -> None:
    """CI runs the README's first two shell blocks as they are written."""
    first, second = [block for block in BLOCKS if block.language == SHELL][:2]
    assert first.lines == [MAIN_JOB]
    assert second.lines == [TOX_JOB]


@covers(MAIN_JOB, runs_tests=True)
def main_job(command: Command, tmp_path: Path) -> None:
    """CI runs the whole command in a fresh checkout. Here the virtual environment and
    the editable install are the ones this test runs in; each step's text is checked,
    and the ``manage.py`` step runs in a copy of the example project."""
    make_venv, install, enter, run = (shlex.split(step) for step in command.text.split(" && "))
    assert make_venv[:3] == ["python3", "-m", "venv"]
    venv = make_venv[3]
    assert install == [f"{venv}/bin/pip", "install", "-e", "."]
    assert _project_name() == "django-testkit", "`.` is this package's checkout"
    assert enter[0] == "cd"
    project = REPO / enter[1]
    assert project == EXAMPLE_PROJECT
    assert (project / "manage.py").is_file()
    assert run[0] == str(Path("..") / venv / "bin" / "python"), "the venv made above"
    result = _run_in_example_project(["python", *run[1:]], tmp_path)
    assert result.returncode == 0, result.describe()
    assert "\nOK\n" in result.stderr
    assert "TOTAL" in result.stdout, "--cov prints the coverage table"


@covers(TOX_JOB)
def tox_job(command: Command, tmp_path: Path) -> None:
    """Not run here: it is the CI job, and it would run this test inside itself.
    `.ci/run` runs this very line."""
    assert command.text in _ci_lines()


# Quick start --------------------------------------------------------------------------


@covers("python manage.py test --parallel auto --cov", runs_tests=True)
def quick_start(command: Command, tmp_path: Path) -> None:
    """Runs in a copy of the example project, standing in for the reader's project."""
    result = _run_in_example_project(shlex.split(command.text), tmp_path)
    assert result.returncode == 0, result.describe()
    assert "\nOK\n" in result.stderr
    assert "TOTAL" in result.stdout


def _sample(command: Command) -> list[str]:
    """The sample output: the first ``text`` block after the command."""
    return next(b.lines for b in BLOCKS if b.line > command.line and b.language == "text")


_PROGRESS = re.compile(r"\[testkit\] [^\r\n\x1b]*")
_DRAWN_PROGRESS = re.compile(r"^\.*  (\[testkit\] .*)$")
_ELAPSED = re.compile(r"^(Ran \d+ tests? in )\d+\.\d+s$")


def _same_shape(progress: str) -> str:
    """A progress line with its counts and clocks left out."""
    return re.sub(r"\d+", "N", progress)


def _groups(lines: list[str]) -> list[list[str]]:
    """The sample's runs of consecutive lines, split where ``...`` leaves lines out."""
    groups: list[list[str]] = [[]]
    for line in lines:
        if line == "...":
            groups.append([])
        else:
            groups[-1].append(_ELAPSED.sub(r"\1<time>", line))
    return groups


@covers(SAMPLE_COMMAND, runs_tests=True)
def quick_start_sample(command: Command, tmp_path: Path) -> None:
    """Runs on a terminal in a copy of the example project, and prints the README's sample:
    its lines appear in this order, lines not parted by ``...`` one after the other, and
    first and last unless ``...`` stands before or after them. The sample's progress line
    has the shape of one the run drew (counts and clocks vary)."""
    project = copy_project(EXAMPLE_PROJECT, tmp_path / "example_project")
    env = manage_environment(env={"COLUMNS": "80", "LINES": "24"})
    env.pop("CI", None)  # with CI set, the runner draws no progress line
    argv = shlex.split(command.text)
    status, output = run_on_terminal([sys.executable, *argv[1:]], project, env, RUN_TIMEOUT)
    assert status == 2, f"exit status {status}, not 2 (a missed threshold):\n{output}"

    sample = _sample(command)
    progress = [line for line in sample if "[testkit]" in line]
    assert len(progress) == 1, "the sample shows one progress line"
    drawn = _DRAWN_PROGRESS.match(progress[0])
    assert drawn, f"a progress line is the dots so far, two spaces, the status: {progress[0]}"
    shapes = {_same_shape(status_line) for status_line in _PROGRESS.findall(output)}
    assert _same_shape(drawn[1]) in shapes, f"{drawn[1]!r} is unlike every one of {shapes}"

    shown = [_ELAPSED.sub(r"\1<time>", line) for line in screen_lines(output)]
    while shown and not shown[-1]:
        shown.pop()
    groups = _groups([line for line in sample if line not in progress])
    position = 0
    for index, group in enumerate(groups):
        if not group:
            continue
        starts = [
            start
            for start in range(position, len(shown) - len(group) + 1)
            if shown[start : start + len(group)] == group
        ]
        if index == 0:
            starts = [start for start in starts if start == 0]
        if index == len(groups) - 1:
            starts = [start for start in starts if start + len(group) == len(shown)]
        assert starts, "README sample lines not shown as written:\n" + "\n".join(
            ["--- sample ---", *group, "--- terminal ---", *shown]
        )
        position = starts[0] + len(group)


# Installing ---------------------------------------------------------------------------


@covers("pip install -e /path/to/clone")
def install_from_a_clone(command: Command, tmp_path: Path) -> None:
    """The main job's own install step with a placeholder for the clone's directory: CI
    runs `.venv/bin/pip install -e .` in the checkout."""
    assert command.text.replace("/path/to/clone", ".") in MAIN_JOB
    assert "`/path/to/clone` and `<repository-url>` are placeholders" in " ".join(
        README.read_text(encoding="utf-8").split()
    )


@covers('pip install "django-testkit @ git+<repository-url>"')
def install_from_git(command: Command, tmp_path: Path) -> None:
    """Cannot run anywhere as written: `<repository-url>` is a placeholder, since the
    repository's public URL is not known. The requirement names this package."""
    _, _, requirement = shlex.split(command.text)
    name, _, url = requirement.partition(" @ ")
    assert name == _project_name()
    assert url == "git+<repository-url>"


@covers("pip install django-testkit")
def install_from_pypi(command: Command, tmp_path: Path) -> None:
    """Cannot run yet: the package is not published. The README marks the line as one
    for after the release, and it names this package."""
    assert "once released" in command.comment
    assert shlex.split(command.text) == ["pip", "install", _project_name()]
    assert "not published on PyPI yet" in README.read_text(encoding="utf-8")


def test_the_extras_the_readme_names_exist() -> None:
    """Installing names each extra in backticks, followed by what it brings in brackets."""
    text = _section("Installing")
    named = set(re.findall(r"`([a-z]+)`\s+\(", text)) | set(re.findall(r"clone\[(\w+)\]", text))
    assert named == _extras() - {"test", "lint", "bench"}


@covers("python -m django_testkit --version")
def version(command: Command, tmp_path: Path) -> None:
    """Runs with this interpreter."""
    argv = shlex.split(command.text)
    result = subprocess.run(
        [sys.executable, *argv[1:]], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert django_testkit.__version__ in result.stdout


# Coverage -----------------------------------------------------------------------------


@covers(
    "python manage.py test --parallel 2 --cov --cov-report term-missing --cov-fail-under 90",
    runs_tests=True,
)
def coverage_example(command: Command, tmp_path: Path) -> None:
    """Runs in a copy of the example project, whose total (92 %) meets the minimum."""
    result = _run_in_example_project(shlex.split(command.text), tmp_path)
    assert result.returncode == 0, result.describe()
    assert re.search(r"^Name +Stmts +Miss +Cover +Missing$", result.stdout, re.MULTILINE)


# Running the project's tests ----------------------------------------------------------


@covers("export PYENV_VERSION=3.11.7:3.12.1:3.13.0")
def pyenv_versions(command: Command, tmp_path: Path) -> None:
    """`.ci/run` runs this very line before tox."""
    assert command.text in _ci_lines()


@covers("tox -e py311-django52-servers", "tox -e py311-django42 -- -k pdb")
def one_tox_environment(command: Command, tmp_path: Path) -> None:
    """CI's `tox` runs every environment of the envlist, this one included; what follows
    `--` reaches pytest, and a `-k` word there selects tests by name."""
    argv = shlex.split(command.text)
    assert argv[:2] == ["tox", "-e"]
    assert argv[2] in _tox_envs()
    if "--" in argv:
        assert (
            "python -m pytest -p no:cacheprovider -n 2 {posargs}" in _tox()["testenv"]["commands"]
        )
        option, word = argv[argv.index("--") + 1 :]
        assert option == "-k"
        tests = "\n".join(
            path.read_text(encoding="utf-8") for path in REPO.glob("tests/test_*.py")
        )
        named = re.compile(rf"^def test_\w*{re.escape(word)}", re.MULTILINE)
        assert named.search(tests), f"no test's name matches {word}"


@covers("pip install -e '.[test]' && python -m pytest")
def pytest_without_tox(command: Command, tmp_path: Path) -> None:
    """Not run here: it runs the whole suite, this test included. Every tox environment
    does the same: it installs the package with the `test` extra and runs
    `python -m pytest`."""
    install, run = command.text.split(" && ")
    assert shlex.split(install) == ["pip", "install", "-e", ".[test]"]
    assert "test" in _extras()
    assert "test" in _tox()["testenv"]["extras"].split()
    assert run in _tox()["testenv"]["commands"]


@covers("TESTKIT_TEST_BACKENDS=postgresql,mysql python -m pytest")
def pytest_on_servers(command: Command, tmp_path: Path) -> None:
    """Not run here: it needs both database servers. The `-servers` tox environments,
    which CI runs, set the same variable for `python -m pytest`."""
    variable, run = command.text.split(" ", 1)
    name, value = variable.split("=")
    setenv = re.sub(r"\s+", " ", _tox()["testenv"]["setenv"])
    assert f"servers: {name} = {value}" in setenv
    assert run in _tox()["testenv"]["commands"]
    assert any(env.endswith("-servers") for env in _tox_envs())


@covers("bash .ci/run")
def ci_script(command: Command, tmp_path: Path) -> None:
    """Not run here: it is the CI job itself, and it installs system packages and starts
    the database servers."""
    assert shlex.split(command.text) == ["bash", str(CI_SCRIPT.relative_to(REPO))]
    assert CI_SCRIPT.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\n")


# The tests ----------------------------------------------------------------------------


def test_every_fenced_block_names_its_language() -> None:
    """An unnamed block, or a shell block named otherwise than sh, could hide a command."""
    for block in BLOCKS:
        assert block.language, f"README line {block.line}: name the block's language"
        assert block.language not in OTHER_SHELL_NAMES, (
            f"README line {block.line}: write shell blocks as ```{SHELL}"
        )


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(
            command,
            id=command.text[:60],
            marks=[pytest.mark.e2e] if command.text in RUNS_TESTS else [],
        )
        for command in COMMANDS
    ],
)
def test_the_readme_command(command: Command, tmp_path: Path) -> None:
    check = CHECKS.get(command.text)
    assert check is not None, (
        f"README line {command.line}: `{command.text}` is neither run by a test nor known to "
        "run in CI; add a check for it to tests/test_readme.py"
    )
    check(command, tmp_path)


def test_every_check_is_of_a_readme_command() -> None:
    stale = sorted(set(CHECKS) - {command.text for command in COMMANDS})
    assert not stale, f"checks of commands the README no longer has: {stale}"


def test_the_readme_commands_are_each_written_once() -> None:
    texts = [command.text for command in COMMANDS]
    assert len(texts) == len(set(texts))
