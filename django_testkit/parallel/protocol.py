"""Every message between the parent and a worker, as a named, typed, picklable object.

Messages are ``NamedTuple`` classes: a test's outcome costs one tuple, as the
positional tuples they replace did, and pickles to about the same size (the
class name stands where the kind's string stood). A receiver dispatches on
the class (see :func:`dispatch_table`), never on a position.

Parent to worker: :class:`RunUnit`, :class:`Stop`.
Worker to parent: :class:`Ready`, :class:`Batch` (of test events),
:class:`UnitDone`, :class:`Interrupted`, :class:`Leftover`.
Test events (recorded by :class:`~django_testkit.parallel.results.EventResult`,
replayed by :func:`~django_testkit.parallel.replay.replay`): :class:`StartTest`,
:class:`StopTest`, :class:`AddSuccess`, :class:`AddUnexpectedSuccess`,
:class:`AddDuration`, :class:`AddSkip`, :class:`AddError`, :class:`AddFailure`,
:class:`AddExpectedFailure`, :class:`AddSubTest`.

A test event's ``ref`` is the test's index in its unit, or a :class:`Holder`
for class- and module-level fixtures, which unittest reports on a stand-in.
``extra`` carries what the worker captured since the previous event: output
under ``--buffer`` and SQL under ``--debug-sql``.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple


class RemoteError(NamedTuple):
    """An exception from a worker: pickled with its traceback, and as unittest printed it."""

    pickled: bytes | None
    type_name: str
    message: str
    #: unittest's text for it in the worker (chained exceptions, source lines, carets).
    text: str


class Extra(NamedTuple):
    stdout: str = ""
    stderr: str = ""
    #: Query log records (as dicts) under ``--debug-sql``, formatted by the parent's handler.
    sql: tuple[dict[str, Any], ...] = ()


class Holder(NamedTuple):
    """A class- or module-level fixture, named as unittest names its stand-in."""

    text: str


Ref = int | Holder


# --- test events (worker records, parent replays) ------------------------------------


class StartTest(NamedTuple):
    ref: Ref


class StopTest(NamedTuple):
    ref: Ref
    extra: Extra | None


class AddSuccess(NamedTuple):
    ref: Ref


class AddUnexpectedSuccess(NamedTuple):
    ref: Ref


class AddDuration(NamedTuple):
    ref: Ref
    seconds: float


class AddSkip(NamedTuple):
    ref: Ref
    reason: str
    extra: Extra | None


class AddError(NamedTuple):
    ref: Ref
    error: RemoteError
    extra: Extra | None


class AddFailure(NamedTuple):
    ref: Ref
    error: RemoteError
    extra: Extra | None


class AddExpectedFailure(NamedTuple):
    ref: Ref
    error: RemoteError
    extra: Extra | None


class AddSubTest(NamedTuple):
    ref: Ref
    #: The subtest's message (None: none given) and its parameters.
    subtest: tuple[object, dict[str, object]]
    error: RemoteError | None
    extra: Extra | None


TestEvent = (
    StartTest
    | StopTest
    | AddSuccess
    | AddUnexpectedSuccess
    | AddDuration
    | AddSkip
    | AddError
    | AddFailure
    | AddExpectedFailure
    | AddSubTest
)
TEST_EVENTS: tuple[type[Any], ...] = typing.get_args(TestEvent)


def failed(event: TestEvent) -> bool:
    """Whether the event is a failure of the run (an error, a failure, a failing subtest,
    or an unexpected success)."""
    if isinstance(event, AddSubTest):
        return event.error is not None
    return isinstance(event, (AddError, AddFailure, AddUnexpectedSuccess))


#: A test event's kind on the wire: its position here.
_KINDS: tuple[type[Any], ...] = TEST_EVENTS
_CODES: dict[type[Any], int] = {kind: code for code, kind in enumerate(_KINDS)}
#: Per kind, the position of its ``extra`` field (None: it has none).
_EXTRA_AT: tuple[int | None, ...] = tuple(
    kind._fields.index("extra") if "extra" in kind._fields else None for kind in _KINDS
)


def pack_events(events: list[TestEvent]) -> tuple[tuple[Any, ...], ...]:
    """Events as plain tuples: ``(code, ref, *fields)``, a Holder's ref as its text, an
    Extra as a plain tuple."""
    packed = []
    for event in events:
        code = _CODES[type(event)]
        fields: list[Any] = list(event)
        if isinstance(fields[0], Holder):
            fields[0] = fields[0].text
        at = _EXTRA_AT[code]
        if at is not None and fields[at] is not None:
            fields[at] = tuple(fields[at])
        packed.append((code, *fields))
    return tuple(packed)


def unpack_events(packed: tuple[tuple[Any, ...], ...]) -> list[TestEvent]:
    """The events :func:`pack_events` packed, as they were."""
    events = []
    for code, *fields in packed:
        if isinstance(fields[0], str):
            fields[0] = Holder(fields[0])
        at = _EXTRA_AT[code]
        if at is not None and fields[at] is not None:
            fields[at] = Extra(*fields[at])
        events.append(_KINDS[code](*fields))
    return events


def _unpacked_batch(packed: tuple[tuple[Any, ...], ...]) -> Batch:
    return Batch(unpack_events(packed))


# --- parent to worker ------------------------------------------------------------------


class RunUnit(NamedTuple):
    """Run unit number ``unit``; ``blob``: the pickled unit, for workers that did not fork."""

    unit: int
    blob: bytes | None


class Stop(NamedTuple):
    """Finish the running unit, then exit."""


# --- worker to parent ------------------------------------------------------------------


class Ready(NamedTuple):
    """The worker is set up and waits for units."""

    pid: int


class Batch(NamedTuple):
    """Test events, in the order they happened.

    A batch travels as plain tuples (see :func:`pack_events`): pickling a tuple per
    event costs a fifth of pickling the event classes, and a batch is sent per test.
    """

    events: list[TestEvent]

    def __reduce__(self) -> tuple[Any, ...]:
        return _unpacked_batch, (pack_events(self.events),)


class UnitDone(NamedTuple):
    """The unit ended (``seconds`` 0.0: handed back unrun because the run is stopping)."""

    unit: int
    seconds: float


class Interrupted(NamedTuple):
    """A test of the unit raised KeyboardInterrupt; the worker ends."""

    unit: int


class Leftover(NamedTuple):
    """What the unit left running, and what became of it."""

    unit: int
    description: str


ToWorker = RunUnit | Stop
FromWorker = Ready | Batch | UnitDone | Interrupted | Leftover
TO_WORKER: tuple[type[Any], ...] = typing.get_args(ToWorker)
FROM_WORKER: tuple[type[Any], ...] = typing.get_args(FromWorker)


def dispatch_table(
    handlers: Mapping[type[Any], Callable[..., None]], kinds: tuple[type[Any], ...]
) -> dict[type[Any], Callable[..., None]]:
    """``handlers`` checked to cover exactly ``kinds``: a new message kind without a
    handler fails at once, not when a worker first sends it."""
    missing = set(kinds) - set(handlers)
    extra = set(handlers) - set(kinds)
    if missing or extra:
        names = sorted(kind.__name__ for kind in missing | extra)
        raise TypeError(f"message handlers do not match the protocol: {', '.join(names)}")
    return dict(handlers)
