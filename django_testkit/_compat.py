"""Every private upstream name django-testkit relies on, each reached here and only here.

Grouped by upstream (Django, unittest, coverage.py, the standard library). Each
entry says what it is for and why no public API does it; where a public one
does, the code uses it instead. Private *methods* that django-testkit's own
subclasses override cannot become calls here: :data:`OVERRIDDEN` names them.
``tests/test_compat.py`` checks every entry against the installed versions and
fails naming the upstream package, its version and the entry to fix.
"""

from __future__ import annotations

import argparse
import inspect
import multiprocessing
import subprocess
import threading
import unittest
from collections.abc import Callable, Iterator
from typing import Any

# --------------------------------------------------------------------------- Django


def iter_test_cases(suite: Any) -> Iterator[Any]:
    """Every test of a suite, however deeply suites are nested, as Django's runner sees it.

    ``django.test.utils.iter_test_cases`` (Django 4.0+) is what the runner itself uses to
    walk a suite; it is not documented, and django-stubs does not declare it.
    """
    from django.test import utils

    walk: Callable[[Any], Iterator[Any]] = utils.iter_test_cases  # type: ignore[attr-defined]
    return walk(suite)


def create_test_db_without_serializing(creation: Any) -> dict[str, Any]:
    """Keyword arguments that make ``create_test_db`` skip serializing the database.

    Django 4.2 to 5.2 serialize by default (``serialize=True``), so the runner
    passes ``serialize=False`` and serializes itself once every database and
    mirror is in place. From Django 6.0 on it no longer serializes there, and
    passing ``serialize`` at all warns (``RemovedInDjango2028Warning`` on 6.1, an
    error under ``-W error``): the argument is left out where its default is None.
    """
    parameter = inspect.signature(creation.create_test_db).parameters.get("serialize")
    if parameter is None or parameter.default is None:
        return {}
    return {"serialize": False}


#: Where Django keeps a database's serialized contents, on its connection.
SERIALIZED_CONTENTS = "_test_serialized_contents"


def serialized_contents(connection: Any) -> str | None:
    """The text ``serialized_rollback`` restores ``connection``'s database from, if any."""
    # TransactionTestCase reads connection._test_serialized_contents, and Django's own
    # runner and parallel workers set it. Public API makes the text
    # (creation.serialize_db_to_string()) but has no way to store or read it.
    contents: str | None = getattr(connection, SERIALIZED_CONTENTS, None)
    return contents


def keep_serialized_contents(connection: Any, contents: str) -> None:
    """Make ``contents`` what ``serialized_rollback`` tests restore ``connection`` from."""
    setattr(connection, SERIALIZED_CONTENTS, contents)


def test_database_name(creation: Any) -> str:
    """The name of the test database Django will create for ``creation``'s connection."""
    # BaseDatabaseCreation._get_test_db_name: the rule (TEST NAME, else "test_" + NAME,
    # SQLite's memory names) lives only there; create_test_db() uses it but returns the
    # name only after creating the database. The planner needs it before anything exists.
    name: str = creation._get_test_db_name()
    return name


# DiscoverRunner._shuffler is not needed: its public ``shuffle_seed`` property is None
# exactly when no shuffler was set up (``runner.shuffle_seed is not None``).

# ------------------------------------------------------------------------- unittest

# The two constants below fall back to stand-ins that match nothing, so that a Python
# without them fails tests/test_compat.py clearly instead of every import of the runner.

#: ``subTest()`` without a message. unittest compares against this very object
#: (``_SubTest`` prints no "[message]" for it), so a replayed sub-test must carry it,
#: not None; there is no public name for it.
SUBTEST_NO_MESSAGE: object = getattr(unittest.case, "_subtest_msg_sentinel", object())

