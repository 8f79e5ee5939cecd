"""The durations store: seconds of the last complete run of each unit, in JSON.

The file looks like ``{"format": 1, "units": {"shop.tests.ItemTests": 0.123}}``
and is written with sorted keys and indentation, so that a committed or cached
copy changes by a few lines per run. It is a cache: a file that cannot be used
is ignored with a warning and rewritten after the run, never an error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from django_testkit.atomic import write_text

#: Version of the file layout; a file in another format is ignored.
FORMAT = 1
#: Where durations are kept, relative to the project directory.
DEFAULT_PATH = Path(".testkit") / "durations.json"
#: Decimals kept per duration: microseconds, well below timer noise.
DECIMALS = 6

# Keeps a warning on one line when a file holds a huge key or value.
_MAX_SHOWN = 60


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


def _problem(data: Any) -> str | None:
    """Say what is wrong with the decoded file ``data``, or None when it is usable."""
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
    for key, seconds in units.items():
        if not _is_seconds(seconds):
            return f"unit {_shown(key)} has {_shown(seconds)}, not a number of seconds >= 0"
    return None


def _warning(path: Path, problem: str) -> str:
    problem = " ".join(problem.split())
    return f"Ignoring the durations file {path}: {problem}; it will be rewritten after this run."


def load_durations(path: Path) -> tuple[dict[str, float], str | None]:
    """Read the durations file at ``path``.

    Returns the durations by unit key and a warning. A missing file gives
    ``({}, None)``. A file that cannot be read, is not JSON, has another layout
    or format, or holds a duration that is not a number >= 0 gives ``{}`` and a
    one-line warning naming the file and the problem. Problems with the file's
    content never raise.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}, None
    except OSError as error:
        return {}, _warning(path, f"it cannot be read ({error.strerror or error})")
    try:
        data = json.loads(raw)
    except ValueError as error:
        # JSONDecodeError and UnicodeDecodeError are both ValueErrors.
        return {}, _warning(path, f"it is not valid JSON ({error})")
    except RecursionError:
        return {}, _warning(path, "it is not valid JSON (nested too deeply)")
    problem = _problem(data)
    if problem is not None:
        return {}, _warning(path, problem)
    return {key: float(seconds) for key, seconds in data["units"].items()}, None


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


def save_durations(path: Path, durations: Mapping[str, float]) -> None:
    """Write ``durations`` to ``path`` atomically, creating its directories.

    Readers, including a concurrent run, see either the old file or the whole
    new one: the content goes to a temporary file in the same directory, is
    synced to disk and then renamed over ``path``. On any error the temporary
    file is removed, the old file is left as it was, and the error propagates.
    Raises ``ValueError`` for a duration that is not a number >= 0.
    """
    write_text(path, _document(durations))
