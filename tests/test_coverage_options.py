"""Unit tests of the coverage options: report specs, settings, defaults and the core chosen."""

from __future__ import annotations

from pathlib import Path

import pytest
from coverage.files import GlobMatcher

from django_testkit.config import load_config
from django_testkit.cov.measure import build_spec, choose_core, default_omit, settings_omit
from django_testkit.exceptions import ConfigurationError
from django_testkit.specs import ReportSpec, parse_report, parse_reports


@pytest.mark.parametrize(
    ("value", "spec"),
    [
        ("term", ReportSpec("term")),
        ("term-missing:skip-covered", ReportSpec("term-missing", "", True)),
        ("html", ReportSpec("html", "htmlcov")),
        ("html:out/html:skip-covered", ReportSpec("html", "out/html", True)),
        ("xml", ReportSpec("xml", "coverage.xml")),
        ("xml:reports/cov.xml", ReportSpec("xml", "reports/cov.xml")),
        ("json", ReportSpec("json", "coverage.json")),
        ("lcov:lcov.info", ReportSpec("lcov", "lcov.info")),
        ("markdown", ReportSpec("markdown", "coverage.md")),
        ("markdown-append", ReportSpec("markdown-append", "")),
        ("markdown-append:summary.md", ReportSpec("markdown-append", "summary.md")),
    ],
)
def test_report_specs(value: str, spec: ReportSpec) -> None:
    assert parse_report(value, "--cov-report") == spec


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("pdf", "is not a report type"),
        ("xml:out.xml:skip-covered", "asks to skip covered files, which xml cannot"),
        ("term:out.txt", "gives a destination to a terminal report"),
        ("xml:", "has an empty destination"),
    ],
)
def test_bad_report_specs(value: str, problem: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        parse_report(value, "--cov-report")
    assert str(error.value).startswith(f"--cov-report = {value!r} {problem}; write TYPE[:DEST]")


def test_a_later_report_of_the_same_type_replaces_the_earlier_one() -> None:
    specs = parse_reports(["xml:a.xml", "term", "xml:b.xml"], "--cov-report")
    assert specs == (ReportSpec("term"), ReportSpec("xml", "b.xml"))
    assert parse_reports([""], "--cov-report") == ()


@pytest.mark.parametrize(
    ("settings", "environ", "cli", "expected"),
    [
        ({"COV": True}, {}, {}, ()),
        ({"COV": ["shop", "billing"]}, {}, {}, ("shop", "billing")),
        ({"COV": False}, {}, {}, None),
        ({}, {"TESTKIT_COV": "1"}, {}, ()),
        ({}, {"TESTKIT_COV": "shop,billing"}, {}, ("shop", "billing")),
        ({"COV": True}, {"TESTKIT_COV": "off"}, {}, None),
        ({}, {}, {"cov": True}, ()),
        ({}, {}, {"cov": ["shop"]}, ("shop",)),
    ],
)
def test_cov_sources_from_every_place(
    settings: dict[str, object],
    environ: dict[str, str],
    cli: dict[str, object],
    expected: tuple[str, ...] | None,
) -> None:
    assert load_config(settings, environ, cli).cov == expected


def test_no_cov_turns_everything_off() -> None:
    config = load_config({"COV": True, "COV_TEMPLATES": True}, {}, {"no_cov": True})
    assert not config.coverage_on
    assert load_config({"COV_TEMPLATES": True}).coverage_on


@pytest.mark.parametrize(
    ("environ", "cli", "implied"),
    [
        ({}, {"cov_fail_under": "99"}, "cov_fail_under"),
        ({}, {"diff_fail_under": "80"}, "diff_fail_under"),
        ({}, {"cov_report": ["xml"]}, "cov_report"),
        ({}, {"cov_baseline": "baseline.json"}, "cov_baseline"),
        ({"TESTKIT_COV_FAIL_UNDER": "90"}, {}, "cov_fail_under"),
    ],
)
def test_a_threshold_or_report_asked_for_one_run_turns_coverage_on(
    environ: dict[str, str], cli: dict[str, object], implied: str
) -> None:
    config = load_config({}, environ, cli)
    assert config.coverage_on
    assert config.coverage_implied_by == implied
    assert not load_config({}, environ, {**cli, "no_cov": True}).coverage_on
    # With --cov nothing is implied.
    assert load_config({}, environ, {**cli, "cov": ()}).coverage_implied_by is None


def test_thresholds_in_settings_apply_only_when_coverage_is_on() -> None:
    config = load_config({"COV_FAIL_UNDER": 90, "COV_REPORT": ["xml"]}, {}, {})
    assert not config.coverage_on
    assert config.coverage_implied_by is None


def test_threshold_settings_and_the_command_line() -> None:
    config = load_config(
        {"COV_FAIL_UNDER": 80, "COV_FAIL_UNDER_PATHS": {"shop/payments/*": 100}},
        {"TESTKIT_DIFF_FAIL_UNDER": "90"},
        {"cov_fail_under": "85.5"},
    )
    assert config.cov_fail_under == 85.5
    assert config.cov_fail_under_paths == {"shop/payments/*": 100.0}
    assert config.diff_fail_under == 90.0
    paths = load_config({}, {"TESTKIT_COV_FAIL_UNDER_PATHS": "shop=90,billing/*=75"})
    assert paths.cov_fail_under_paths == {"shop": 90.0, "billing/*": 75.0}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"COV_FAIL_UNDER": "most"}, "settings.TESTKIT['COV_FAIL_UNDER'] = 'most' is not a"),
        ({"COV_FAIL_UNDER": 101}, "settings.TESTKIT['COV_FAIL_UNDER'] = 101 is outside 0-100"),
        ({"COV_REPORT": "pdf"}, "settings.TESTKIT['COV_REPORT'] = 'pdf' is not a report type"),
        ({"COV_REPORT": 3}, "settings.TESTKIT['COV_REPORT'] = 3 is not a list of reports"),
        ({"COV_CONTEXT": "module"}, "settings.TESTKIT['COV_CONTEXT'] = 'module' is not a"),
        ({"COV": 3}, "settings.TESTKIT['COV'] = 3 is not a list of sources"),
        ({"COV_FAIL_UNDER_PATHS": ["shop"]}, "settings.TESTKIT['COV_FAIL_UNDER_PATHS'] = "),
    ],
)
def test_bad_coverage_settings(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        load_config(settings)
    assert str(error.value).startswith(message)


def test_default_omit_is_anchored_in_the_project(tmp_path: Path) -> None:
    # A project that lives under a "tests" directory keeps its own code measured.
    project = tmp_path / "tests" / "site"
    (project / "venv").mkdir(parents=True)
    (project / "tools").mkdir()
    (project / "tools" / "pyvenv.cfg").write_text("home = /usr\n")
    settings = str(project / "site" / "settings.py")
    matcher = GlobMatcher(default_omit(project, settings))
    omitted = [
        "manage.py",
        "shop/migrations/0001_initial.py",
        "shop/tests/test_models.py",
        "shop/tests.py",
        "shop/test_views.py",
        "site/settings.py",
        "site/wsgi.py",
        "site/asgi.py",
        "venv/lib/python3.12/site-packages/x.py",
        "tools/bin/tool.py",
    ]
    kept = [
        "shop/models.py",
        "shop/views/orders.py",
        "site/urls.py",
        "shop/testing.py",
        # A settings.py that is not the project's settings is code like any other.
        "shop/conf/settings.py",
        "other/settings/base.py",
    ]
    assert [path for path in omitted if not matcher.match(str(project / path))] == []
    assert [path for path in kept if matcher.match(str(project / path))] == []


@pytest.mark.parametrize(
    ("module", "file", "omitted"),
    [
        ("mysite.settings", "mysite/settings.py", "mysite/settings.py"),
        ("config.settings", "config/settings/__init__.py", "config/settings/**"),
        ("config.settings.local", "config/settings/local.py", "config/settings/**"),
        ("tests_settings", "tests_settings.py", "tests_settings.py"),
        ("mysite.conf.test", "mysite/conf/test.py", "mysite/conf/test.py"),
    ],
)
def test_settings_omit_is_the_settings_module_or_its_package_of_settings(
    tmp_path: Path, module: str, file: str, omitted: str
) -> None:
    assert settings_omit(module, str(tmp_path / file)) == str(tmp_path / omitted)


@pytest.mark.parametrize(
    ("configured", "branch", "contexts", "plugins", "version", "core"),
    [
        (None, False, False, False, (3, 11), "ctrace"),
        (None, False, False, False, (3, 12), "sysmon"),
        (None, True, False, False, (3, 13), "ctrace"),
        (None, True, False, False, (3, 14), "sysmon"),
        (None, False, True, False, (3, 14), "ctrace"),
        (None, False, False, True, (3, 13), "ctrace"),
        ("pytrace", False, False, False, (3, 13), "pytrace"),
    ],
)
def test_core(
    configured: str | None,
    branch: bool,
    contexts: bool,
    plugins: bool,
    version: tuple[int, int],
    core: str,
) -> None:
    chosen = choose_core(
        configured, branch=branch, contexts=contexts, plugins=plugins, version=version
    )
    assert chosen == core


def test_without_coverage_configuration_the_project_is_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COVERAGE_RCFILE", raising=False)
    monkeypatch.delenv("COVERAGE_CORE", raising=False)
    spec = build_spec(load_config({"COV": True}), tmp_path, None)
    assert spec.options["run:source"] == [str(tmp_path)]
    assert f"{tmp_path}/**/migrations/**" in spec.options["run:omit"]
    assert spec.data_file == str(tmp_path / ".coverage")


def test_coverage_configuration_keeps_its_source_and_omit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COVERAGE_RCFILE", raising=False)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.coverage.run]\nsource = ["shop"]\nconcurrency = ["multiprocessing", "thread"]\n'
        'data_file = "out/.coverage"\n'
    )
    spec = build_spec(load_config({"COV": True}, {}, {"cov_branch": True}), tmp_path, None)
    assert "run:source" not in spec.options
    assert "run:omit" not in spec.options
    # Workers are measured by the runner, not by coverage's multiprocessing patch.
    assert spec.options["run:concurrency"] == ["thread"]
    assert spec.options["run:branch"] is True
    assert spec.data_file == str(tmp_path / "out" / ".coverage")
    (tmp_path / "billing").mkdir()
    explicit = build_spec(load_config({}, {}, {"cov": ["billing"]}), tmp_path, None)
    assert explicit.options["run:source"] == ["billing"]


