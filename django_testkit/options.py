"""Every runner option, declared once: setting, variable, flag, parser, choices, default, help.

Each field of :class:`TestkitConfig` is one option (the frozen config of a run
is also the table of options). Its name, upper-cased, is the ``settings.TESTKIT``
key; with ``TESTKIT_`` in front, the environment variable; a field declared with
an argparse group also has ``--its-name`` on ``manage.py test``. Its default is
the field's; its parser comes from :mod:`django_testkit.specs`.
:mod:`django_testkit.config` builds the command line and reads settings,
environment and command line from these fields. Adding an option is one field
here plus the code that uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from django_testkit.records import field, record
from django_testkit.specs import (
    DEFAULT_DURATIONS,
    REPORT_TYPES,
    ReportSpec,
    changed_from_environment,
    choice_of,
    cov_given,
    parse_artifacts,
    parse_boolean,
    parse_changed,
    parse_count,
    parse_durations_file,
    parse_junit_xml,
    parse_minimum,
    parse_optional_minimum,
    parse_optional_sources,
    parse_path,
    parse_reports,
    parse_reruns,
    parse_rules,
    parse_seconds,
    parse_shard,
    parse_suffix,
    parse_text,
    parse_timeline,
    rules_from_environment,
    sources_from_environment,
)

#: The choices of ``--schedule``, ``--start-method`` and ``--cov-context``.
SCHEDULES = ("duration", "discovery")
START_METHODS = ("fork", "spawn", "forkserver")
COV_CONTEXTS = ("test",)
#: Checks a value and returns it as the config holds it; the ``str`` names where it came from.
Parser = Callable[[object, str], Any]


class Source(StrEnum):
    """Where a value of the config came from; later sources win."""

    DEFAULT = "default"
    SETTINGS = "settings"
    ENVIRONMENT = "environment"
    COMMAND_LINE = "command line"


@record
class Flag:
    """An option's ``--flag`` on ``manage.py test``: argparse group, help and details."""

    group: str
    help: str
    action: str | None = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    nargs: str | None = None
    const: object = None
    #: What argparse's value means as an option value (None: not given).
    given: Callable[[Any], object] = field(default=lambda value: value)

    def argparse_details(self) -> dict[str, Any]:
        details: dict[str, Any] = {"help": self.help}
        if self.action == "store_true":
            details["default"] = None
        named = ("action", "metavar", "nargs", "const")
        details.update({name: getattr(self, name) for name in named if getattr(self, name)})
        if self.choices and not self.metavar:
            # Shown as argparse shows choices; checked by the option's parser, so that a
            # bad value is one line and exit status 1, not a usage error (status 2).
            details["metavar"] = "{" + ",".join(self.choices) + "}"
        return details


@record
class Declaration:
    """How an option is parsed, read from the environment and given on the command line."""

    parse: Parser
    flag: Flag | None
    #: Turns a ``TESTKIT_*`` string into a value as settings would write it.
    from_environment: Callable[[str], object]


def option(
    default: Any,
    parse: Parser,
    group: str = "",
    help: str = "",
    *,
    from_environment: Callable[[str], object] = lambda text: text,
    **flag: Any,
) -> Any:
    """A :class:`TestkitConfig` field that is an option; with a ``group``, also a flag."""
    declared = Declaration(parse, Flag(group, help, **flag) if group else None, from_environment)
    metadata = {"option": declared}
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=metadata)
    return field(default=default, metadata=metadata)


#: Options that ask for coverage when given for one run (command line, environment).
ASKS_FOR_COVERAGE = (
    "cov_fail_under",
    "cov_fail_under_paths",
    "diff_fail_under",
    "cov_baseline",
    "cov_update_baseline",
    "cov_report",
    "record_map",
)

_DATABASES = "django-testkit: test databases"
_PARALLEL = "django-testkit: parallel workers"
_COVERAGE = "django-testkit: coverage"
_RUN = "django-testkit: selecting tests and reporting"
_SWITCH = "store_true"


