"""Option values as users write them, parsed and checked, one error line each (pure).

Each parser takes the value and ``where`` it came from (``--db-suffix``,
``settings.TESTKIT['DB_SUFFIX']``, ...) and names both in its error line.
``--cov-report`` takes ``TYPE[:DEST][:skip-covered]`` as pytest-cov does;
``--cov`` takes an optional source (a directory or an importable package).
Parsing happens once, in :mod:`django_testkit.config`, so that a bad value
stops the run before any database is created.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from pathlib import PurePath

from django_testkit.exceptions import ConfigurationError
from django_testkit.files import (
    DIRECTORY,
    MISSING,
    check_destination,
    destination_problem,
    kind_of,
)
from django_testkit.records import record

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off", ""})
MAX_SUFFIX_LENGTH = 40
DEFAULT_DURATIONS = ".testkit/durations.json"
_SUFFIX = re.compile(r"[A-Za-z0-9_]*")

#: Report types, and the destination each writes when none is given.
REPORT_TYPES: dict[str, str] = {
    "term": "",
    "term-missing": "",
    "html": "htmlcov",
    "xml": "coverage.xml",
    "json": "coverage.json",
    "lcov": "coverage.lcov",
    "markdown": "coverage.md",
    "markdown-append": "",
}
#: Types that accept ``:skip-covered``.
SKIPPABLE = frozenset({"term", "term-missing", "html", "markdown", "markdown-append"})
SKIP_COVERED = "skip-covered"
_RULES_EXAMPLE = '{"shop/payments/*": 100, "billing": 90}'


@record
class ReportSpec:
    """One report to write: its type, its destination ("" for the terminal)."""

    kind: str
    dest: str = ""
    skip_covered: bool = False

    @property
    def to_terminal(self) -> bool:
        return self.kind in ("term", "term-missing")


def _bad_report(where: str, value: str, problem: str) -> ConfigurationError:
    kinds = ", ".join(REPORT_TYPES)
    return ConfigurationError(
        f"{where} = {value!r} {problem}; write TYPE[:DEST][:skip-covered] with TYPE one of "
        f"{kinds} (for example --cov-report xml:reports/coverage.xml)."
    )


def parse_report(value: str, where: str) -> ReportSpec:
    """One ``--cov-report`` value. ``markdown-append`` without DEST needs a fallback later."""
    parts = value.strip().split(":")
    skip = parts[-1] == SKIP_COVERED and len(parts) > 1
    if skip:
        parts = parts[:-1]
    kind, dest = parts[0], ":".join(parts[1:])
    if kind not in REPORT_TYPES:
        raise _bad_report(where, value, "is not a report type")
    if skip and kind not in SKIPPABLE:
        raise _bad_report(where, value, f"asks to skip covered files, which {kind} cannot")
    if dest and kind in ("term", "term-missing"):
        raise _bad_report(where, value, "gives a destination to a terminal report")
    if len(parts) > 1 and not dest:
        raise _bad_report(where, value, "has an empty destination")
    return ReportSpec(kind, dest or REPORT_TYPES[kind], skip)


def parse_reports(value: object, where: str) -> tuple[ReportSpec, ...]:
    """A list of report specs; an empty string (``--cov-report=``) means no report."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(v, str) for v in items):
        raise ConfigurationError(
            f"{where} = {value!r} is not a list of reports; write it as "
            "['term-missing', 'xml:coverage.xml']."
        )
    specs: list[ReportSpec] = []
    for item in items:
        if item.strip():
            spec = parse_report(item, where)
            specs = [known for known in specs if known.kind != spec.kind] + [spec]
    return tuple(specs)


def parse_sources(value: object, where: str) -> tuple[str, ...]:
    """``--cov`` values: directories or packages; True (or "") means the project."""
    if value is True:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(v, str) for v in items):
        raise ConfigurationError(
            f"{where} = {value!r} is not a list of sources; use True for the project, or "
            "directories and packages such as ['shop', 'billing']."
        )
    return tuple(dict.fromkeys(item.strip() for item in items if item.strip()))


