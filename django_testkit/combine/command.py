"""``python -m django_testkit combine DIR...``: the shards of one CI run judged as one run.

No Django settings are needed: everything comes from the folders the shards
wrote with ``--artifacts``. The folders are checked first (every shard once,
same options, same versions, same split); then the coverage data is combined,
paths remapped to this checkout, the reports written and the thresholds checked
once on the whole; the JUnit files become one; the durations and failures
stores are updated for the next split. Exit status as a single run's: 1 when
a shard had failures (or the folders are not one run), else 2 when a coverage
threshold was missed, else 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django_testkit import files, records
from django_testkit.combine import manifest as manifests
from django_testkit.combine import merging
from django_testkit.combine.manifest import CombineError, Manifest
from django_testkit.exceptions import EXIT_TESTS_FAILED, TestkitError
from django_testkit.options import Source
from django_testkit.specs import ReportSpec, parse_optional_minimum, parse_reports

HELP = "Combine the artifacts folders of a sharded run: one verdict, one set of reports."


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("combine", help=HELP, description=HELP)
    parser.add_argument("folders", nargs="+", metavar="DIR", help="a shard's --artifacts folder")
    parser.add_argument(
        "--cov-report",
        action="append",
        metavar="TYPE[:DEST]",
        help="report to write instead of the shards' own (repeatable; --cov-report= for none)",
    )
    parser.add_argument(
        "--cov-fail-under",
        metavar="MIN",
        help="exit with status 2 when total coverage is below MIN",
    )
    parser.add_argument(
        "--junit-xml",
        metavar="PATH",
        help="where the merged JUnit XML goes (default: junit.xml)",
    )
    parser.add_argument(
        "--timeline", metavar="PATH", help="write one page with every shard's timeline to PATH"
    )
    parser.add_argument(
        "--data-file",
        metavar="PATH",
        help="where the combined coverage data goes (default: coverage's data file here)",
    )
    parser.add_argument(
        "--no-record",
        action="store_true",
        help="leave the durations and failures stores as they are",
    )


def _read(folders: Sequence[str]) -> list[tuple[Manifest, Path]]:
    found = [(manifests.read(Path(folder)), Path(folder)) for folder in folders]
    manifests.check_set(found)
    return sorted(found, key=lambda item: item[0].shard or (0, 0))


def _config(first: Manifest, args: argparse.Namespace) -> Any:
    """The shards' options, with what the combine command line says instead."""
    config = first.testkit_config()
    changes: dict[str, Any] = {}
    origins = dict(config.origins)
    if args.cov_report is not None:
        changes["cov_report"] = parse_reports(args.cov_report, "--cov-report")
        origins["cov_report"] = Source.COMMAND_LINE
    if args.cov_fail_under is not None:
        changes["cov_fail_under"] = parse_optional_minimum(args.cov_fail_under, "--cov-fail-under")
        origins["cov_fail_under"] = Source.COMMAND_LINE
    return records.replace(config, **changes, origins=origins)


def _here(found: Sequence[tuple[Manifest, Path]]) -> str:
    """This checkout: where the first shard's checkout is, seen from its working directory."""
    first = found[0][0]
    return os.path.normpath(os.path.join(os.getcwd(), os.path.relpath(first.root, first.cwd)))


def _check_coverage_asked(
    found: Sequence[tuple[Manifest, Path]], args: argparse.Namespace
) -> None:
    """Coverage options given to combine for shards that measured none: one line."""
    if found[0][0].coverage:
        return
    given = (("--cov-fail-under", args.cov_fail_under), ("--cov-report", args.cov_report))
    asked = [flag for flag, value in given if value and any(str(v).strip() for v in value)]
    if asked:
        raise CombineError(
            f"combine: {' and '.join(asked)} given, but the shards measured no coverage; "
            "run them with --cov."
        )


