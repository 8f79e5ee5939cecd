"""The name a test class goes by everywhere: scheduling units, stores, shards, timelines."""

from __future__ import annotations

from typing import Any


def class_key(cls: type) -> str:
    """``module.QualifiedName`` of a test class."""
    return f"{cls.__module__}.{cls.__qualname__}"


def key_of(test: Any) -> str:
    """The key of a test's class."""
    return class_key(type(test))
