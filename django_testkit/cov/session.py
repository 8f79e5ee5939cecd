"""Starting coverage before Django sets itself up, and the run's measurement session.

Django imports settings, models, admin and urls before it even looks up the
test runner, so a runner that starts coverage itself has already missed those
lines. When coverage is asked for and nothing measures the process yet, the
runner therefore starts the same command again, in place (``os.execv``: same
pid, terminal and signals), through :func:`boot`, which starts coverage first
and then runs the original entry point (``manage.py``, ``django-admin`` or
``python -m django``) exactly as ``coverage run`` would. When ``coverage run``
already measures the process, that measurement is extended instead: the
workers' data is combined into it.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import runpy
import shutil
import sys
from pathlib import Path
from typing import Any, NoReturn

import coverage

from django_testkit import _compat
from django_testkit.cov import measure
from django_testkit.cov.measure import CoverageSpec

#: Carries the spec from the first process to the relaunched one (removed on arrival).
ENV = "TESTKIT_COVERAGE_SPEC"

_session: Session | None = None


class Session:
    """The run's coverage: the parent's own measurement (or ``coverage run``'s)."""

    def __init__(self, spec: CoverageSpec, cov: coverage.Coverage, *, outer: bool = False) -> None:
        self.spec = spec
        self.cov = cov
        self.outer = outer
        self.note = ""
        self.finished: coverage.Coverage | None = None
        #: Data files present before the run, when coverage's own patch measures workers.
        self.earlier_files: set[str] | None = None
        #: Started at interpreter start-up from the command line alone: the runner checks
        #: it against the measurement the settings ask for (:func:`confirm`).
        self.early = False
        #: The runner took the early session over (it finishes and cleans it up).
        self.claimed = False

    def worker_spec(self) -> CoverageSpec | None:
        """What workers measure with; None when coverage's own patch measures them."""
        return None if self.earlier_files is not None else self.spec

    def finish(self) -> coverage.Coverage:
        """Stop the parent's share, combine every fragment; safe to call twice."""
        if self.finished is None:
            if self.outer:
                self.finished = measure.combine(self.spec, into=self.cov)
                if self.earlier_files is not None:
                    measure.combine_new_files(self.cov, self.earlier_files)
            else:
                self.cov.stop()
                self.cov.save()
                self.finished = measure.combine(self.spec)
        return self.finished


def current() -> Session | None:
    return _session


def adopt(outer: coverage.Coverage, spec: CoverageSpec) -> Session:
    """Extend the measurement of ``coverage run``: workers use its settings and data."""
    global _session
    options: dict[str, Any] = {}
    for name in (
        "run:source",
        "run:source_pkgs",
        "run:source_dirs",
        "run:include",
        "run:omit",
        "run:branch",
        "run:plugins",
        "run:core",
        "run:cover_pylib",
        "run:timid",
        "run:relative_files",
        "run:context",
    ):
        value = outer.get_option(name)
        if value not in (None, [], ""):
            options[name] = value
    options["run:parallel"] = False
    config_file = outer.config.config_file or False
    adopted = CoverageSpec(
        config_file=config_file,
        options=options,
        fragments=measure.make_fragments_dir(str(outer.get_option("run:data_file"))),
        contexts=spec.contexts,
        class_contexts=spec.class_contexts and not outer.get_option("run:dynamic_context"),
        described="Coverage: extending the measurement of the `coverage run` running this "
        "command (its settings apply); workers' data is combined into it.",
    )
    _session = Session(adopted, outer, outer=True)
    if _compat.coverage_patched_multiprocessing():
        # `concurrency = multiprocessing`: coverage measures the workers itself and
        # leaves their data files beside its own; they are combined in at the end.
        _session.earlier_files = measure.data_files(outer)
    return _session


def start_here(spec: CoverageSpec) -> Session:
    """Measure from now on in this process (lines already run are missed)."""
    global _session
    spec = _with_fragments(spec)
    _session = Session(spec, measure.start(spec, "parent"))
    _session.note = (
        "Coverage: started after Django was set up (this is not a `manage.py test` command "
        "line), so module-level lines that ran earlier are not measured; use "
        "`coverage run` around this program to measure them."
    )
    return _session


def start_early(spec: CoverageSpec) -> Session:
    """Measure from interpreter start-up (:mod:`django_testkit.cov.early`)."""
    global _session
    spec = _with_fragments(spec)
    _session = Session(spec, measure.start(spec, "parent"))
    _session.early = True
    # A command that never reaches the runner (--help, a usage error, another
    # TEST_RUNNER) leaves no fragments directory behind.
    atexit.register(_unclaimed, _session)
    return _session


def _unclaimed(session: Session) -> None:
    if session.early and not session.claimed:
        _drop(session)


def _drop(session: Session) -> None:
    """Stop an early measurement and remove its fragments directory."""
    session.cov.stop()
    shutil.rmtree(session.spec.fragments, ignore_errors=True)


def confirm(spec: CoverageSpec) -> Session | None:
    """The early session if it measures as ``spec`` says; else None, with it stopped and
    its fragments removed (the command is then relaunched under coverage)."""
    global _session
    session = _session
    if session is None or not session.early:
        return session
    if dataclasses.replace(session.spec, fragments="") == dataclasses.replace(spec, fragments=""):
        session.claimed = True
        return session
    _drop(session)
    _session = None
    return None


def _with_fragments(spec: CoverageSpec) -> CoverageSpec:
    return dataclasses.replace(spec, fragments=measure.make_fragments_dir(spec.data_file))


def entry_point() -> tuple[str, str] | None:
    """How this process was started: ("module", name) or ("path", script); None if unknown."""
    if len(sys.argv) < 2 or sys.argv[1] != "test":
        return None
    main = sys.modules.get("__main__")
    module_spec = getattr(main, "__spec__", None)
    if module_spec is not None and module_spec.name:
        return ("module", module_spec.name)
    script = Path(sys.argv[0])
    if sys.argv[0] and script.is_file():
        return ("path", str(script.resolve()))
    return None


def relaunch(spec: CoverageSpec, target: tuple[str, str]) -> NoReturn:
    """Run this command again, in this process, with coverage started first."""
    os.environ[ENV] = spec.to_json()
    flags = _compat.interpreter_flags()
    argv = [sys.executable, *flags, "-m", "django_testkit.cov.session", *target, *sys.argv]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)


def boot(argv: list[str]) -> None:
    """``python -m django_testkit.cov.session KIND TARGET ARGV...``: measure, then run."""
    global _session
    spec = _with_fragments(CoverageSpec.from_json(os.environ.pop(ENV)))
    kind, target, *original = argv
    _session = Session(spec, measure.start(spec, "parent"))
    sys.argv = original
    # What Python itself puts first on sys.path for `-m` and for a script (none with -P).
    if not sys.flags.safe_path:
        sys.path[0] = os.getcwd() if kind == "module" else os.path.dirname(target)
    if kind == "module":
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        runpy.run_path(target, run_name="__main__")


if __name__ == "__main__":
    from django_testkit.cov.session import boot as _boot

    _boot(sys.argv[1:])
