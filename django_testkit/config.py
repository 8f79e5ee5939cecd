"""The options table put to work: the command line's arguments, and the run's config read.

Later sources win: defaults, then ``settings.TESTKIT``, then ``TESTKIT_*``
environment variables, then the command line. Values are validated once, here,
and a bad one stops the run with one line naming where it came from, the
value and the fix. The config is frozen and picklable, so workers can get it,
and records where each value came from (:meth:`TestkitConfig.origin`).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Mapping
from typing import Any

from django_testkit import _compat
from django_testkit.exceptions import ConfigurationError
from django_testkit.options import Declaration, Source, TestkitConfig
from django_testkit.records import fields, record

__all__ = ["OPTIONS", "Option", "TestkitConfig", "add_arguments", "load_config"]

#: Environment variables of this name space that are not options (set by the runner).
INTERNAL_VARIABLES = frozenset({"TESTKIT_COVERAGE_SPEC"})


@record
class Option(Declaration):
    """One option of the table: a :class:`TestkitConfig` field and how it is declared."""

    name: str = ""
    default: Any = None

    @property
    def setting(self) -> str:
        return self.name.upper()

    @property
    def variable(self) -> str:
        return f"TESTKIT_{self.setting}"

    @property
    def option_string(self) -> str:
        return f"--{self.name.replace('_', '-')}"

    def where(self, source: Source) -> str:
        """How an error line names the place a bad value came from."""
        if source is Source.SETTINGS:
            return f"settings.TESTKIT[{self.setting!r}]"
        if source is Source.ENVIRONMENT:
            return f"the {self.variable} environment variable"
        return self.option_string

    def read(self, value: object, source: Source) -> Any:
        """The value as the config holds it; a bad one is a ``ConfigurationError``."""
        if source is Source.ENVIRONMENT and isinstance(value, str):
            value = self.from_environment(value)
        return self.parse(value, self.where(source))


#: Every option, in the order of :class:`TestkitConfig`'s fields.
OPTIONS: tuple[Option, ...] = tuple(
    Option(
        **vars(item.metadata["option"]),
        name=item.name,
        default=item.default_factory() if callable(item.default_factory) else item.default,
    )
    for item in fields(TestkitConfig)
    if "option" in item.metadata
)
BY_NAME = {item.name: item for item in OPTIONS}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every option that has a flag to ``parser``, each under its group's title.

    They are accepted only when spelled out: an abbreviation means what it meant to
    Django's parser (an error, or one of Django's options).
    """
    groups: dict[str, Any] = {}
    added = []
    for item in OPTIONS:
        if item.flag is not None:
            if item.flag.group not in groups:
                groups[item.flag.group] = parser.add_argument_group(item.flag.group)
            added.append(
                groups[item.flag.group].add_argument(
                    item.option_string, **item.flag.argparse_details()
                )
            )
    _compat.exact_spelling_only(parser, added)


def command_line(kwargs: dict[str, Any]) -> dict[str, object]:
    """Take the options out of the runner's keyword arguments (None: not given)."""
    return {
        item.name: item.flag.given(kwargs.pop(item.name, None))
        for item in OPTIONS
        if item.flag is not None
    }


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One warning line per ``TESTKIT_*`` variable in ``environ`` that names no option."""
    known = sorted(item.variable for item in OPTIONS)
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


def _from_settings(settings_value: object) -> dict[str, Any]:
    if settings_value is None:
        return {}
    if not isinstance(settings_value, Mapping):
        raise ConfigurationError(
            f"settings.TESTKIT = {settings_value!r} is not a dict; write it as "
            "TESTKIT = {'REUSE_DB': True, ...}."
        )
    values = {}
    for key, value in settings_value.items():
        name = str(key).lower()
        if name not in BY_NAME:
            raise ConfigurationError(
                f"settings.TESTKIT has an unknown key {key!r}; the known keys are "
                f"{', '.join(item.setting for item in OPTIONS)}."
            )
        values[name] = BY_NAME[name].read(value, Source.SETTINGS)
    return values


def load_config(
    settings_value: object = None,
    environ: Mapping[str, str] | None = None,
    cli: Mapping[str, object] | None = None,
    *,
    warn_unknown: bool = False,
) -> TestkitConfig:
    """Build the run's config; ``cli`` holds only the options given on the command line.

    ``warn_unknown``: print a warning line on stderr for each ``TESTKIT_*`` variable
    in ``environ`` that names no option, with the closest known name (the process
    that speaks for the run does, so that workers and relaunches do not repeat it).
    """
    values = _from_settings(settings_value)
    origins = dict.fromkeys(values, Source.SETTINGS)
    if environ and warn_unknown:
        for line in unknown_variables(environ):
            print(line, file=sys.stderr)
    for item in OPTIONS:
        raw = (environ or {}).get(item.variable)
        if raw is not None:
            values[item.name] = item.read(raw, Source.ENVIRONMENT)
            origins[item.name] = Source.ENVIRONMENT
    for name, value in (cli or {}).items():
        if value is not None:
            values[name] = BY_NAME[name].read(value, Source.COMMAND_LINE)
            origins[name] = Source.COMMAND_LINE
    return TestkitConfig(**values, origins=origins)
