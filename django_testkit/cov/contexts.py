"""Coverage contexts: which test (``--cov-context test``) or test class (the change map)
ran each line.

A class's context must be on before its ``setUpClass`` runs, which unittest does
when it meets the class's first test, before ``startTest``. A worker runs one
class at a time and switches before it; a run without workers runs its classes
one after another in one suite, so :func:`by_class` cuts that suite into one
suite per class that switches first. Between two classes, the first one's
``tearDownClass`` and the next one's ``setUpClass`` run under a context naming
both, so that code run there counts for either.
"""

from __future__ import annotations

import unittest
from itertools import groupby
from typing import Any

import coverage

from django_testkit import _compat
from django_testkit.keys import class_context, key_of


class ClassContexts:
    """Switches coverage's dynamic context as classes start and end."""

    def __init__(self, cov: coverage.Coverage) -> None:
        self.cov = cov
        self.current = ""
        self.label = ""

    def switch(self, label: str) -> None:
        if label != self.label:
            self.cov.switch_context(label)
            self.label = label

    def enter(self, key: str) -> None:
        """Class ``key`` is about to start (its ``setUpClass`` comes next)."""
        self.switch(class_context(self.current, key))
        self.current = key

    def started(self, key: str) -> None:
        """A test of class ``key`` starts."""
        self.current = key
        self.switch(class_context(key))

    def ended(self) -> None:
        self.current = ""
        self.switch("")


class _ClassSuite(unittest.TestSuite):
    """The tests of one class, switching to its context before unittest sets it up."""

    def __init__(self, tests: list[Any], key: str, contexts: ClassContexts) -> None:
        super().__init__(tests)
        self.key = key
        self.contexts = contexts

    def run(self, result: Any, debug: bool = False) -> Any:
        self.contexts.enter(self.key)
        return super().run(result, debug)


def by_class(suite: Any, contexts: ClassContexts) -> unittest.TestSuite:
    """``suite``'s tests in the same order, one suite per run of tests of one class."""
    return unittest.TestSuite(
        _ClassSuite(list(tests), key, contexts)
        for key, tests in groupby(_compat.iter_test_cases(suite), key=key_of)
    )


def with_contexts(
    base: type, cov: coverage.Coverage, *, tests: bool, classes: ClassContexts | None
) -> type:
    """``base`` (a unittest result class) naming each test (``tests``) and each test class
    (``classes``) as coverage's context."""

    # Through the class contexts when there are some, so that they know the label shown.
    switch = cov.switch_context if classes is None else classes.switch

    class ContextResult(base):  # type: ignore[misc]
        def startTest(self, test: Any) -> None:
            if tests:
                if classes is not None:
                    classes.current = key_of(test)
                switch(test.id())
            elif classes is not None:
                classes.started(key_of(test))
            super().startTest(test)

        def stopTest(self, test: Any) -> None:
            super().stopTest(test)
            if tests:
                switch("" if classes is None else class_context(key_of(test)))

    ContextResult.__name__ = ContextResult.__qualname__ = base.__name__
    return ContextResult
