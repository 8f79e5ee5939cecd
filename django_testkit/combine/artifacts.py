"""``--artifacts DIR``: everything ``combine`` needs from one run, written into one folder.

The folder gets the run's coverage data (``coverage.data``), its JUnit XML
(``junit.xml``), the class durations it measured (``durations.json``, the
durations store's format), the tests that failed (``failed.json``, the failures
store's format), its timeline (``timeline.json``) and, last, ``manifest.json``
(:mod:`django_testkit.combine.manifest`). The old manifest goes first, so a
folder whose writing was cut short has none and ``combine`` refuses it; every
file is replaced whole, and only a regular file is ever replaced.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from django_testkit import files
from django_testkit.combine.manifest import FILE_NAME, Manifest, config_document
from django_testkit.exceptions import EXIT_TESTS_FAILED
from django_testkit.parallel import failures
from django_testkit.parallel.durations import durations_path, save_durations
from django_testkit.parallel.timeline import Timeline, to_document

COVERAGE = "coverage.data"
JUNIT = "junit.xml"
DURATIONS = "durations.json"
FAILED = "failed.json"
TIMELINE = "timeline.json"


def _regular(path: Path) -> Path:
    """``path``, when a file may be written there (missing, or a regular file)."""
    kind = files.kind_of(path)
    if kind not in (files.MISSING, files.REGULAR):
        raise OSError(f"{path} is not a regular file, so nothing was written to it")
    return path


def _versions() -> dict[str, str]:
    import coverage
    import django

    from django_testkit._version import __version__

    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "coverage": coverage.__version__,
        "django-testkit": __version__,
    }


def _checkout(cwd: str) -> str:
    from django_testkit.git import top_level

    return top_level(cwd) or str(files.project_dir())


def _coverage(runner: Any, folder: Path) -> dict[str, Any]:
    """Copy the run's coverage data into ``folder``; what ``combine`` reports it with."""
    session = getattr(runner.coverage, "session", None)
    if session is None:
        return {}
    from coverage.data import CoverageData

    data = session.finish().get_data()

    def write(temporary: Path) -> None:
        copy = CoverageData(basename=str(temporary))
        copy.update(data)
        copy.write()

    files.replace_file(_regular(folder / COVERAGE), write)
    rules = runner.config.cov_fail_under_paths
    roots: dict[str, str] = {}
    if rules:
        from django_testkit.cov.gates import app_roots

        roots = app_roots(rules)
    spec = session.spec
    return {
        "data": COVERAGE,
        "config_file": spec.config_file,
        "options": spec.options,
        "data_file": spec.data_file or str(session.cov.get_option("run:data_file")),
        "app_roots": roots,
    }


def _manifest(runner: Any, result: Any, failed: int, incomplete: str) -> Manifest:
    config = runner.config
    values, origins = config_document(config)
    shard = runner.shard
    cwd = os.getcwd()
    store = os.path.abspath(durations_path(config))
    inside = not os.path.relpath(store, cwd).startswith("..")
    return Manifest(
        shard=(shard.index, shard.total) if shard is not None else None,
        split=runner.shard_split,
        selection={
            "labels": list(runner.labels),
            "tags": sorted(runner.tags or ()),
            "exclude_tags": sorted(runner.exclude_tags or ()),
            "patterns": list(runner.test_name_patterns or ()),
        },
        whole_selection=runner.whole_selection,
        selected=runner.shard_selected or result.testsRun,
        config=values,
        origins=origins,
        versions=_versions(),
        cwd=cwd,
        root=_checkout(cwd),
        outcome={
            "tests": result.testsRun,
            "failures": len(result.failures),
            "errors": len(result.errors),
            "skipped": len(result.skipped),
            "expected_failures": len(getattr(result, "expectedFailures", ())),
            "unexpected_successes": len(getattr(result, "unexpectedSuccesses", ())),
            "failed": failed,
            "status": EXIT_TESTS_FAILED if failed else runner.coverage_status,
        },
        incomplete=incomplete,
        durations_store=os.path.relpath(store, cwd) if inside else store,
        started=time.time() - (time.monotonic() - runner.run_started),
        seconds=time.monotonic() - runner.run_started,
    )


def write_artifacts(
    runner: Any, result: Any, failed: int, incomplete: str, junit: bytes, timeline: Timeline
) -> bool:
    """Fill ``--artifacts``'s folder; False (after one line on stderr) when it cannot be."""
    folder = Path(runner.config.artifacts)
    try:
        manifest = _manifest(runner, result, failed, incomplete)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / FILE_NAME).unlink(missing_ok=True)
        written = {"junit": JUNIT, "durations": DURATIONS, "failed": FAILED, "timeline": TIMELINE}
        coverage = _coverage(runner, folder)
        files.write_bytes(_regular(folder / JUNIT), junit)
        save_durations(_regular(folder / DURATIONS), runner.measured)
        now = failures.failed_in(result)
        failures.record(_regular(folder / FAILED), failures.Failed(), now, None)
        document = json.dumps(to_document(timeline), indent=1) + "\n"
        files.write_text(_regular(folder / TIMELINE), document)
        manifest = Manifest(**{**vars(manifest), "coverage": coverage, "files": written})
        files.write_text(_regular(folder / FILE_NAME), manifest.to_json())
    except OSError as exc:
        print(
            f"The artifacts could not be written to {folder} ({exc}); this run counts as "
            "failed, since combine would miss them.",
            file=sys.stderr,
        )
        return False
    return True
