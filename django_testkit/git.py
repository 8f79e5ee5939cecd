"""Asking git about the checkout: reading commands only, without the index lock."""

from __future__ import annotations

import os
import subprocess

# Every command quotes unusual paths the same way, whatever core.quotePath says.
_GIT = ("git", "-c", "core.quotepath=true")


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def run(*args: str, cwd: str | os.PathLike[str]) -> subprocess.CompletedProcess[bytes] | None:
    """Run git; None when git is not installed or ``cwd`` does not exist."""
    # Reading commands must not take the index lock that a concurrent git needs.
    environ = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        return subprocess.run(
            [*_GIT, *args], cwd=cwd, capture_output=True, text=False, env=environ, check=False
        )
    except OSError:
        return None


def output(result: subprocess.CompletedProcess[bytes] | None) -> str | None:
    """What a command that succeeded printed (without the last line end); else None."""
    if result is None or result.returncode != 0:
        return None
    return decode(result.stdout).removesuffix("\n")


def top_level(cwd: str | os.PathLike[str]) -> str | None:
    """The top directory of the git repository containing ``cwd``; None outside one."""
    return output(run("rev-parse", "--show-toplevel", cwd=cwd)) or None


def commit_of(ref: str, cwd: str | os.PathLike[str]) -> str | None:
    """The commit ``ref`` names; None when it names none."""
    # A name starting with "-" would be read as an option, never as a revision.
    if not ref or ref.startswith("-"):
        return None
    return output(run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=cwd)) or None