@record
class TestkitConfig:
    """The options of one run, and where each value came from (see :meth:`origin`)."""

    __test__ = False

    db_suffix: str = option(
        "",
        parse_suffix,
        _DATABASES,
        "Append _SUFFIX to every test database name, so that runs sharing a "
        "server do not collide (also TESTKIT_DB_SUFFIX).",
        metavar="SUFFIX",
    )
    reuse_db: bool = option(
        False,
        parse_boolean,
        _DATABASES,
        "Keep the test databases and reuse them on the next run while their schema "
        "fingerprint (migrations, models, settings) is unchanged; rebuild them otherwise.",
        action=_SWITCH,
        given=lambda value: value or None,
    )
    create_db: bool = option(
        False,
        parse_boolean,
        _DATABASES,
        "Rebuild every test database and worker clone this run uses, even those "
        "--reuse-db or --keepdb would keep (they are kept again afterwards).",
        action=_SWITCH,
        given=lambda value: value or None,
    )
    #: Inside ``TestCase``, mirrors use their primary's connection and transaction.
    mirrors_see_primary_writes: bool = option(True, parse_boolean)
    #: How many test databases may be created at once on a server (0: one per CPU).
    setup_processes: int = option(0, parse_count)
    timeout: float = option(
        0.0,
        parse_seconds,
        _PARALLEL,
        "Stop a test that runs longer than this many seconds and report where it was: "
        "in a worker, the worker is replaced; without workers, the test is interrupted "
        "in-process (0: no limit).",
        metavar="SECONDS",
    )
    schedule: str = option(
        "duration",
        choice_of(SCHEDULES, "a schedule"),
        _PARALLEL,
        "Order in which parallel workers take test classes: 'duration' (longest "
        "first, from recorded durations; the default) or 'discovery' (Django's order).",
        choices=SCHEDULES,
    )
    #: "": multiprocessing's default start method.
    start_method: str = option(
        "",
        choice_of(START_METHODS, "a multiprocessing start method"),
        _PARALLEL,
        "How worker processes start (default: multiprocessing's start method).",
        choices=START_METHODS,
    )
    last_failed: bool = option(
        False,
        parse_boolean,
        _RUN,
        "Run only the tests that failed or errored last time (all of them, with one "
        "line, when none did).",
        action=_SWITCH,
        given=lambda value: value or None,
    )
    failed_first: bool = option(
        False,
        parse_boolean,
        _RUN,
        "Run the tests that failed or errored last time first, then the others.",
        action=_SWITCH,
        given=lambda value: value or None,
    )
    #: None: off; "": what changed since the change map was recorded; else a git revision.
    changed: str | None = option(
        None,
        parse_changed,
        _RUN,
        "Run only the tests that what changed since REF (default: since the change map was "
        "recorded) can affect; all of them, with one line saying why, when that cannot be told.",
        metavar="REF",
        nargs="?",
        const=True,
        from_environment=changed_from_environment,
    )
    rerun_failures: int = option(
        0,
        parse_reruns,
        _RUN,
        "Run each failed or errored test again in a fresh process, up to N times, before "
        "the summary; one that passes is reported as flaky and no longer fails the run.",
        metavar="N",
    )
    #: Flaky tests still fail the run (they are listed and counted as flaky all the same).
    flaky_fails: bool = option(False, parse_boolean)
    shard: str = option(
        "",
        parse_shard,
        _RUN,
        "Run only part K of N of the selected tests (1-based; parts balanced by recorded "
        "durations, whole classes), or 'auto': the CI's job number (GitLab CI, CircleCI, "
        "Buildkite).",
        metavar="K/N",
    )
    junit_xml: str = option(
        "",
        parse_junit_xml,
        _RUN,
        "Write the run's outcomes to PATH as JUnit XML (one testcase per test, with the "
        "time it took where it ran), for CI systems to show.",
        metavar="PATH",
    )
    artifacts: str = option(
        "",
        parse_artifacts,
        _RUN,
        "Write the run's results into the folder DIR for `python -m django_testkit combine`: "
        "coverage data, JUnit XML, durations, failed tests and a manifest (shard, "
        "selection, configuration, versions).",
        metavar="DIR",
    )
    timeline: str = option(
        "",
        parse_timeline,
        _RUN,
        "Write a page showing where the run's time went (phases, and each worker's "
        "classes over time) to PATH, one HTML file that needs no network.",
        metavar="PATH",
    )
    durations_file: str = option(
        "",
        parse_durations_file,
        _PARALLEL,
        "Where test class durations are recorded for scheduling "
        f"(default: {DEFAULT_DURATIONS} in the project directory).",
        metavar="PATH",
    )
    #: None: coverage off; empty: the project, or coverage's [run] source.
    cov: tuple[str, ...] | None = option(
        None,
        parse_optional_sources,
        _COVERAGE,
        "Measure coverage; SOURCE (repeatable) is a directory or package to measure "
        "(default: coverage's [run] source, else the project without tests, migrations "
        "and settings).",
        metavar="SOURCE",
        action="append",
        nargs="?",
        const=True,
        given=cov_given,
        from_environment=sources_from_environment,
    )
    no_cov: bool = option(False, parse_boolean, _COVERAGE, "Turn coverage off.", action=_SWITCH)
    #: None: a terminal table.
    cov_report: tuple[ReportSpec, ...] | None = option(
        None,
        parse_reports,
        _COVERAGE,
        f"Report to write (repeatable): {', '.join(REPORT_TYPES)}; add :skip-covered to "
        "skip full files; --cov-report= for none (default: term).",
        metavar="TYPE[:DEST]",
        action="append",
        from_environment=lambda text: text.split(","),
    )
    #: None: as coverage's configuration says.
    cov_branch: bool | None = option(
        None, parse_boolean, _COVERAGE, "Measure branch coverage.", action=_SWITCH
    )
    #: None: coverage's fail_under, if any.
    cov_fail_under: float | None = option(
        None,
        parse_optional_minimum,
        _COVERAGE,
        "Exit with status 2 when total coverage is below MIN percent.",
        metavar="MIN",
    )
    cov_context: str = option(
        "",
        choice_of(("", *COV_CONTEXTS), "a coverage context"),
        _COVERAGE,
        "Record which test ran each line (shown in the HTML report).",
        choices=COV_CONTEXTS,
    )
    cov_config: str = option(
        "",
        parse_path,
        _COVERAGE,
        "coverage.py configuration file to use.",
        metavar="PATH",
    )
    #: None: recorded by --cov runs where coverage's core allows it; False: never.
    record_map: bool | None = option(
        None,
        parse_boolean,
        _COVERAGE,
        "Record which test classes run which project code, for --changed (turns coverage "
        "on). --cov runs record it anyway where coverage uses its C tracer; RECORD_MAP "
        "False never records.",
        action=_SWITCH,
        given=lambda value: value or None,
    )
    cov_templates: bool = option(
        False,
        parse_boolean,
        _COVERAGE,
        "Also measure Django templates (needs django_coverage_plugin).",
        action=_SWITCH,
    )
    #: Minimum percentage per glob or app label.
    # option() gives a dict default a default_factory, as field() would.
    cov_fail_under_paths: dict[str, float] = option(
        {}, parse_rules, from_environment=rules_from_environment
    )
    diff_base: str = option(
        "",
        parse_text,
        _COVERAGE,
        "Git revision that changed lines are compared with (default: the merge base "
        "with the main branch).",
        metavar="REF",
    )
    diff_fail_under: float | None = option(
        None,
        parse_optional_minimum,
        _COVERAGE,
        "Exit with status 2 when less than MIN percent of the changed executable lines ran.",
        metavar="MIN",
    )
    cov_baseline: str = option(
        "",
        parse_path,
        _COVERAGE,
        "Coverage ratchet: fail when total coverage drops below the total in PATH.",
        metavar="PATH",
    )
    cov_baseline_tolerance: float = option(
        0.0,
        parse_minimum,
        _COVERAGE,
        "How many percentage points total coverage may drop below the baseline.",
        metavar="POINTS",
    )
    cov_update_baseline: bool = option(
        False,
        parse_boolean,
        _COVERAGE,
        "Raise the baseline to this run's total when everything passed.",
        action=_SWITCH,
    )
    #: Where each value that is not its default came from.
    origins: dict[str, Source] = field(default_factory=dict)

    @property
    def coverage_on(self) -> bool:
        asked = self.cov is not None or self.cov_templates or self.coverage_implied_by
        return bool(asked) and not self.no_cov

    @property
    def coverage_implied_by(self) -> str | None:
        """The option that turns coverage on without ``--cov``: a threshold or a report
        asked for on the command line or in the environment (in settings they only apply
        when coverage is on)."""
        if self.cov is not None or self.cov_templates:
            return None
        for name in ASKS_FOR_COVERAGE:
            given = self.origin(name) in (Source.COMMAND_LINE, Source.ENVIRONMENT)
            # A switch turned off (TESTKIT_RECORD_MAP=0) asks for nothing.
            if given and getattr(self, name) is not False:
                return name
        return None

    def origin(self, name: str) -> Source:
        """Where option ``name`` got its value: default, settings, environment or command line."""
        return self.origins.get(name, Source.DEFAULT)