def test_a_missing_coverage_config_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        build_spec(load_config({}, {}, {"cov": True, "cov_config": "nope.rc"}), tmp_path, None)
    assert str(error.value) == (
        "--cov-config / settings.TESTKIT['COV_CONFIG'] = 'nope.rc' is not a file; give the "
        "path of a .coveragerc, setup.cfg, tox.ini or pyproject.toml."
    )


@pytest.mark.parametrize("source", ["shop.tests.test_models", "shop.tests.ItemTests", "nowhere"])
def test_a_cov_source_that_names_nothing_measurable_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    # What `manage.py test --cov shop.tests.test_models` means: the label became SOURCE.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError) as error:
        build_spec(load_config({}, {}, {"cov": [source]}), tmp_path, None)
    assert str(error.value) == (
        f"--cov = {source!r} is neither a directory nor an importable package or module, so "
        "coverage would measure nothing; give a directory or package (--cov=shop), or put "
        "test labels before a bare --cov (manage.py test shop.tests --cov)."
    )
    settings = load_config({"COV": [source]})
    with pytest.raises(ConfigurationError, match=r"^settings.TESTKIT\['COV'\] = "):
        build_spec(settings, tmp_path, None)


def test_a_cov_source_may_be_a_directory_a_file_or_an_importable_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shop").mkdir()
    (tmp_path / "tool.py").write_text("")
    sources = ["shop", "tool.py", "json", "django.db.models"]
    spec = build_spec(load_config({}, {}, {"cov": sources}), tmp_path, None)
    assert spec.options["run:source"] == sources
