"""``TestkitConfig``: every option of a run, from defaults, settings, environment and CLI.

Later sources win: defaults, then ``settings.TESTKIT``, then ``TESTKIT_*``
environment variables, then the command line. Values are validated once, here,
and a bad one stops the run with one line naming where it came from, the
value and the fix. The config is frozen and picklable, so workers can get it.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import PurePath
from typing import Any

from django_testkit.exceptions import ConfigurationError
from django_testkit.files import check_destination
from django_testkit.specs import (
    ReportSpec,
    parse_minimum,
    parse_reports,
    parse_rules,
    parse_sources,
)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_SUFFIX = re.compile(r"[A-Za-z0-9_]*")
MAX_SUFFIX_LENGTH = 40
DEFAULT_DURATIONS = ".testkit/durations.json"
#: Environment variables of this name space that are not options (set by the runner).
INTERNAL_VARIABLES = frozenset({"TESTKIT_COVERAGE_SPEC"})


@dataclass(frozen=True)
class TestkitConfig:
    """The options of one run. Field names are the lower-case ``TESTKIT`` keys."""

    __test__ = False

    #: Appended to every test database name (``--db-suffix``).
    db_suffix: str = ""
    #: Keep test databases and reuse them while their schema fingerprint matches.
    reuse_db: bool = False
    #: Inside ``TestCase``, mirrors use their primary's connection and transaction.
    mirrors_see_primary_writes: bool = True
    #: How many test databases may be created at once on a server (0: one per CPU).
    setup_processes: int = 0
    #: Seconds a test may run in a parallel worker before it is stopped (0: no limit).
    timeout: float = 0.0
    #: Dispatch order of parallel units: "duration" (longest first) or "discovery".
    schedule: str = "duration"
    #: multiprocessing start method of workers ("": multiprocessing's default).
    start_method: str = ""
    #: The durations store ("": .testkit/durations.json in the project directory).
    durations_file: str = ""
    #: Coverage sources (None: coverage off; empty: the project, or coverage's config).
    cov: tuple[str, ...] | None = None
    #: Turn coverage off whatever else asks for it.
    no_cov: bool = False
    #: Reports to write (None: a terminal table).
    cov_report: tuple[ReportSpec, ...] | None = None
    #: Branch coverage (None: as coverage's configuration says).
    cov_branch: bool | None = None
    #: Minimum total percentage (None: coverage's fail_under, if any).
    cov_fail_under: float | None = None
    #: "test": record which test ran each line (coverage contexts).
    cov_context: str = ""
    #: coverage.py configuration file ("": coverage's own search).
    cov_config: str = ""
    #: Measure Django templates through django_coverage_plugin.
    cov_templates: bool = False
    #: Minimum percentage per glob or app label.
    cov_fail_under_paths: dict[str, float] = field(default_factory=dict)
    #: Git revision changed lines are measured against ("": the merge base with main).
    diff_base: str = ""
    #: Minimum percentage of changed executable lines that ran (None: no check).
    diff_fail_under: float | None = None
    #: Baseline file of the coverage ratchet ("": no ratchet).
    cov_baseline: str = ""
    #: How many points total coverage may drop below the baseline.
    cov_baseline_tolerance: float = 0.0
    #: Raise the baseline to this run's total when everything passed.
    cov_update_baseline: bool = False

    @property
    def coverage_on(self) -> bool:
        return (self.cov is not None or self.cov_templates) and not self.no_cov


def _where(key: str, source: str) -> str:
    if source == "settings":
        return f"settings.TESTKIT[{key.upper()!r}]"
    if source == "environment":
        return f"the TESTKIT_{key.upper()} environment variable"
    return f"--{key.replace('_', '-')}"


def _boolean(key: str, value: object, source: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigurationError(
        f"{_where(key, source)} = {value!r} is not a boolean; use True or False "
        "(in the environment: 1/0, true/false, yes/no, on/off)."
    )


def _suffix(key: str, value: object, source: str) -> str:
    text = "" if value is None else str(value)
    if not _SUFFIX.fullmatch(text) or len(text) > MAX_SUFFIX_LENGTH:
        raise ConfigurationError(
            f"{_where(key, source)} = {text!r} cannot be part of a database name; use up to "
            f"{MAX_SUFFIX_LENGTH} letters, digits and underscores (for example a CI job id)."
        )
    return text


def _count(key: str, value: object, source: str) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit():
        raise ConfigurationError(
            f"{_where(key, source)} = {value!r} is not a count; use 0 (one per CPU) or a "
            "positive whole number."
        )
    return int(text)


def _seconds(key: str, value: object, source: str) -> float:
    try:
        seconds = float(str(value).strip()) if not isinstance(value, bool) else -1.0
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise ConfigurationError(
            f"{_where(key, source)} = {value!r} is not a number of seconds; use a positive "
            "number such as 60, or 0 for no limit."
        )
    return seconds


def _choice(choices: tuple[str, ...], what: str) -> Callable[[str, object, str], str]:
    def parse(key: str, value: object, source: str) -> str:
        text = str(value).strip()
        if text not in choices:
            raise ConfigurationError(
                f"{_where(key, source)} = {value!r} is not {what}; use one of "
                f"{', '.join(repr(choice) for choice in choices)}."
            )
        return text

    return parse


def _path(key: str, value: object, source: str) -> str:
    if not isinstance(value, str | PurePath):
        raise ConfigurationError(
            f"{_where(key, source)} = {value!r} is not a path; use a file path such as "
            "'.testkit/durations.json'."
        )
    return str(value)


def _durations_file(key: str, value: object, source: str) -> str:
    """A durations file: not empty, and somewhere a file can be written (checked now)."""
    text = _path(key, value, source)
    if not text.strip():
        raise ConfigurationError(
            f"{_where(key, source)} = {text!r} is empty; give a file path such as "
            f"'{DEFAULT_DURATIONS}', or leave it out for that default."
        )
    check_destination(text, _where(key, source), DEFAULT_DURATIONS)
    return text


def _sources(key: str, value: object, source: str) -> tuple[str, ...] | None:
    if isinstance(value, str) and source == "environment":
        flag = value.strip().lower()
        if flag in _TRUE | _FALSE:
            return () if flag in _TRUE else None
        value = value.split(",")
    if value is False or value is None:
        return None
    return parse_sources(value, _where(key, source))


def _reports(key: str, value: object, source: str) -> tuple[ReportSpec, ...]:
    if isinstance(value, str) and source == "environment":
        value = value.split(",")
    return parse_reports(value, _where(key, source))


def _minimum(key: str, value: object, source: str) -> float | None:
    return None if value is None else parse_minimum(value, _where(key, source))


def _rules(key: str, value: object, source: str) -> dict[str, float]:
    if isinstance(value, str) and source == "environment":
        pairs = [item.rpartition("=") for item in value.split(",") if item.strip()]
        value = {name.strip(): number for name, _, number in pairs}
    return parse_rules(value, _where(key, source))


def _text(key: str, value: object, source: str) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{_where(key, source)} = {value!r} is not text; use a string such as 'origin/main'."
        )
    return value.strip()


_PARSERS: dict[str, Callable[[str, object, str], Any]] = {
    "db_suffix": _suffix,
    "reuse_db": _boolean,
    "mirrors_see_primary_writes": _boolean,
    "setup_processes": _count,
    "timeout": _seconds,
    "schedule": _choice(("duration", "discovery"), "a schedule"),
    "start_method": _choice(("fork", "spawn", "forkserver"), "a multiprocessing start method"),
    "durations_file": _durations_file,
    "cov": _sources,
    "no_cov": _boolean,
    "cov_report": _reports,
    "cov_branch": _boolean,
    "cov_fail_under": _minimum,
    "cov_context": _choice(("", "test"), "a coverage context"),
    "cov_config": _path,
    "cov_templates": _boolean,
    "cov_fail_under_paths": _rules,
    "diff_base": _text,
    "diff_fail_under": _minimum,
    "cov_baseline": _path,
    "cov_baseline_tolerance": lambda key, value, source: parse_minimum(value, _where(key, source)),
    "cov_update_baseline": _boolean,
}


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One warning line per ``TESTKIT_*`` variable in ``environ`` that names no option."""
    known = sorted(f"TESTKIT_{item.name.upper()}" for item in fields(TestkitConfig))
    lines = []
    for name in sorted(environ):
        if not name.startswith("TESTKIT_") or name in known or name in INTERNAL_VARIABLES:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]}?" if close else f"the known ones are {', '.join(known)}."
        lines.append(
            f"Warning: the environment variable {name} is not a django-testkit option and is "
            f"ignored; {hint}"
        )
    return lines