#: The test that stands for a module that could not be imported
#: (``unittest.loader._FailedTest``); ``TestLoader.errors`` has the messages, but only
#: the type tells such a test apart in a suite.
FAILED_IMPORT: type[unittest.TestCase] = getattr(
    unittest.loader, "_FailedTest", type("_NoFailedTest", (unittest.TestCase,), {})
)


def make_subtest(test: unittest.TestCase, message: object, params: dict[str, Any]) -> Any:
    """A sub-test of ``test``, as ``subTest(message, **params)`` makes, to report on."""
    # Result classes receive unittest.case._SubTest objects (their str(), id(), params);
    # subTest() makes one only around running code, so replaying needs the class.
    return unittest.case._SubTest(test, message, params)  # type: ignore[attr-defined]


def subtest_message(subtest: Any) -> object:
    """The message ``subTest()`` was given, or :data:`SUBTEST_NO_MESSAGE`."""
    # _SubTest keeps it in _message; its public str()/id() mix it with the parameters.
    return subtest._message


def subtest_description(subtest: Any) -> str:
    """What unittest prints after a sub-test's test: ``(n=1)``, ``[named] (n=2)``."""
    # _SubTest's str() adds the test's own name; only _subDescription() is the part
    # that tells one sub-test of a test from another.
    return str(subtest._subDescription())


def error_holder(description: str) -> Any:
    """The stand-in unittest reports a class or module fixture's error on."""
    # unittest.suite._ErrorHolder: results (Django's, JUnit writers) print and count it
    # as unittest does, by its description; no public class or factory exists.
    return unittest.suite._ErrorHolder(description)  # type: ignore[attr-defined]


def exc_info_text(result: unittest.TestResult, err: Any, test: Any) -> str:
    """The traceback text ``result`` prints for ``err``, as unittest formats it."""
    # TestResult._exc_info_to_string: unittest's frames left out, tb_locals, the
    # buffered output appended; traceback.format_exception lacks all three, and a
    # result class may override it.
    text: str = result._exc_info_to_string(err, test)  # type: ignore[attr-defined]
    return text


def buffered_output(result: unittest.TestResult) -> tuple[str, str] | None:
    """What ``--buffer`` has captured so far (stdout, stderr); None when not capturing."""
    # TestResult._stdout_buffer / _stderr_buffer: buffered output is public only once
    # a test failed, appended to its traceback.
    out = getattr(result, "_stdout_buffer", None)
    err = getattr(result, "_stderr_buffer", None)
    if out is None or err is None:
        return None
    return out.getvalue(), err.getvalue()


def stop_mirroring_output(result: unittest.TestResult) -> None:
    """Keep ``result`` from printing a failed test's buffered output when it stops."""
    # TestResult._mirrorOutput: set by a failure, read by _restoreStdout; no option
    # turns the echo off.
    result._mirrorOutput = False  # type: ignore[attr-defined]


def capture_output(result: Any) -> None:
    """Start ``--buffer`` capture as unittest does around a test (if ``result`` can)."""
    # TestResult._setupStdout: unittest also captures around class fixtures, outside
    # startTest()/stopTest(), and only through this method.
    method = getattr(result, "_setupStdout", None)
    if method is not None:
        method()


def release_output(result: Any) -> None:
    """End the capture :func:`capture_output` started (if ``result`` can)."""
    # TestResult._restoreStdout: the counterpart, as for capture_output().
    method = getattr(result, "_restoreStdout", None)
    if method is not None:
        method()


def end_pending_line(result: Any) -> None:
    """Tell a verbose ``TextTestResult`` that its current line is finished."""
    # TextTestResult._newline (3.11+): whether a status line still awaits its end.
    # Python 3.11's "expected failure" leaves it unset, and a replayed class-level error
    # would then be printed without its name. No public way to say so exists.
    if getattr(result, "_newline", None) is False:
        result._newline = True


