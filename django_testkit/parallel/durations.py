"""The durations store: seconds of the last complete run of each unit, in JSON.

The file looks like ``{"format": 1, "units": {"shop.tests.ItemTests": 0.123}}``
and is written with sorted keys and indentation, so that a committed or cached
copy changes by a few lines per run. It is a cache: a file that cannot be used
is ignored with a warning and rewritten after the run, never an error; a bad
entry is dropped alone; a file of a newer format is left alone.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from django_testkit.files import MISSING, OTHER, STREAM, kind_of, project_dir, write_text
from django_testkit.specs import DEFAULT_DURATIONS

#: Version of the file layout; a file in another format is ignored.
FORMAT = 1
#: Where durations are kept, relative to the project directory (the option's default).
DEFAULT_PATH = Path(DEFAULT_DURATIONS)
#: Decimals kept per duration: microseconds, well below timer noise.
DECIMALS = 6

# Keeps a warning on one line when a file holds a huge key or value.
_MAX_SHOWN = 60
# Dropped entries named in a warning before the rest are just counted.
_MAX_LISTED = 5


def _json_kind(value: object) -> str:
    """Name ``value``'s JSON type the way a person reading the file would."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"


def _shown(value: object) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _is_seconds(value: object) -> bool:
    # bool is an int subclass, but `true` is not a duration.
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _newer(version: object) -> bool:
    return isinstance(version, int) and not isinstance(version, bool) and version > FORMAT


def _problem(data: Any) -> str | None:
    """Say why the decoded file ``data`` cannot be used at all, or None when it can."""
    if not isinstance(data, dict):
        return f'it holds {_json_kind(data)}, not an object with "format" and "units"'
    version = data.get("format")
    if version is None:
        return 'it has no "format" number'
    if isinstance(version, bool) or version != FORMAT:
        return f"it is in format {_shown(version)}; this version reads format {FORMAT}"
    units = data.get("units")
    if not isinstance(units, dict):
        return f'its "units" is {_json_kind(units)}, not an object of unit keys to seconds'
    return None


def _warning(path: Path, problem: str) -> str:
    problem = " ".join(problem.split())
    return f"Ignoring the durations file {path}: {problem}; it will be rewritten after this run."


def _newer_warning(path: Path, version: object) -> str:
    return (
        f"Leaving the durations file {path} alone: it is in format {_shown(version)}, newer "
        f"than this version reads (format {FORMAT}); this run's durations are not recorded."
    )


def _dropped_warning(path: Path, bad: dict[str, object]) -> str:
    shown = [f"{_shown(key)} ({_shown(value)})" for key, value in list(bad.items())[:_MAX_LISTED]]
    more = f" and {len(bad) - _MAX_LISTED} more" if len(bad) > _MAX_LISTED else ""
    entries = "entry" if len(bad) == 1 else f"{len(bad)} entries"
    return (
        f"Dropping {entries} from the durations file {path}, not a number of seconds >= 0: "
        f"{', '.join(shown)}{more}; the other durations are used."
    )


def _read(path: Path) -> tuple[Any, str | None]:
    """The decoded file at ``path`` (None if missing or not a regular file) or a warning."""
    try:
        kind = kind_of(path)
    except OSError as error:
        return None, _warning(path, f"it cannot be read ({error.strerror or error})")
    if kind in (MISSING, STREAM, OTHER):
        # A FIFO or a device is somewhere to send durations, not to read them from
        # (reading a FIFO would wait for a writer that never comes).
        return None, None
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as error:
        return None, _warning(path, f"it cannot be read ({error.strerror or error})")
    try:
        return json.loads(raw), None
    except ValueError as error:
        # JSONDecodeError and UnicodeDecodeError are both ValueErrors.
        return None, _warning(path, f"it is not valid JSON ({error})")
    except RecursionError:
        return None, _warning(path, "it is not valid JSON (nested too deeply)")


