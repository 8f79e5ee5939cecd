"""Coverage reports through coverage.py's own API, never half-written.

File reports are written beside their destination under a temporary name and
moved into place when complete (through a link, at its target); a device, FIFO
or ``/dev/stdout`` gets the finished report in one write and is never replaced
(see :mod:`django_testkit.files`). An HTML directory is replaced as a whole.
Destinations are checked before the run starts, so an unwritable path stops
the run before any database is created.
"""

from __future__ import annotations

import errno
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

from django_testkit import files
from django_testkit.exceptions import ConfigurationError
from django_testkit.specs import ReportSpec

STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


def _html_problem(dest: str) -> str | None:
    """Why the HTML report's directory could not be written at ``dest``, or None."""
    kind = files.kind_of(dest)
    if kind == files.DIRECTORY:
        # Its parent must take the new directory that replaces it.
        parent = os.path.dirname(os.path.realpath(dest))
        return files.destination_problem(os.path.join(parent, ".testkit-html"))
    if kind != files.MISSING:
        return "it is a file, and an HTML report is a directory"
    return files.destination_problem(os.path.join(dest, "index.html"))


def resolve_destinations(
    specs: tuple[ReportSpec, ...], environ: Mapping[str, str]
) -> tuple[ReportSpec, ...]:
    """Fill in default destinations and check that every one can be written.

    A destination that is a directory (a file, for ``html``), or where no file
    can be created, is a one-line ``ConfigurationError``; a device, FIFO or
    ``/dev/stdout`` is accepted (the report is written into it in one write).
    """
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
            if spec.kind == "html":
                problem = _html_problem(spec.dest)
            else:
                problem = files.destination_problem(spec.dest)
            if problem is not None:
                raise ConfigurationError(
                    f"--cov-report {spec.kind}:{spec.dest} cannot be written ({problem}); "
                    "give a path in a writable directory."
                )
        resolved.append(spec)
    return tuple(resolved)


def _replace_dir(dest: str, write: Any) -> None:
    # Through a link, the directory it points at is replaced and the link kept.
    target = os.path.realpath(dest)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=".testkit-", dir=os.path.dirname(target))
    try:
        write(scratch)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    if files.kind_of(target) not in (files.DIRECTORY, files.MISSING):
        shutil.rmtree(scratch, ignore_errors=True)
        raise OSError(errno.ENOTDIR, "it is a file, and an HTML report is a directory", dest)
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
        files.append_text(Path(dest), _markdown(cov, spec))
        return f"Coverage Markdown appended to {dest}"
    if kind == "markdown":
        files.write_text(Path(dest), _markdown(cov, spec))
    else:
        writer: Callable[..., float] = getattr(cov, f"{kind}_report")
        files.replace_file(Path(dest), lambda path: writer(outfile=str(path)))
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
