"""Per-test coverage contexts (``--cov-context test``): which test ran each line."""

from __future__ import annotations

from typing import Any

import coverage


def with_test_contexts(base: type, cov: coverage.Coverage) -> type:
    """``base`` (a unittest result class) that names each test as coverage's context."""

    class ContextResult(base):  # type: ignore[misc]
        def startTest(self, test: Any) -> None:
            cov.switch_context(test.id())
            super().startTest(test)

        def stopTest(self, test: Any) -> None:
            super().stopTest(test)
            cov.switch_context("")

    ContextResult.__name__ = ContextResult.__qualname__ = base.__name__
    return ContextResult
