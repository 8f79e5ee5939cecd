"""Errors raised by django-testkit and the exit statuses they map to."""

from __future__ import annotations

from django.core.management.base import CommandError

#: All tests passed and every threshold was met.
EXIT_OK = 0
#: At least one test failed or errored (Django's own convention).
EXIT_TESTS_FAILED = 1
#: Tests passed but a coverage threshold was missed (coverage.py's convention).
EXIT_THRESHOLD_MISSED = 2


class TestkitError(CommandError):
    """Base class of every error django-testkit raises on purpose.

    The message is a single line meant for the user: it names the setting or
    option, the offending value and the fix. Being a ``CommandError``, it makes
    ``manage.py test`` print that line, without a traceback, and exit non-zero.
    """

    # Keep pytest and unittest from collecting this class as a test case.
    __test__ = False


class ConfigurationError(TestkitError):
    """A setting, option or environment variable has a value that cannot work."""