def _coverage(
    found: Sequence[tuple[Manifest, Path]], config: Any, args: argparse.Namespace, failed: int
) -> Any:
    """Combine, report and check coverage; the findings (None when coverage was off)."""
    first = found[0][0]
    if not first.coverage:
        return None
    from django_testkit.cov import merge
    from django_testkit.cov.gates import assess
    from django_testkit.cov.reports import resolve_destinations

    here = _here(found)
    asked = (ReportSpec("term"),) if config.cov_report is None else config.cov_report
    specs = resolve_destinations(asked, os.environ)
    settings = first.coverage
    config_file = settings["config_file"]
    if isinstance(config_file, str):
        config_file = merge.moved(config_file, first.root, here)
    data_file = args.data_file or merge.moved(settings["data_file"], first.root, here)
    options = {
        name: merge.moved(value, first.root, here) for name, value in settings["options"].items()
    }
    cov = merge.combine_runs(
        [str(folder / manifest.coverage["data"]) for manifest, folder in found],
        [manifest.root for manifest, _ in found],
        here,
        os.path.abspath(data_file),
        config_file,
        options,
    )
    roots = dict(settings.get("app_roots") or {})
    whole = all(manifest.whole_selection for manifest, _ in found)
    return assess(cov, specs, config, whole, failed, lambda rules: roots)


#: unittest's words for the counts in its last line, in its order.
_WORDS = (
    ("failures", "failures"),
    ("errors", "errors"),
    ("skipped", "skipped"),
    ("expected_failures", "expected failures"),
    ("unexpected_successes", "unexpected successes"),
)


def _summary(found: Sequence[tuple[Manifest, Path]], failed: int) -> list[str]:
    totals = {
        name: sum(m.outcome.get(name, 0) for m, _ in found) for name in ("tests", *dict(_WORDS))
    }
    first = found[0][0]
    versions = ", ".join(f"{name} {version}" for name, version in first.versions.items())
    seconds = max(manifest.seconds for manifest, _ in found)
    what = f"{len(found)} shards" if first.shard else "one run"
    lines = [
        f"Combined {what} ({versions}): ran {totals['tests']} tests; the longest took "
        f"{seconds:.1f}s."
    ]
    counts = [f"{word}={totals[name]}" for name, word in _WORDS if totals[name]]
    if failed:
        lines.append(f"FAILED ({', '.join(counts) or 'tests were not run'})")
    else:
        lines.append(f"OK ({', '.join(counts)})" if counts else "OK")
    for manifest, _ in found:
        if manifest.outcome.get("failed"):
            lines.append(f"  {manifest.label}: {manifest.outcome['failed']} failed or not run.")
    return lines


def _write_reports(
    found: Sequence[tuple[Manifest, Path]], args: argparse.Namespace, title: str
) -> None:
    report, ran = merging.junit(found)
    destination = Path(args.junit_xml or "junit.xml")
    files.write_bytes(destination, report)
    print(f"JUnit XML of {len(found)} shard(s) written to {destination}")
    if args.timeline:
        from django_testkit.parallel.timeline import render

        page = render(merging.timeline(found, title))
        files.write_text(Path(args.timeline), page)
        print(f"Timeline of {len(found)} shard(s) written to {args.timeline}")
    if args.no_record:
        return
    first = found[0][0]
    store = Path(first.durations_store or ".testkit/durations.json")
    complete = not any(manifest.incomplete for manifest, _ in found)
    whole = complete and all(manifest.whole_selection for manifest, _ in found)
    warning = merging.record_durations(found, store, whole)
    if warning:
        print(warning, file=sys.stderr)
    failures_store = store.with_name("failed.json")
    merging.record_failures(found, failures_store, ran, complete)


def run(args: argparse.Namespace) -> int:
    """The ``combine`` command; its exit status."""
    from django_testkit.cov.verdict import decide

    try:
        found = _read(args.folders)
        _check_coverage_asked(found, args)
        config = _config(found[0][0], args)
        failed = sum(manifest.outcome.get("failed", 0) for manifest, _ in found)
        for line in _summary(found, failed):
            print(line)
        title = f"django-testkit: {len(found)} shard(s) combined"
        _write_reports(found, args, title)
        findings = _coverage(found, config, args, failed)
    except TestkitError as error:
        print(str(error), file=sys.stderr)
        return EXIT_TESTS_FAILED
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        print(f"combine: could not write{where} ({error.strerror or error}).", file=sys.stderr)
        return EXIT_TESTS_FAILED
    lacking = "; ".join(
        f"{manifest.label}: {manifest.incomplete}" for manifest, _ in found if manifest.incomplete
    )
    verdict = decide(failed, findings, lacking)
    for line in verdict.lines:
        print(line, file=sys.stderr)
    return verdict.status