def load_config(
    settings_value: object = None,
    environ: Mapping[str, str] | None = None,
    cli: Mapping[str, object] | None = None,
    *,
    warn_unknown: bool = False,
) -> TestkitConfig:
    """Build the run's config; ``cli`` holds only the options given on the command line.

    ``warn_unknown``: print a line for each misspelled ``TESTKIT_*`` variable (the process
    that speaks for the run does, so that workers and relaunches do not repeat it).

    A ``TESTKIT_*`` variable in ``environ`` that names no option is a warning
    line on stderr (once per run: not again in workers or the relaunch under
    coverage), with the closest known name.
    """
    known = [item.name for item in fields(TestkitConfig)]
    values: dict[str, Any] = {}
    if settings_value is not None:
        if not isinstance(settings_value, Mapping):
            raise ConfigurationError(
                f"settings.TESTKIT = {settings_value!r} is not a dict; write it as "
                "TESTKIT = {'REUSE_DB': True, ...}."
            )
        for key, value in settings_value.items():
            name = str(key).lower()
            if name not in known:
                raise ConfigurationError(
                    f"settings.TESTKIT has an unknown key {key!r}; the known keys are "
                    f"{', '.join(name.upper() for name in known)}."
                )
            values[name] = _PARSERS[name](name, value, "settings")
    if environ and warn_unknown:
        for line in unknown_variables(environ):
            print(line, file=sys.stderr)
    for name in known:
        raw = (environ or {}).get(f"TESTKIT_{name.upper()}")
        if raw is not None:
            values[name] = _PARSERS[name](name, raw, "environment")
    for name, value in (cli or {}).items():
        if value is not None:
            values[name] = _PARSERS[name](name, value, "cli")
    return TestkitConfig(**values)
