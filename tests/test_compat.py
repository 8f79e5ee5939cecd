"""The assumptions ``django_testkit._compat`` makes about the installed upstream versions."""

from __future__ import annotations

import inspect

import django
from django.db.backends.base.creation import BaseDatabaseCreation

from django_testkit._compat import create_test_db_without_serializing


def test_create_test_db_is_told_not_to_serialize_only_where_it_would() -> None:
    parameter = inspect.signature(BaseDatabaseCreation.create_test_db).parameters.get("serialize")
    kwargs = create_test_db_without_serializing(BaseDatabaseCreation)
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
