"""Which lines changed since a base commit, read from git.

``changed_lines`` compares the working tree (staged and unstaged changes) with
a base commit and adds the untracked files, so that coverage of changed lines
covers what a pull request would contain. Paths are relative to the repository
root, with ``/`` separators. Git is run without a shell, with options that
override user configuration which would change the diff's format.
"""

from __future__ import annotations

import re
from pathlib import Path

from django_testkit import files
from django_testkit.exceptions import ConfigurationError, TestkitError
from django_testkit.git import commit_of, decode, output, run, top_level

#: Refs tried, in order, by ``named_default_base`` to find the branch work started from.
BASE_CANDIDATES = ("origin/HEAD", "origin/main", "origin/master", "main", "master")

_HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {
    "a": b"\a",
    "b": b"\b",
    "t": b"\t",
    "n": b"\n",
    "v": b"\v",
    "f": b"\f",
    "r": b"\r",
    '"': b'"',
    "\\": b"\\",
}
_OCTAL = re.compile(r"[0-3][0-7]{2}")

# Each option pins a part of the output that user configuration could change:
# prefixes (diff.noprefix, diff.mnemonicPrefix), paths relative to the root
# (diff.relative), and the real content instead of external drivers or textconv.
_DIFF = (
    "diff",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--ignore-submodules=all",
    "-U0",
    "-M",
)


def unquote_path(text: str) -> str:
    """A path as git prints it: C-quoted in double quotes when it has special characters.

    Octal escapes are bytes of the UTF-8 name (``\\303\\251`` is ``é``); a path
    without quotes is returned as it is.
    """
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        return text
    body = text[1:-1]
    data = bytearray()
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\" or index + 1 == len(body):
            data += char.encode("utf-8", "surrogateescape")
            index += 1
        elif _OCTAL.match(body, index + 1):
            data.append(int(body[index + 1 : index + 4], 8))
            index += 4
        else:
            data += _ESCAPES.get(
                body[index + 1], body[index : index + 2].encode("utf-8", "surrogateescape")
            )
            index += 2
    return decode(bytes(data))


def _new_path(header: str) -> str | None:
    """The path of a ``+++`` line, without its ``b/`` prefix; None for ``/dev/null``."""
    # Git ends the line with a tab when the name holds a space (quoted or not), for
    # patch(1); a name that really ends with a tab is quoted, so the tab is not part of it.
    name = unquote_path(header[4:].removesuffix("\t"))
    if name == "/dev/null":
        return None
    return name.removeprefix("b/")


def parse_unified_diff(text: str) -> dict[str, set[int]]:
    """The added or changed lines of each file, numbered in its new version.

    ``text`` is ``git diff`` output with ``b/`` destination prefixes, with any
    amount of context. Deleted files, binary files, pure renames and hunks that
    only remove lines contribute nothing. Keys are the new paths.
    """
    changed: dict[str, set[int]] = {}
    path: str | None = None
    old_left = new_left = 0
    line_number = 0
    # Split on "\n" only: a changed line may hold "\r", "\f" or other characters
    # that str.splitlines() would also treat as line ends.
    for line in text.split("\n"):
        if old_left > 0 or new_left > 0:
            # Inside a hunk, a line is content even if it looks like a header.
            kind = line[:1]
            if kind == "+":
                if path is not None:
                    changed.setdefault(path, set()).add(line_number)
                line_number += 1
                new_left -= 1
                continue
            if kind == "-":
                old_left -= 1
                continue
            if kind in (" ", ""):
                # diff.suppressBlankEmpty prints a blank context line as an empty one.
                line_number += 1
                old_left -= 1
                new_left -= 1
                continue
            if kind == "\\":
                continue
            # Anything else means the hunk was cut short: read it as a header.
            old_left = new_left = 0
        if line.startswith("diff --git "):
            path = None
        elif line.startswith("+++ "):
            path = _new_path(line)
        elif line.startswith("@@ "):
            match = _HUNK.match(line)
            if match:
                old_left = int(match[2] or 1)
                new_left = int(match[4] or 1)
                line_number = int(match[3])
    return changed


def named_default_base(cwd: str) -> tuple[str, str] | None:
    """The merge base of HEAD with the first of ``BASE_CANDIDATES`` that exists, and that
    candidate's name: (name, commit).

    On the base branch itself that is HEAD, so only uncommitted work counts as
    changed. None when no candidate exists or none shares history with HEAD.
    """
    for candidate in BASE_CANDIDATES:
        commit = commit_of(candidate, cwd)
        if commit is None:
            continue
        base = output(run("merge-base", "HEAD", commit, cwd=cwd))
        if base:
            return candidate, base
    return None


def _line_count(path: Path) -> int:
    """Number of lines of a text file; 0 for binary, undecodable or unreadable files."""
    # An untracked FIFO is not read: it would wait for a writer forever.
    data = files.read_regular(path)
    try:
        if data is None:
            return 0
        data.decode("utf-8")
    except UnicodeDecodeError:
        return 0
    if b"\0" in data:
        return 0
    # bytes.splitlines() ends lines at \n, \r\n and \r, like Python's own tokenizer.
    return len(data.splitlines())


def resolve_base(base: str, cwd: str) -> tuple[str, str]:
    """The repository root and the commit ``base`` names; ``ConfigurationError`` if none."""
    root = top_level(cwd)
    if root is None:
        raise ConfigurationError(
            f"--diff-base {base!r} needs a git repository, but {cwd} is not in one (or git is "
            "not installed); run the tests in a git checkout or leave out --diff-base."
        )
    commit = commit_of(base, root)
    if commit is None:
        raise ConfigurationError(
            f"--diff-base {base!r} is not a commit in the git repository at {root}; use a "
            "branch, tag or commit such as origin/main."
        )
    return root, commit


def changed_lines(base: str, cwd: str) -> dict[str, set[int]]:
    """Lines changed in the working tree since ``base``, by path relative to the repository.

    Staged and unstaged changes to tracked files count, and so does every line
    of untracked files that are not ignored. Raises ``ConfigurationError`` when
    ``cwd`` is not in a git repository or ``base`` is not a commit.
    """
    root, commit = resolve_base(base, cwd)
    diff = run(*_DIFF, commit, "--", cwd=root)
    if diff is None or diff.returncode != 0:
        reason = decode(diff.stderr).strip().splitlines() if diff else ["git did not start"]
        raise TestkitError(
            f"git diff against {base!r} failed in {root}: {reason[0] if reason else 'no message'}."
        )
    changed = parse_unified_diff(decode(diff.stdout))
    untracked = run("ls-files", "--others", "--exclude-standard", "-z", cwd=root)
    if untracked is not None and untracked.returncode == 0:
        for name in decode(untracked.stdout).split("\0"):
            count = _line_count(Path(root, name)) if name else 0
            if count:
                changed.setdefault(name, set()).update(range(1, count + 1))
    return changed
