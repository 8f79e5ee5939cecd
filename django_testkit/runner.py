"""``TestkitRunner``: the ``DiscoverRunner`` subclass users name in ``TEST_RUNNER``."""

from __future__ import annotations

import logging
from typing import Any

from django.db import connections
from django.test.runner import DiscoverRunner, get_max_test_processes

from django_testkit.dbplan import DatabasePlan, legacy_test_settings, plan_databases
from django_testkit.exceptions import ConfigurationError


def resolve_parallel(value: object) -> int:
    """Turn a ``parallel`` argument into a worker count, as ``manage.py test`` does.

    ``"auto"`` means :func:`django.test.runner.get_max_test_processes`
    (``DJANGO_TEST_PROCESSES`` or the CPU count). The ``test`` command resolves
    ``"auto"`` itself; scripts that build the runner directly get the same result.
    """
    if value is None:
        return 0
    if value == "auto":
        return get_max_test_processes()
    count = None
    if isinstance(value, int) and not isinstance(value, bool):
        count = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        count = int(value)
    if count is None or count < 0:
        problem = "is negative" if count is not None else "is not a worker count"
        raise ConfigurationError(
            f"TestkitRunner(parallel={value!r}) {problem}; pass 0 or 1 to run in-process, "
            "N >= 2 or 'auto' for workers (command line: --parallel N or --parallel auto)."
        )
    return count


class TestkitRunner(DiscoverRunner):
    """A drop-in replacement for Django's ``DiscoverRunner``.

    Every option, attribute and hook of ``DiscoverRunner`` keeps its meaning, so
    projects that subclass Django's runner can subclass this one instead.
    """

    # Keep pytest from collecting the runner class when it is imported in tests.
    __test__ = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "parallel" in kwargs:
            kwargs["parallel"] = resolve_parallel(kwargs["parallel"])
        super().__init__(*args, **kwargs)

    def setup_databases(self, **kwargs: Any) -> Any:
        """Plan the test databases, then let Django create them.

        The aliases the tests need are closed under TEST MIRROR and DEPENDENCIES
        (see :mod:`django_testkit.dbplan`) and validated before anything is created.
        """
        aliases = kwargs.get("aliases")
        plan = self.plan_databases(connections if aliases is None else aliases)
        kwargs["aliases"] = set(plan.create)
        return super().setup_databases(**kwargs)

    def plan_databases(self, needed: Any) -> DatabasePlan:
        """Plan the run's test databases from the configured connections."""
        databases = {alias: connections[alias].settings_dict for alias in connections}
        tests = {}
        for alias, settings in databases.items():
            tests[alias], deprecation = legacy_test_settings(alias, settings)
            if deprecation:
                self.log(deprecation, level=logging.WARNING)
                # Django reads only TEST; make the legacy values take effect there.
                settings["TEST"].update(tests[alias])
        plan = plan_databases(databases, needed, tests)
        if plan.added:
            self.log(
                "Also setting up database(s) that mirrors and dependencies need: "
                f"{', '.join(sorted(plan.added))}.",
                level=logging.DEBUG,
            )
        return plan