def parse_minimum(value: object, where: str) -> float:
    """A threshold from a setting or option: a number (or numeric string) from 0 to 100."""
    fix = "use a number from 0 to 100, such as 90 or 87.5."
    number = math.nan
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        except OverflowError:
            # An int too large for a float is still a number, just not a percentage.
            number = math.inf
    if math.isnan(number):
        raise ConfigurationError(f"{where} = {value!r} is not a percentage; {fix}")
    if not 0 <= number <= 100:
        raise ConfigurationError(f"{where} = {value!r} is outside 0-100; {fix}")
    return number


def parse_rules(value: object, where: str) -> dict[str, float]:
    """Per-path thresholds: a mapping of path patterns or app labels to minimums."""
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"{where} = {value!r} is not a mapping of paths or app labels to percentages; "
            f"write it as {_RULES_EXAMPLE}."
        )
    rules: dict[str, float] = {}
    for key, minimum in value.items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigurationError(
                f"{where} has the key {key!r}, which is not a path pattern or app label; "
                f"write it as {_RULES_EXAMPLE}."
            )
        rules[key] = parse_minimum(minimum, f"{where}[{key!r}]")
    return rules


def parse_boolean(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE | FALSE:
        return value.strip().lower() in TRUE
    raise ConfigurationError(
        f"{where} = {value!r} is not a boolean; use True or False "
        "(in the environment: 1/0, true/false, yes/no, on/off)."
    )


def parse_suffix(value: object, where: str) -> str:
    text = "" if value is None else str(value)
    if not _SUFFIX.fullmatch(text) or len(text) > MAX_SUFFIX_LENGTH:
        raise ConfigurationError(
            f"{where} = {text!r} cannot be part of a database name; use up to "
            f"{MAX_SUFFIX_LENGTH} letters, digits and underscores (for example a CI job id)."
        )
    return text


def parse_reruns(value: object, where: str) -> int:
    """How many times a failed test may run again: 0 (never) or more."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit():
        raise ConfigurationError(
            f"{where} = {value!r} is not a number of re-runs; use 0 (none) or a whole number "
            "such as 2."
        )
    return int(text)


def parse_count(value: object, where: str) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit():
        raise ConfigurationError(
            f"{where} = {value!r} is not a count; use 0 (one per CPU) or a positive whole number."
        )
    return int(text)


def parse_seconds(value: object, where: str) -> float:
    try:
        seconds = float(str(value).strip()) if not isinstance(value, bool) else -1.0
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise ConfigurationError(
            f"{where} = {value!r} is not a number of seconds; use a positive "
            "number such as 60, or 0 for no limit."
        )
    return seconds


def choice_of(choices: tuple[str, ...], what: str) -> Callable[[object, str], str]:
    """A parser that accepts one of ``choices``; ``what`` names them in the error line."""

    def parse(value: object, where: str) -> str:
        text = str(value).strip()
        if text not in choices:
            raise ConfigurationError(
                f"{where} = {value!r} is not {what}; use one of "
                f"{', '.join(repr(choice) for choice in choices)}."
            )
        return text

    return parse


def parse_path(value: object, where: str) -> str:
    if not isinstance(value, str | PurePath):
        raise ConfigurationError(
            f"{where} = {value!r} is not a path; use a file path such as "
            "'.testkit/durations.json'."
        )
    return str(value)


def parse_durations_file(value: object, where: str) -> str:
    """A durations file: not empty, and somewhere a file can be written (checked now)."""
    text = parse_path(value, where)
    if not text.strip():
        raise ConfigurationError(
            f"{where} = {text!r} is empty; give a file path such as "
            f"'{DEFAULT_DURATIONS}', or leave it out for that default."
        )
    check_destination(text, where, DEFAULT_DURATIONS)
    return text


def report_path(example: str) -> Callable[[object, str], str]:
    """A parser of where to write a report ("" for none): somewhere a file can be written."""

    def parse(value: object, where: str) -> str:
        text = parse_path(value, where).strip()
        if text:
            check_destination(text, where, example)
        return text

    return parse


parse_junit_xml = report_path("reports/junit.xml")


def parse_artifacts(value: object, where: str) -> str:
    """A folder to write a run's artifacts into ("" for none): a directory, or a path
    where one can be made, in which files can be created (checked now)."""
    text = parse_path(value, where).strip()
    if not text:
        return ""
    try:
        kind = kind_of(text)
    except OSError as error:
        kind, problem = "", f"it cannot be looked at ({error.strerror or error})"
    else:
        problem = "it is not a directory" if kind not in (DIRECTORY, MISSING) else ""
    if not problem:
        problem = destination_problem(PurePath(text, "manifest.json").as_posix()) or ""
    if problem:
        raise ConfigurationError(
            f"{where} = {text!r} cannot take the run's artifacts: {problem}; give a folder "
            "(new or existing) in a writable place, such as 'artifacts/shard-1'."
        )
    return text


parse_timeline = report_path("reports/timeline.html")


def parse_shard(value: object, where: str) -> str:
    """``K/N`` (1 <= K <= N), ``auto`` (the CI's job number) or "" (the whole suite)."""
    text = "" if value is None else str(value).strip()
    if text in ("", "auto"):
        return text
    index, slash, total = text.partition("/")
    numbers = index.isdigit() and total.isdigit()
    if not slash or not numbers or not 1 <= int(index) <= int(total):
        raise ConfigurationError(
            f"{where} = {text!r} is not a shard; use K/N with 1 <= K <= N (for example "
            "2/4: the second of four parts), or 'auto' in a CI that numbers its parallel jobs."
        )
    return f"{int(index)}/{int(total)}"


def parse_text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{where} = {value!r} is not text; use a string such as 'origin/main'."
        )
    return value.strip()


def parse_changed(value: object, where: str) -> str | None:
    """``CHANGED``: True ("" here) compares with the change map's state; a text names a git
    revision; False or None is off."""
    if value is None or value is False:
        return None
    if value is True:
        return ""
    if isinstance(value, str) and not value.strip().startswith("-"):
        return value.strip()
    raise ConfigurationError(
        f"{where} = {value!r} is neither True nor a git revision; use True (since the change "
        "map was recorded) or a branch, tag or commit such as 'origin/main'."
    )


def changed_from_environment(text: str) -> object:
    """``TESTKIT_CHANGED``: 1/0 (true/false, ...) switches; anything else is a revision."""
    switch = text.strip().lower()
    if switch in TRUE | FALSE:
        return switch in TRUE
    return text


def parse_optional_sources(value: object, where: str) -> tuple[str, ...] | None:
    """``COV``: False or None turns coverage off; otherwise :func:`parse_sources`."""
    return None if value is False or value is None else parse_sources(value, where)


def parse_optional_minimum(value: object, where: str) -> float | None:
    return None if value is None else parse_minimum(value, where)


def sources_from_environment(text: str) -> object:
    """``TESTKIT_COV``: 1/0 (true/false, ...) switches; anything else lists sources."""
    switch = text.strip().lower()
    if switch in TRUE | FALSE:
        return switch in TRUE
    return text.split(",")


def rules_from_environment(text: str) -> object:
    """``TESTKIT_COV_FAIL_UNDER_PATHS``: ``shop=90,billing/*=75``."""
    pairs = [item.rpartition("=") for item in text.split(",") if item.strip()]
    return {name.strip(): number for name, _, number in pairs}


def cov_given(value: object) -> object:
    """``--cov`` alone appends True; next to sources, True only stands for "the project"."""
    if isinstance(value, list):
        return [item for item in value if item is not True] or True
    return value
