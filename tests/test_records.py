"""``django_testkit.records``: records behave as the dataclasses they replace."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import ClassVar

import pytest

from django_testkit.records import field, fields, record, replace


@record
class Point:
    x: int
    y: int = 0
    tags: list[str] = field(default_factory=list, metadata={"doc": "labels"})
    secret: str = field(default="", repr=False)
    kind: ClassVar[str] = "point"


@record
class Labelled(Point):
    label: str = ""


@record
class Pair:
    number: int
    text: str


@record(frozen=False)
class Counter:
    count: int = 0
    seen: dict[str, int] = field(default_factory=dict)


def test_defaults_factories_and_positional_arguments() -> None:
    first, second = Point(1), Point(2, 3, ["a"])
    assert (first.x, first.y, first.tags, second.y, second.tags) == (1, 0, [], 3, ["a"])
    assert Point(1).tags is not Point(1).tags
    assert Point.y == 0
    assert Point.kind == "point"
    assert "tags" not in Point.__dict__


def test_frozen_records_refuse_assignment_and_deletion() -> None:
    point = Point(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del point.x
    assert isinstance(dataclasses.FrozenInstanceError(), AttributeError)


def test_equality_hash_and_repr() -> None:
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(2, 1)
    assert Point(1) != Labelled(1)
    assert Point(1).__eq__((1, 0, [], "")) is NotImplemented
    assert hash(Pair(1, "a")) == hash(Pair(1, "a"))
    assert {Pair(1, "a"), Pair(1, "a")} == {Pair(1, "a")}
    assert repr(Point(1, secret="hidden")) == "Point(x=1, y=0, tags=[])"


def test_inherited_fields_come_first() -> None:
    assert [item.name for item in fields(Labelled)] == ["x", "y", "tags", "secret", "label"]
    assert Labelled(1, label="l").label == "l"
    assert fields(Point(1))[2].metadata == {"doc": "labels"}


def test_wrong_arguments_are_type_errors() -> None:
    with pytest.raises(TypeError, match="missing required argument: 'x'"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        Point(1, z=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        Point(1, x=2)  # type: ignore[misc]
    with pytest.raises(TypeError, match="takes 4 positional arguments, 5 given"):
        Point(1, 2, [], "", 5)  # type: ignore[call-arg]


def test_a_field_without_default_cannot_follow_one_with_a_default() -> None:
    with pytest.raises(TypeError, match="'b' has no default but follows one that has"):

        @record
        class Bad:
            a: int = 0
            b: int  # type: ignore[misc]


def test_replace_copies_with_changes() -> None:
    point = Point(1, 2, ["t"])
    moved = replace(point, y=5)
    assert moved == Point(1, 5, ["t"])
    assert point.y == 2
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        replace(point, z=1)


def test_mutable_records_assign_and_are_unhashable() -> None:
    counter = Counter()
    counter.count += 1
    counter.seen["a"] = 1
    assert counter == Counter(1, {"a": 1})
    with pytest.raises(TypeError):
        hash(counter)


def test_records_pickle_and_copy() -> None:
    point = Labelled(1, 2, ["a"], "s", "l")
    assert pickle.loads(pickle.dumps(point)) == point
    assert copy.deepcopy(point) == point
    assert copy.copy(point) == point
    assert pickle.loads(pickle.dumps(Counter(2))) == Counter(2)


@record(frozen=False)
class Base:
    a: int = 0


@record(frozen=False, kw_only=True)
class Handle(Base):
    slot: int
    ready: bool = False


@record
class Checked:
    count: int

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError(f"count {self.count} is negative")


def test_keyword_only_fields_follow_the_base_and_refuse_positions() -> None:
    handle = Handle(slot=2)
    assert (handle.a, handle.slot, handle.ready) == (0, 2, False)
    assert Handle(1, slot=3).a == 1
    with pytest.raises(TypeError, match="takes 1 positional arguments, 2 given"):
        Handle(1, 3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="missing required argument: 'slot'"):
        Handle()  # type: ignore[call-arg]
    handle.ready = True
    assert handle == Handle(slot=2, ready=True)


def test_post_init_runs_after_the_fields_are_set() -> None:
    assert Checked(1).count == 1
    with pytest.raises(ValueError, match="count -1 is negative"):
        Checked(-1)


def test_frozen_and_mutable_records_do_not_extend_each_other() -> None:
    with pytest.raises(TypeError, match="a frozen record cannot extend a record that is not"):

        @record
        class Frozen(Base):  # type: ignore[misc]
            b: int = 0

    with pytest.raises(TypeError, match="a mutable record cannot extend a record that is not"):

        @record(frozen=False)
        class Mutable(Point):  # type: ignore[misc]
            b: int = 0
