"""Coverage data of separate runs (the shards of one CI run) combined into one data file.

Each run measured in its own checkout; coverage.py's ``[paths]`` remapping
(an extra entry beside the project's own) turns every file path under another
checkout into the same path under this one, so the combined data reads as if
one run had measured everything here. The inputs are kept.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import coverage
from coverage.data import CoverageData

from django_testkit.cov.measure import PARTIAL_DATA_WARNINGS

#: The ``[paths]`` entry this module adds.
ALIASES = "django_testkit_checkouts"


def moved(value: Any, old: str, new: str) -> Any:
    """``value`` (a path, a list of them, or anything else) with checkout ``old`` as ``new``."""
    old = old.rstrip("/")
    if isinstance(value, str) and (value == old or value.startswith(old + "/")):
        return new.rstrip("/") + value[len(old) :]
    if isinstance(value, list):
        return [moved(item, old, new) for item in value]
    return value


def combine_runs(
    data_files: Sequence[str],
    checkouts: Sequence[str],
    here: str,
    data_file: str,
    config_file: str | bool,
    options: Mapping[str, Any],
) -> coverage.Coverage:
    """Combine ``data_files`` (measured in ``checkouts``) into ``data_file``, as measured
    in checkout ``here``; ``config_file`` and ``options`` are the runs' coverage settings
    (paths under their checkout already moved to ``here``)."""
    cov = coverage.Coverage(data_file=data_file, config_file=config_file)
    for name, value in options.items():
        cov.set_option(name, value)
    disabled: list[str] = list(cov.get_option("run:disable_warnings") or [])  # type: ignore[arg-type]
    cov.set_option("run:disable_warnings", disabled + PARTIAL_DATA_WARNINGS)
    others = sorted({os.path.normpath(path) for path in checkouts} - {os.path.normpath(here)})
    if others:
        paths: dict[str, list[str]] = dict(cov.get_option("paths") or {})  # type: ignore[arg-type]
        paths[ALIASES] = [here.rstrip("/") + "/", *(path.rstrip("/") + "/" for path in others)]
        cov.set_option("paths", paths)
    CoverageData(basename=data_file).erase()
    cov.combine(list(data_files), keep=True)
    cov.save()
    return cov
