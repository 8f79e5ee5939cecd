"""The ``python -m django_testkit`` / ``django-testkit`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from django_testkit import __version__

    parser = argparse.ArgumentParser(
        prog="django-testkit",
        description=(
            "Companion command of the django-testkit test runner. Tests run through "
            "`python manage.py test` with TEST_RUNNER = 'django_testkit.TestkitRunner'."
        ),
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"django-testkit {__version__}",
    )
    from django_testkit.combine.command import add_parser

    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.command == "combine":
        from django_testkit.combine.command import run

        return run(args)
    parser.print_help()
    return 0
