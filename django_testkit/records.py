"""Record classes for the modules every run imports, built without generating code.

``@dataclass`` compiles three to six functions per class when its module is
imported; for the classes a serial run imports that was about 60 % of
``import django_testkit.runner``. :func:`record` gives the same declarations
(annotated fields, defaults, :func:`field` with ``default_factory`` and
``metadata``, inheritance, ``kw_only``, ``__post_init__``, frozen by default)
with one shared ``__init__``, ``__repr__``, ``__eq__`` and ``__hash__`` instead.
Type checkers read it as a dataclass (``dataclass_transform``). :func:`fields`
and :func:`replace` stand in for their :mod:`dataclasses` namesakes, which
refuse a record (``TypeError``) even where a type checker lets them through.
Modules that only some runs import use :mod:`dataclasses` itself.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import MISSING, FrozenInstanceError
from types import MappingProxyType
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")
_EMPTY: Mapping[str, Any] = MappingProxyType({})


class Field:
    """One field of a record: its name, default or default factory, and metadata."""

    __slots__ = ("default", "default_factory", "kw_only", "metadata", "name", "repr")

    def __init__(
        self,
        default: Any = MISSING,
        default_factory: Any = MISSING,
        metadata: Mapping[str, Any] | None = None,
        repr: bool = True,
    ) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("a record field cannot have both a default and a default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.metadata = _EMPTY if metadata is None else MappingProxyType(dict(metadata))
        self.repr = repr
        self.kw_only = False

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r})"

    def value(self, owner: str) -> Any:
        """The value of a field not given to ``__init__``."""
        if self.default is not MISSING:
            return self.default
        if self.default_factory is not MISSING:
            return self.default_factory()
        raise TypeError(f"{owner}() missing required argument: {self.name!r}")


def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | Any = MISSING,
    metadata: Mapping[str, Any] | None = None,
    repr: bool = True,
) -> Any:
    """A field with a default factory, metadata or no repr, as :func:`dataclasses.field`."""
    return Field(default, default_factory, metadata, repr)


@overload
def record(cls: type[T], /) -> type[T]: ...
@overload
def record(*, frozen: bool = True, kw_only: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def record(cls: type[T] | None = None, /, *, frozen: bool = True, kw_only: bool = False) -> Any:
    """Make ``cls`` a record: ``@record`` (frozen), ``@record(frozen=False, kw_only=True)``.

    ``kw_only``: the class's own fields are keyword arguments only. A ``__post_init__``
    method is called at the end of ``__init__``.
    """
    if cls is None:
        return lambda cls: _build(cls, frozen, kw_only)
    return _build(cls, frozen, kw_only)


def fields(item: Any) -> tuple[Field, ...]:
    """The fields of a record class or instance, in ``__init__`` order."""
    found: tuple[Field, ...] = getattr(item, "__record_fields__")  # noqa: B009
    return found


def replace(item: T, /, **changes: Any) -> T:
    """A copy of the record ``item`` with ``changes``, as :func:`dataclasses.replace`."""
    values = {spec.name: getattr(item, spec.name) for spec in fields(item)}
    values.update(changes)
    return type(item)(**values)


def _build(cls: type[T], frozen: bool, kw_only: bool) -> type[T]:
    if getattr(cls, "__record_frozen__", frozen) != frozen:
        made = "frozen" if frozen else "mutable"
        raise TypeError(f"{cls.__qualname__}: a {made} record cannot extend a record that is not")
    merged = {spec.name: spec for spec in getattr(cls, "__record_fields__", ())}
    for name, annotation in inspect.get_annotations(cls).items():
        if "ClassVar" in str(annotation):
            continue
        declared = cls.__dict__.get(name, MISSING)
        spec = declared if isinstance(declared, Field) else Field(default=declared)
        spec.name, spec.kw_only = name, kw_only
        if spec.default is not MISSING:
            setattr(cls, name, spec.default)
        elif isinstance(declared, Field):
            delattr(cls, name)
        merged[name] = spec
    specs = tuple(merged.values())
    positional = tuple(spec for spec in specs if not spec.kw_only)
    required = [spec.name for spec in positional if not _has_default(spec)]
    if required and [spec.name for spec in positional].index(required[-1]) >= len(required):
        raise TypeError(
            f"{cls.__qualname__}: field {required[-1]!r} has no default but follows one that has"
        )
    setattr(cls, "__record_fields__", specs)  # noqa: B010
    setattr(cls, "__record_positional__", positional)  # noqa: B010
    setattr(cls, "__record_frozen__", frozen)  # noqa: B010
    methods: dict[str, Any] = {"__init__": _init, "__repr__": _repr, "__eq__": _eq}
    if frozen:
        methods.update(__setattr__=_frozen, __delattr__=_frozen, __hash__=_hash)
    elif "__eq__" not in cls.__dict__:
        methods["__hash__"] = None
    for name, method in methods.items():
        if name not in cls.__dict__ or name in ("__init__", "__setattr__", "__delattr__"):
            setattr(cls, name, method)
    return cls


def _has_default(spec: Field) -> bool:
    return spec.default is not MISSING or spec.default_factory is not MISSING


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    owner = type(self).__qualname__
    positional: tuple[Field, ...] = self.__record_positional__
    if len(args) > len(positional):
        raise TypeError(
            f"{owner}() takes {len(positional)} positional arguments, {len(args)} given"
        )
    values = dict(zip((spec.name for spec in positional), args, strict=False))
    for name, value in kwargs.items():
        if name in values:
            raise TypeError(f"{owner}() got multiple values for argument {name!r}")
        values[name] = value
    for spec in self.__record_fields__:
        value = values.pop(spec.name, MISSING)
        object.__setattr__(self, spec.name, spec.value(owner) if value is MISSING else value)
    if values:
        raise TypeError(f"{owner}() got an unexpected keyword argument {min(values)!r}")
    if hasattr(self, "__post_init__"):
        self.__post_init__()


def _values(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, spec.name) for spec in self.__record_fields__)


def _repr(self: Any) -> str:
    shown = ", ".join(
        f"{spec.name}={getattr(self, spec.name)!r}" for spec in self.__record_fields__ if spec.repr
    )
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: object) -> object:
    if other.__class__ is not self.__class__:
        return NotImplemented
    same: bool = _values(self) == _values(other)
    return same


def _hash(self: Any) -> int:
    return hash(_values(self))


def _frozen(self: Any, name: str, *value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")