#: Private methods that django-testkit's subclasses override, as
#: (upstream class, method name, parameters after ``self``, where it is overridden).
OVERRIDDEN: tuple[tuple[type, str, tuple[str, ...], str], ...] = (
    # Called as each test is released; no public hook runs at that moment.
    (unittest.TestSuite, "_removeTestAtIndex", ("index",), "parallel/worker.py"),
    # How a result formats a traceback; the parent prints a worker's text instead.
    (unittest.TestResult, "_exc_info_to_string", ("err", "test"), "parallel/results.py"),
    # Ends --buffer capture (and echoes a failed test's output, which a worker must not).
    (unittest.TestResult, "_restoreStdout", (), "parallel/results.py"),
    # Makes the run's result; documented as meant for overriding, though underscored.
    (unittest.TextTestRunner, "_makeResult", (), "interrupts.py"),
)

# ----------------------------------------------------------------------- coverage.py

#: The attribute ``concurrency = multiprocessing`` sets on the multiprocessing module
#: (coverage.multiproc.PATCHED_MARKER). A Coverage object's public ``run:concurrency``
#: says what was asked of it, not whether this process was in fact patched.
MULTIPROCESSING_PATCHED = "_coverage$patched"


def coverage_patched_multiprocessing() -> bool:
    """Whether coverage.py measures this process's multiprocessing children itself."""
    return hasattr(multiprocessing, MULTIPROCESSING_PATCHED)


def flush_measured(cov: Any) -> bool:
    """Write what ``cov`` measured to its data file without a full save; False if it cannot.

    ``Coverage.save()`` (public) also looks for every never-imported source file each
    time (4 ms on a small project, far more on a large one); flushing the collector
    (``cov._collector.flush_data()``, with ``cov._data`` set up) writes only the data.
    """
    collector: Any = getattr(cov, "_collector", None)
    if getattr(cov, "_data", None) is None or not hasattr(collector, "flush_data"):
        return False
    collector.flush_data()
    return True


# ------------------------------------------------------------------ standard library


def interpreter_flags() -> list[str]:
    """The command-line options that give a new interpreter this one's settings."""
    # subprocess._args_from_interpreter_flags (what multiprocessing's spawn uses):
    # -O, -B, -E, -s, -P, -W, -X... from sys.flags, warnoptions and -X options.
    # sys.orig_argv is public but mixes them with the script and its arguments, and
    # only Python's own parser knows which options take a value.
    flags: list[str] = subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]
    return flags


def register_before_thread_join(callback: Callable[[], None]) -> bool:
    """Run ``callback`` at exit before Python joins leftover threads; False if it cannot."""
    # threading._register_atexit (3.9+): atexit handlers run only after every
    # non-daemon thread was joined, which is too late when one never ends.
    register = getattr(threading, "_register_atexit", None)
    if register is None:
        return False
    register(callback)
    return True


def parser_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The actions already added to ``parser`` (Django's own options among them)."""
    # ArgumentParser._actions: argparse cannot look up or change an option that is
    # already added, and adding it again conflicts.
    actions: list[argparse.Action] = parser._actions
    return actions


def exact_spelling_only(parser: argparse.ArgumentParser, actions: list[argparse.Action]) -> None:
    """Make ``parser`` accept ``actions`` only when spelled out (``--opt`` or ``--opt=v``).

    Abbreviations of every other option keep working, so no abbreviation that the
    parser accepted before (or rejected: ``--durations`` where an option of ours begins
    with it) changes meaning.
    """
    # ArgumentParser._get_option_tuples: the candidates for an abbreviation, as tuples
    # whose first item is the action (3- or 4-tuples, by Python version). Exact
    # spellings are resolved before it is called. allow_abbrev=False would also stop
    # the parser's other options' abbreviations.
    candidates = parser._get_option_tuples
    ours = {id(action) for action in actions}

    def without_ours(option_string: str) -> list[tuple[Any, ...]]:
        return [found for found in candidates(option_string) if id(found[0]) not in ours]

    parser._get_option_tuples = without_ours  # type: ignore[method-assign]
