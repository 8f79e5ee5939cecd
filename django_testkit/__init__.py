"""django-testkit: a drop-in Django test runner.

Set ``TEST_RUNNER = "django_testkit.TestkitRunner"`` and keep running
``python manage.py test``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django_testkit._version import __version__

__all__ = ["TestkitRunner", "__version__"]

if TYPE_CHECKING:
    from django_testkit.runner import TestkitRunner


def __getattr__(name: str) -> Any:
    # Lazy, so that ``python -m django_testkit.cov.session`` starts coverage before Django loads.
    if name == "TestkitRunner":
        from django_testkit.runner import TestkitRunner

        return TestkitRunner
    raise AttributeError(f"module 'django_testkit' has no attribute {name!r}")