def load_durations(path: Path) -> tuple[dict[str, float], str | None]:
    """Read the durations file at ``path``.

    Returns the durations by unit key and a warning. A missing file, a device
    or a FIFO gives ``({}, None)``. A file that cannot be read, is not JSON,
    has another layout or an older format gives ``{}`` and a one-line warning
    naming the file and the problem (it is rewritten after the run). A file
    of a newer format gives ``{}`` and a line saying it is left alone (and
    :func:`save_durations` does leave it alone). An entry whose duration is
    not a number >= 0 is dropped, the others kept, and the warning names it.
    Problems with the file's content never raise.
    """
    data, warning = _read(path)
    if data is None:
        return {}, warning
    if isinstance(data, dict) and _newer(data.get("format")):
        return {}, _newer_warning(path, data.get("format"))
    problem = _problem(data)
    if problem is not None:
        return {}, _warning(path, problem)
    units: dict[str, object] = data["units"]
    bad = {key: seconds for key, seconds in units.items() if not _is_seconds(seconds)}
    durations = {
        key: float(seconds)  # type: ignore[arg-type]
        for key, seconds in units.items()
        if key not in bad
    }
    return durations, _dropped_warning(path, bad) if bad else None


def merge_durations(
    old: Mapping[str, float],
    measured: Mapping[str, float],
    present: Collection[str] | None,
) -> dict[str, float]:
    """Return ``old`` updated with ``measured``.

    When ``present`` is given (the keys of every unit that exists now), keys
    in neither ``present`` nor ``measured`` are dropped, so that deleted or
    renamed classes do not linger. Without it (say, a run of a few selected
    tests, which cannot tell what was deleted) nothing is dropped.
    """
    merged = {**old, **measured}
    if present is None:
        return merged
    keep = set(present)
    return {key: seconds for key, seconds in merged.items() if key in keep or key in measured}


def _document(durations: Mapping[str, float]) -> str:
    units: dict[str, float] = {}
    for key, seconds in durations.items():
        # Refuse before touching the disk: the loader would reject the whole
        # file for one such value and every other duration would be lost.
        if not _is_seconds(seconds):
            raise ValueError(f"duration of {key!r} is {seconds!r}, not a number of seconds >= 0")
        units[key] = round(float(seconds), DECIMALS)
    return json.dumps({"format": FORMAT, "units": units}, sort_keys=True, indent=2) + "\n"


def save_durations(path: Path, durations: Mapping[str, float]) -> bool:
    """Write ``durations`` to ``path`` atomically, creating its directories; True if written.

    Readers, including a concurrent run, see either the old file or the whole
    new one: the content goes to a temporary file beside the file (beside a
    link's target: the link stays), is synced to disk and then renamed over it.
    A device or FIFO gets the content in one write and stays what it is. A
    file of a newer format is left alone and False returned. On any error the
    temporary file is removed, the old file is left as it was, and the error
    propagates. Raises ``ValueError`` for a duration that is not a number >= 0.
    """
    document = _document(durations)
    data, _ = _read(path)
    if isinstance(data, dict) and _newer(data.get("format")):
        return False
    write_text(path, document)
    return True


def durations_path(config: Any) -> Path:
    """``--durations-file``, else ``.testkit/durations.json`` in the project directory."""
    if config.durations_file:
        return Path(config.durations_file)
    return project_dir() / DEFAULT_PATH


def record_durations(
    runner: Any,
    old: Mapping[str, float] | None,
    measured: Mapping[str, float],
    present: Collection[str] | None,
) -> None:
    """Merge what a run measured into the store (``old``: what it started from, or None to
    read it now); a store that cannot be written is a warning, never an error."""
    path = durations_path(runner.config)
    if old is None:
        old, _ = load_durations(path)
    try:
        save_durations(path, merge_durations(old, measured, present))
    except OSError as exc:
        runner.log(f"Could not record test durations in {path}: {exc}", level=logging.WARNING)
