"""Coverage reports through coverage.py's own API, never half-written.

File reports are written beside their destination under a temporary name and
moved into place when complete; an HTML directory is replaced as a whole.
Destinations are checked before the run starts, so an unwritable path stops
the run before any database is created.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

import coverage

from django_testkit import atomic
from django_testkit.covoptions import ReportSpec
from django_testkit.exceptions import ConfigurationError

STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


def _writable(path: Path) -> bool:
    """Whether ``path`` could be created: its nearest existing ancestor is a writable dir."""
    for folder in [path.parent, *path.parent.parents]:
        if folder.exists():
            return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
    return False


def resolve_destinations(
    specs: tuple[ReportSpec, ...], environ: Mapping[str, str]
) -> tuple[ReportSpec, ...]:
    """Fill in default destinations and check every one can be written."""
    resolved = []
    for spec in specs:
        if spec.kind == "markdown-append" and not spec.dest:
            summary = environ.get(STEP_SUMMARY, "")
            if not summary:
                raise ConfigurationError(
                    "--cov-report markdown-append has no destination and "
                    f"${STEP_SUMMARY} is not set; write markdown-append:PATH."
                )
            spec = ReportSpec(spec.kind, summary, spec.skip_covered)
        if not spec.to_terminal:
            path = Path(spec.dest)
            is_dir = path.is_dir()
            wrong_kind = is_dir if spec.kind != "html" else path.exists() and not is_dir
            if wrong_kind or not _writable(path):
                raise ConfigurationError(
                    f"--cov-report {spec.kind}:{spec.dest} cannot be written "
                    f"({'a directory is in the way' if wrong_kind and is_dir else 'not writable'}"
                    "); give a path in a writable directory."
                )
        resolved.append(spec)
    return tuple(resolved)


def _replace_dir(dest: str, write: Any) -> None:
    target = os.path.abspath(dest)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=".testkit-", dir=os.path.dirname(target))
    try:
        write(scratch)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    shutil.rmtree(target, ignore_errors=True)
    os.replace(scratch, target)


def _markdown(cov: coverage.Coverage, spec: ReportSpec) -> str:
    text = io.StringIO()
    cov.report(file=text, output_format="markdown", skip_covered=spec.skip_covered)
    return text.getvalue()


def write_report(cov: coverage.Coverage, spec: ReportSpec, out: TextIO = sys.stdout) -> str:
    """Write one report; return the line saying where it went ("" for the terminal)."""
    kind, dest = spec.kind, spec.dest
    if spec.to_terminal:
        cov.report(file=out, show_missing=kind == "term-missing", skip_covered=spec.skip_covered)
        return ""
    if kind == "html":
        _replace_dir(dest, lambda d: cov.html_report(directory=d, skip_covered=spec.skip_covered))
        return f"Coverage HTML written to dir {dest}"
    if kind == "markdown-append":
        with open(dest, "a", encoding="utf-8") as summary:
            summary.write(_markdown(cov, spec))
        return f"Coverage Markdown appended to {dest}"
    if kind == "markdown":
        atomic.write_text(Path(dest), _markdown(cov, spec))
    else:
        writer: Callable[..., float] = getattr(cov, f"{kind}_report")
        atomic.replace_file(Path(dest), lambda path: writer(outfile=str(path)))
    names = {"xml": "XML", "json": "JSON", "lcov": "LCOV", "markdown": "Markdown"}
    return f"Coverage {names[kind]} written to file {dest}"


def numbers(cov: coverage.Coverage) -> dict[str, Any]:
    """coverage's JSON report as a dict: the per-file figures thresholds are checked on."""
    with tempfile.TemporaryDirectory(prefix="testkit-") as scratch:
        path = os.path.join(scratch, "coverage.json")
        cov.json_report(outfile=path)
        with open(path, encoding="utf-8") as handle:
            loaded: dict[str, Any] = json.load(handle)
    return loaded
