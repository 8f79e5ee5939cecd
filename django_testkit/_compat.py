"""Where django-testkit meets upstream APIs that differ between supported versions.

Each function says why no single public call works on every supported version;
``tests/test_compat.py`` fails, naming the installed version, when an assumption
stops holding.
"""

from __future__ import annotations

import inspect
from typing import Any


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
