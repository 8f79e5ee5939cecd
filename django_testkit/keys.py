"""The name a test class goes by everywhere: scheduling units, stores, shards, timelines."""

from __future__ import annotations

from typing import Any


def class_key(cls: type) -> str:
    """``module.QualifiedName`` of a test class."""
    return f"{cls.__module__}.{cls.__qualname__}"


def key_of(test: Any) -> str:
    """The key of a test's class."""
    return class_key(type(test))


#: Coverage context labels naming test classes (``--record-map``): "class:A + B" is the
#: stretch between one class's last test and the next one's first (teardown and setup).
CLASS_CONTEXT = "class:"
_BETWEEN = " + "


def class_context(*keys: str) -> str:
    """The coverage context label of code run for the classes ``keys``."""
    return CLASS_CONTEXT + _BETWEEN.join(dict.fromkeys(key for key in keys if key))


def classes_of_context(label: str) -> tuple[str, ...]:
    """The class keys a context label names: a class label, or a test id (``--cov-context
    test``); a static context before "|" is ignored."""
    label = label.rpartition("|")[2]
    if label.startswith(CLASS_CONTEXT):
        return tuple(key for key in label[len(CLASS_CONTEXT) :].split(_BETWEEN) if key)
    if "." in label and " " not in label:
        return (label.rpartition(".")[0],)
    return ()
