"""The assumptions ``django_testkit._compat`` makes about the installed upstream versions.

One test per private name: each fails saying which name of which upstream
package, at which installed version, broke, and which ``_compat`` entry to fix.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import os
import platform
import subprocess
import sys
import textwrap
import unittest
from pathlib import Path
from typing import Any

import coverage
import django
import pytest
from django.db.backends.base.creation import BaseDatabaseCreation
from django.test import TransactionTestCase
from django.test.runner import DiscoverRunner

from django_testkit import _compat

PYTHON = f"Python {platform.python_version()}"
DJANGO = f"Django {django.get_version()}"
COVERAGE = f"coverage {coverage.__version__}"
ROOT = Path(__file__).resolve().parent.parent


def broke(name: str, upstream: str, entry: str) -> str:
    return f"{name} is gone or changed in {upstream}: see _compat.{entry}"


def python(code: str, *options: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, *options, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


# --------------------------------------------------------------------------- Django


def test_create_test_db_is_told_not_to_serialize_only_where_it_would() -> None:
    parameter = inspect.signature(BaseDatabaseCreation.create_test_db).parameters.get("serialize")
    kwargs = _compat.create_test_db_without_serializing(BaseDatabaseCreation)
    if parameter is None or parameter.default is None:
        # Django 6.0 on: serializing there is deprecated, and passing it warns.
        assert django.VERSION >= (6, 0), f"Django {django.get_version()}"
        assert kwargs == {}
    else:
        assert parameter.default is True, (
            f"Django {django.get_version()}: create_test_db(serialize=...) defaults to "
            f"{parameter.default!r}"
        )
        assert kwargs == {"serialize": False}


def test_serialized_rollback_reads_the_contents_from_the_connection() -> None:
    # Nothing public reads it back: only the source shows where TransactionTestCase looks.
    source = inspect.getsource(TransactionTestCase)
    assert _compat.SERIALIZED_CONTENTS in source, broke(
        "connection._test_serialized_contents (read by TransactionTestCase)",
        DJANGO,
        "serialized_contents()",
    )

    class Connection:
        pass

    connection = Connection()
    assert _compat.serialized_contents(connection) is None
    _compat.keep_serialized_contents(connection, "[]")
    assert _compat.serialized_contents(connection) == "[]"


def test_the_test_database_name_is_known_before_creation() -> None:
    from django.db.utils import ConnectionHandler

    handler = ConnectionHandler(
        {
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/shop.sqlite3"},
            "named": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": "x.sqlite3",
                "TEST": {"NAME": "/tmp/t.sqlite3"},
            },
        }
    )
    try:
        names = {
            alias: _compat.test_database_name(handler[alias].creation)
            for alias in ("default", "named")
        }
    except (AttributeError, TypeError) as exc:
        raise AssertionError(
            broke("BaseDatabaseCreation._get_test_db_name()", DJANGO, "test_database_name()")
        ) from exc
    assert names == {
        "default": "file:memorydb_default?mode=memory&cache=shared",
        "named": "/tmp/t.sqlite3",
    }, broke("BaseDatabaseCreation._get_test_db_name()", DJANGO, "test_database_name()")


def test_shuffle_seed_says_whether_the_runner_shuffles() -> None:
    # The public stand-in for DiscoverRunner._shuffler.
    plain, shuffled = DiscoverRunner(), DiscoverRunner(shuffle=7)
    plain.setup_shuffler()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        shuffled.setup_shuffler()
    assert (plain.shuffle_seed, shuffled.shuffle_seed) == (None, 7), (
        f"DiscoverRunner.shuffle_seed changed in {DJANGO}: see _compat (DiscoverRunner._shuffler)"
    )


# ------------------------------------------------------------------------- unittest


class _Sample(unittest.TestCase):
    __test__ = False  # run by the tests below, not collected on its own

    def test_subtests(self) -> None:
        with self.subTest(n=1):
            pass
        with self.subTest("named", n=2):
            pass


class _SubTestRecorder(unittest.TestResult):
    def __init__(self) -> None:
        super().__init__()
        self.subtests: list[Any] = []

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        super().addSubTest(test, subtest, err)
        self.subtests.append(subtest)


def test_subtests_carry_their_message_and_can_be_made_again() -> None:
    test = _Sample("test_subtests")
    result = _SubTestRecorder()
    test.run(result)
    assert len(result.subtests) == 2
    expected = (_compat.SUBTEST_NO_MESSAGE, "named")
    for subtest, message in zip(result.subtests, expected, strict=True):
        try:
            found = _compat.subtest_message(subtest)
        except AttributeError:
            raise AssertionError(broke("_SubTest._message", PYTHON, "subtest_message()")) from None
        assert found is message, broke(
            "unittest.case._subtest_msg_sentinel", PYTHON, "SUBTEST_NO_MESSAGE"
        )
        try:
            described = _compat.subtest_description(subtest)
        except AttributeError:
            raise AssertionError(
                broke("_SubTest._subDescription", PYTHON, "subtest_description()")
            ) from None
        assert described == ("(n=1)" if message is _compat.SUBTEST_NO_MESSAGE else "[named] (n=2)")
        made = _compat.make_subtest(test, message, dict(subtest.params))
        assert type(made) is type(subtest), broke(
            "unittest.case._SubTest", PYTHON, "make_subtest()"
        )
        assert (str(made), made.id(), made.params) == (str(subtest), subtest.id(), subtest.params)


def test_fixture_errors_are_reported_on_the_holder_unittest_uses() -> None:
    class Broken(unittest.TestCase):
        @classmethod
        def setUpClass(cls) -> None:
            raise RuntimeError("boom")

        def test_nothing(self) -> None:
            pass

    result = unittest.TestResult()
    unittest.TestSuite([Broken("test_nothing")]).run(result)
    [(reported, _)] = result.errors
    holder = _compat.error_holder(str(reported))
    assert type(holder) is type(reported), broke(
        "unittest.suite._ErrorHolder", PYTHON, "error_holder()"
    )
    assert (str(holder), holder.id()) == (str(reported), reported.id())


def test_a_module_that_cannot_be_imported_is_a_failed_test() -> None:
    [test] = unittest.TestLoader().loadTestsFromName("no_such_module_for_testkit")
    assert isinstance(test, _compat.FAILED_IMPORT), broke(
        "unittest.loader._FailedTest", PYTHON, "FAILED_IMPORT"
    )


def test_a_result_formats_a_traceback_as_unittest_prints_it() -> None:
    result = unittest.TestResult()
    try:
        raise ValueError("the message")
    except ValueError:
        err = sys.exc_info()
    text = _compat.exc_info_text(result, err, _Sample("test_subtests"))
    gone = broke("TestResult._exc_info_to_string", PYTHON, "exc_info_text()")
    assert text.startswith("Traceback"), gone
    assert "ValueError: the message" in text, gone


def test_buffered_output_is_readable_and_its_echo_can_be_stopped() -> None:
    test = _Sample("test_subtests")
    echoed = io.StringIO()
    with contextlib.redirect_stdout(echoed):
        result = unittest.TestResult()
        result.buffer = True
        result.startTest(test)
        print("captured")
        assert _compat.buffered_output(result) == ("captured\n", ""), broke(
            "TestResult._stdout_buffer/_stderr_buffer", PYTHON, "buffered_output()"
        )
        try:
            raise ValueError("x")
        except ValueError:
            result.addFailure(test, sys.exc_info())
        _compat.stop_mirroring_output(result)
        result.stopTest(test)
    assert "captured" not in echoed.getvalue(), broke(
        "TestResult._mirrorOutput", PYTHON, "stop_mirroring_output()"
    )


def test_output_can_be_captured_outside_a_test() -> None:
    result = unittest.TestResult()
    result.buffer = True
    before = sys.stdout
    _compat.capture_output(result)
    try:
        assert sys.stdout is not before, broke(
            "TestResult._setupStdout", PYTHON, "capture_output()"
        )
        print("held")
        assert _compat.buffered_output(result) == ("held\n", "")
    finally:
        _compat.release_output(result)
    assert sys.stdout is before, broke("TestResult._restoreStdout", PYTHON, "release_output()")


def test_a_verbose_result_knows_whether_its_line_is_open() -> None:
    result = unittest.TextTestResult(io.StringIO(), True, 2)  # type: ignore[type-var]
    result.startTest(_Sample("test_subtests"))
    assert getattr(result, "_newline", None) is False, broke(
        "TextTestResult._newline", PYTHON, "end_pending_line()"
    )
    _compat.end_pending_line(result)
    assert getattr(result, "_newline", None) is True


def test_the_overridden_private_methods_exist_with_the_same_parameters() -> None:
    for owner, name, parameters, where in _compat.OVERRIDDEN:
        method = getattr(owner, name, None)
        assert callable(method), broke(
            f"{owner.__module__}.{owner.__qualname__}.{name} (overridden in {where})",
            PYTHON,
            "OVERRIDDEN",
        )
        found = tuple(inspect.signature(method).parameters)
        assert found == ("self", *parameters), (
            f"{owner.__qualname__}.{name} takes {found} in {PYTHON}, not "
            f"{('self', *parameters)}: see _compat.OVERRIDDEN and {where}"
        )


def test_the_overridden_private_methods_are_called_when_expected() -> None:
    calls: list[str] = []

    class Suite(unittest.TestSuite):
        def _removeTestAtIndex(self, index: int) -> None:
            calls.append("_removeTestAtIndex")
            super()._removeTestAtIndex(index)  # type: ignore[misc]

    class Result(unittest.TextTestResult):
        def _exc_info_to_string(self, err: Any, test: Any) -> str:
            calls.append("_exc_info_to_string")
            return super()._exc_info_to_string(err, test)  # type: ignore[misc,no-any-return]

        def _restoreStdout(self) -> None:
            calls.append("_restoreStdout")
            super()._restoreStdout()  # type: ignore[misc]

    class Runner(unittest.TextTestRunner):
        def _makeResult(self) -> Any:
            calls.append("_makeResult")
            return super()._makeResult()

    class Failing(unittest.TestCase):
        def test_fails(self) -> None:
            self.fail("on purpose")

    runner = Runner(stream=io.StringIO(), resultclass=Result)  # type: ignore[arg-type]
    runner.run(Suite([Failing("test_fails")]))
    for _, name, _, where in _compat.OVERRIDDEN:
        assert name in calls, (
            f"unittest no longer calls {name} in {PYTHON}: see _compat.OVERRIDDEN and {where}"
        )


# ----------------------------------------------------------------------- coverage.py


def test_coverage_marks_multiprocessing_as_patched_with_the_known_name() -> None:
    from coverage import multiproc

    marker = getattr(multiproc, "PATCHED_MARKER", None)
    assert marker == _compat.MULTIPROCESSING_PATCHED, broke(
        "coverage.multiproc.PATCHED_MARKER", COVERAGE, "MULTIPROCESSING_PATCHED"
    )


def test_coverage_flushes_measured_data_without_a_full_save(tmp_path: Path) -> None:
    data_file = tmp_path / "data"
    run = python(
        f"""
        import coverage
        from django_testkit import _compat
        cov = coverage.Coverage(data_file={str(data_file)!r}, include=["*/_compat.py"])
        cov.start()
        _compat.coverage_patched_multiprocessing()
        print(_compat.flush_measured(cov))
        """
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "True", broke(
        "Coverage._collector.flush_data()/_data", COVERAGE, "flush_measured()"
    )
    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    assert any(name.endswith("_compat.py") for name in data.measured_files()), broke(
        "Coverage._collector.flush_data() (writes nothing)", COVERAGE, "flush_measured()"
    )


# ------------------------------------------------------------------ standard library


def test_interpreter_flags_reproduce_the_interpreter_options() -> None:
    run = python(
        "from django_testkit import _compat; print(_compat.interpreter_flags())",
        "-O",
        "-W",
        "error::DeprecationWarning",
    )
    assert run.returncode == 0, run.stderr
    gone = broke(
        f"subprocess._args_from_interpreter_flags (gave {run.stdout.strip()})",
        PYTHON,
        "interpreter_flags()",
    )
    assert "'-O'" in run.stdout, gone
    assert "error::DeprecationWarning" in run.stdout, gone


def test_a_callback_runs_before_python_joins_leftover_threads() -> None:
    run = python(
        """
        import threading
        from django_testkit import _compat
        release = threading.Event()
        def leftover():
            print("released" if release.wait(20) else "joined first", flush=True)
        threading.Thread(target=leftover).start()
        print(_compat.register_before_thread_join(release.set), flush=True)
        """
    )
    gone = broke("threading._register_atexit", PYTHON, "register_before_thread_join()")
    assert run.returncode == 0, gone + "\n" + run.stderr
    assert run.stdout.split() == ["True", "released"], gone


def test_an_added_option_can_be_found_and_changed() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parallel")
    [action] = [
        action
        for action in _compat.parser_actions(parser)
        if "--parallel" in action.option_strings
    ]
    action.type = int
    assert parser.parse_args(["--parallel", "3"]).parallel == 3, broke(
        "argparse.ArgumentParser._actions", PYTHON, "parser_actions()"
    )


def test_options_can_be_made_to_accept_only_their_full_spelling() -> None:
    parser = argparse.ArgumentParser(prog="probe")
    parser.add_argument("--timing", action="store_true")
    ours = [parser.add_argument("--timeout"), parser.add_argument("--schedule")]
    _compat.exact_spelling_only(parser, ours)
    assert parser.parse_args(["--tim"]).timing is True
    assert parser.parse_args(["--timeout=3", "--schedule", "x"]).timeout == "3"
    with pytest.raises(SystemExit):
        parser.parse_args(["--sched=x"])


def test_a_suite_is_walked_to_its_test_cases() -> None:
    class Inner(unittest.TestCase):
        def test_a(self) -> None: ...

        def test_b(self) -> None: ...

    nested = unittest.TestSuite([unittest.TestSuite([Inner("test_a")]), Inner("test_b")])
    assert [test.id().rsplit(".", 1)[1] for test in _compat.iter_test_cases(nested)] == [
        "test_a",
        "test_b",
    ]
