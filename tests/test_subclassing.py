"""Projects that subclass the runner keep every DiscoverRunner extension point."""

from __future__ import annotations

from pathlib import Path

from tests.support.projects import DISCOVER, TESTKIT, run_manage, run_tests

PROJECT_RUNNER = ("--testrunner", "edgeproj.runners.ProjectRunner")
LABELS = ("edge.tests.test_outcomes.TaggedFastTests", "edge.tests.test_runner_hooks")


def test_hooks_and_attributes_of_a_subclass_are_used(edge_project: Path) -> None:
    run = run_tests(
        edge_project,
        *PROJECT_RUNNER,
        "--greeting",
        "hello",
        "-v",
        "2",
        *LABELS,
        env={"EXPECT_RUNNER_MARK": "set-by-runner"},
    )
    assert run.returncode == 0, run.describe()
    # add_arguments chaining + __init__ keyword + setup_test_environment
    assert "greeting: hello" in run.stdout
    # test_runner attribute, test_suite attribute, get_resultclass
    assert "custom text runner starting" in run.stderr
    assert "custom suite with 3 test(s)" in run.stdout
    assert "custom result saw 3 test(s)" in run.stderr
    # test_loader attribute: this loader sorts methods in reverse
    names = [desc.split(" ")[0] for desc, _ in run.outcomes.statuses]
    assert names == ["test_fast_two", "test_fast_one", "test_runner_mark"]


def test_parallel_test_suite_attribute_is_used(edge_project: Path) -> None:
    run = run_tests(edge_project, *PROJECT_RUNNER, "--parallel", "2", "-v", "2", *LABELS)
    assert "custom parallel suite with 2 unit(s)" in run.stdout, run.describe()
    assert run.outcomes.ran == 3


def test_get_test_runner_kwargs_reaches_the_text_runner(edge_project: Path) -> None:
    run = run_tests(
        edge_project,
        *PROJECT_RUNNER,
        "-v",
        "2",
        "edge.tests.test_doctests",
        env={"EDGE_DESCRIPTIONS": "0"},
    )
    # With descriptions off, a doctest is reported without its docstring line.
    assert "Doctest: edge.textutils.shout" not in run.stderr, run.describe()
    assert "shout (edge.textutils) ... ok" in run.stderr


def test_help_lists_django_options_and_the_subclass_option(edge_project: Path) -> None:
    run = run_manage(edge_project, "test", "--help", *PROJECT_RUNNER)
    assert run.returncode == 0, run.describe()
    for option in ("--greeting", "--failfast", "--parallel", "--keepdb", "--shuffle", "-k"):
        assert option in run.stdout


def test_run_tests_called_by_a_script_with_command_kwargs(edge_project: Path) -> None:
    run = run_manage(edge_project, "0", runner=TESTKIT, script="run_direct.py")
    assert run.returncode == 0, run.describe()
    assert "run_tests returned 0" in run.stdout


def test_script_may_pass_parallel_auto_like_the_command_does(edge_project: Path) -> None:
    # Django's own runner raises TypeError here; the test command resolves "auto" first.
    django_run = run_manage(edge_project, "auto", runner=DISCOVER, script="run_direct.py")
    assert "TypeError" in django_run.stderr
    run = run_manage(
        edge_project,
        "auto",
        runner=TESTKIT,
        script="run_direct.py",
        env={"DJANGO_TEST_PROCESSES": "2"},
    )
    assert run.returncode == 0, run.describe()
    assert "run_tests returned 0" in run.stdout


def test_script_with_a_bad_parallel_value_gets_one_line(edge_project: Path) -> None:
    run = run_manage(edge_project, "lots", runner=TESTKIT, script="run_direct.py")
    assert run.returncode != 0
    assert (
        "django_testkit.exceptions.ConfigurationError: TestkitRunner(parallel='lots') "
        "is not a worker count"
    ) in run.stderr
