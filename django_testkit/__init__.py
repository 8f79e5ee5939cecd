"""django-testkit: a drop-in Django test runner.

Set ``TEST_RUNNER = "django_testkit.TestkitRunner"`` and keep running
``python manage.py test``.
"""

from __future__ import annotations

from django_testkit.runner import TestkitRunner

__version__ = "0.1.0.dev0"

__all__ = ["TestkitRunner", "__version__"]
