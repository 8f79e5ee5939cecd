"""Changed lines from git: the diff parser on literal texts, then real temporary repositories."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from django_testkit.cov.gitdiff import (
    changed_lines,
    named_default_base,
    parse_unified_diff,
    unquote_path,
)
from django_testkit.exceptions import ConfigurationError
from django_testkit.git import top_level as repo_root

MODIFIED = """\
diff --git a/shop/cart.py b/shop/cart.py
index 3b18e51..a1f2c3d 100644
--- a/shop/cart.py
+++ b/shop/cart.py
@@ -2 +2 @@ import os
-old = 1
+new = 1
@@ -10,0 +11,2 @@ def total():
+    a = 1
+    b = 2
@@ -20,3 +22 @@ def tax():
-x
-y
-z
+xyz
"""

NEW_FILE = """\
diff --git a/new.py b/new.py
new file mode 100644
index 0000000..e69de29
--- /dev/null
+++ b/new.py
@@ -0,0 +1,3 @@
+one
+two
+three
"""

DELETED = """\
diff --git a/gone.py b/gone.py
deleted file mode 100644
index 3367afd..0000000
--- a/gone.py
+++ /dev/null
@@ -1,2 +0,0 @@
-old
-older
"""

BINARY = """\
diff --git a/logo.png b/logo.png
index 1111111..2222222 100644
Binary files a/logo.png and b/logo.png differ
"""

PURE_DELETION = """\
diff --git a/a.py b/a.py
index 1111111..2222222 100644
--- a/a.py
+++ b/a.py
@@ -5,2 +4,0 @@ def f():
-    gone = 1
-    gone = 2
"""

RENAMED = """\
diff --git a/old/name.py b/new/name.py
similarity index 90%
rename from old/name.py
rename to new/name.py
index 1111111..2222222 100644
--- a/old/name.py
+++ b/new/name.py
@@ -3 +3 @@
-before
+after
"""

PURE_RENAME = """\
diff --git a/old.py b/new.py
similarity index 100%
rename from old.py
rename to new.py
"""

MODE_ONLY = """\
diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
"""

NO_NEWLINE = """\
diff --git a/a.py b/a.py
index 1111111..2222222 100644
--- a/a.py
+++ b/a.py
@@ -3 +3,2 @@
-last
\\ No newline at end of file
+last
+more
\\ No newline at end of file
"""

# A removed "-- sql" line and an added "++ b/evil.py" line look like headers.
HEADER_LOOKALIKES = """\
diff --git a/q.sql b/q.sql
index 1111111..2222222 100644
--- a/q.sql
+++ b/q.sql
@@ -1 +0,0 @@
--- sql
@@ -2,0 +2,2 @@ keep
+++ b/evil.py
+@@ -1 +1 @@
diff --git a/z.py b/z.py
index 1111111..2222222 100644
--- a/z.py
+++ b/z.py
@@ -1 +1 @@
-a
+b
"""

WITH_CONTEXT = """\
diff --git a/a.py b/a.py
index 1111111..2222222 100644
--- a/a.py
+++ b/a.py
@@ -1,5 +1,7 @@
 one
-two
+TWO
+two and a half
 three

 five
+six
"""

QUOTED = """\
diff --git "a/sp\\303\\251cial file.py" "b/sp\\303\\251cial file.py"
index 587be6b..975fbec 100644
--- "a/sp\\303\\251cial file.py"\t
+++ "b/sp\\303\\251cial file.py"\t
@@ -1 +1 @@
-x
+y
diff --git a/with space.py b/with space.py
index 1111111..2222222 100644
--- a/with space.py\t
+++ b/with space.py\t
@@ -4,0 +5 @@
+z
diff --git "a/tab\\there.py" "b/tab\\there.py"
--- "a/tab\\there.py"
+++ "b/tab\\there.py"
@@ -1 +1 @@
-\f
+\x1c\u2028
"""

# A file with CRLF line ends: each content line of the diff ends with "\r".
CARRIAGE_RETURNS = """\
diff --git a/a.py b/a.py
index 1111111..2222222 100644
--- a/a.py
+++ b/a.py
@@ -1 +1,2 @@
-a\r
+b\r
+c\r
"""


def default_base(cwd: str) -> str | None:
    found = named_default_base(cwd)
    return found[1] if found else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        (MODIFIED, {"shop/cart.py": {2, 11, 12, 22}}),
        (NEW_FILE, {"new.py": {1, 2, 3}}),
        (DELETED, {}),
        (BINARY, {}),
        (PURE_DELETION, {}),
        (RENAMED, {"new/name.py": {3}}),
        (PURE_RENAME, {}),
        (MODE_ONLY, {}),
        (NO_NEWLINE, {"a.py": {3, 4}}),
        (HEADER_LOOKALIKES, {"q.sql": {2, 3}, "z.py": {1}}),
        (WITH_CONTEXT, {"a.py": {2, 3, 7}}),
        (QUOTED, {"spécial file.py": {1}, "with space.py": {5}, "tab\there.py": {1}}),
        (MODIFIED + NEW_FILE + DELETED + RENAMED, {
            "shop/cart.py": {2, 11, 12, 22}, "new.py": {1, 2, 3}, "new/name.py": {3}
        }),
        (CARRIAGE_RETURNS, {"a.py": {1, 2}}),
    ],
    ids=[
        "empty", "modified", "new", "deleted", "binary", "pure-deletion", "renamed",
        "pure-rename", "mode-only", "no-newline", "header-lookalikes", "context", "quoted",
        "several", "carriage-returns",
    ],
)  # fmt: skip
def test_parse_unified_diff(text: str, expected: dict[str, set[int]]) -> None:
    assert parse_unified_diff(text) == expected


@pytest.mark.parametrize(
    ("quoted", "path"),
    [
        ("plain.py", "plain.py"),
        ('"b/sp\\303\\251cial file.py"', "b/spécial file.py"),
        ('"tab\\there"', "tab\there"),
        ('"new\\nline"', "new\nline"),
        ('"say \\"hi\\".py"', 'say "hi".py'),
        ('"back\\\\slash.py"', "back\\slash.py"),
        ('"\\346\\227\\245\\346\\234\\254.py"', "日本.py"),
        ('"bell\\a\\b\\v\\f\\r"', "bell\a\b\v\f\r"),
        ('"bad\\377.py"', "bad\udcff.py"),  # not UTF-8: kept as a surrogate escape
        ('"', '"'),
    ],
)
def test_unquote_path(quoted: str, path: str) -> None:
    assert unquote_path(quoted) == path


# --- Real repositories -------------------------------------------------------------------

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the user's git configuration and any enclosing repository out of the tests."""
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, encoding="utf-8"
    )
    return result.stdout.strip()


def write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")


def numbered(count: int, prefix: str = "line") -> str:
    return "".join(f"{prefix} {number}\n" for number in range(1, count + 1))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one commit on main and a checked-out, empty feature branch."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write(root / "keep.py", numbered(5))
    write(root / "modify.py", numbered(5))
    write(root / "rename_me.py", numbered(10))
    write(root / "delete_me.py", numbered(3))
    write(root / "spécial file.py", numbered(2))
    write(root / "b" / "inner.py", numbered(2))
    write(root / "logo.bin", b"\0\1\2")
    write(root / ".gitignore", "ignored.py\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    git(root, "switch", "-q", "-c", "feature")
    return root


def make_changes(root: Path) -> None:
    # Committed on the feature branch.
    write(root / "modify.py", numbered(5).replace("line 2\n", "LINE 2\n") + "line 6\n")
    git(root, "commit", "-q", "-am", "modify")
    # Staged.
    git(root, "mv", "rename_me.py", "renamed.py")
    write(root / "renamed.py", numbered(10).replace("line 3\n", "LINE 3\n"))
    git(root, "add", "renamed.py")
    git(root, "rm", "-q", "delete_me.py")
    # Unstaged.
    write(root / "keep.py", numbered(5).replace("line 1\n", "LINE 1\n").replace("line 5\n", ""))
    write(root / "spécial file.py", numbered(3))
    write(root / "b" / "inner.py", "line 0\n" + numbered(2))
    write(root / "logo.bin", b"\0\1\2\3")
    # Untracked.
    write(root / "new.py", "a\nb\r\nc")
    write(root / "pkg" / "mod.py", "x = 1\n")
    write(root / "nouveau dossier" / "é.py", "y = 2\n")
    write(root / "ignored.py", "not counted\n")
    write(root / "data.bin", b"abc\0def\n")
    write(root / "latin1.txt", "caf\xe9\n".encode("latin-1"))
    write(root / "empty.py", "")


EXPECTED = {
    "modify.py": {2, 6},
    "renamed.py": {3},
    "keep.py": {1},
    "spécial file.py": {3},
    "b/inner.py": {1},
    "new.py": {1, 2, 3},
    "pkg/mod.py": {1},
    "nouveau dossier/é.py": {1},
}


@needs_git
def test_changed_lines_since_the_merge_base(repo: Path) -> None:
    make_changes(repo)
    base = default_base(str(repo))
    assert base == git(repo, "rev-parse", "main")
    assert changed_lines(base, str(repo)) == EXPECTED
    assert changed_lines("main", str(repo)) == EXPECTED


@needs_git
def test_changed_lines_from_a_subdirectory_are_relative_to_the_root(repo: Path) -> None:
    make_changes(repo)
    assert changed_lines("main", str(repo / "pkg")) == EXPECTED
    assert repo_root(str(repo / "pkg")) == str(repo)


@needs_git
@pytest.mark.parametrize(
    "setting",
    [
        {"diff.noprefix": "true"},
        {"diff.mnemonicPrefix": "true"},
        {"diff.relative": "true"},
        {"core.quotePath": "false"},
        {"color.ui": "always", "color.diff": "always"},
        {"diff.renames": "false"},
        {"diff.external": "false"},
        {"diff.context": "5", "diff.interHunkContext": "10"},
        {"diff.suppressBlankEmpty": "true", "diff.context": "3"},
    ],
)
def test_user_configuration_does_not_change_the_result(
    repo: Path, setting: dict[str, str]
) -> None:
    make_changes(repo)
    for key, value in setting.items():
        git(repo, "config", key, value)
    assert changed_lines("main", str(repo / "pkg")) == EXPECTED


@needs_git
def test_changed_lines_on_the_base_branch_are_the_uncommitted_ones(repo: Path) -> None:
    git(repo, "switch", "-q", "main")
    assert changed_lines(default_base(str(repo)) or "", str(repo)) == {}
    write(repo / "keep.py", numbered(6))
    write(repo / "new.py", "z\n")
    assert default_base(str(repo)) == git(repo, "rev-parse", "HEAD")
    assert changed_lines("HEAD", str(repo)) == {"keep.py": {6}, "new.py": {1}}


@needs_git
def test_default_base_prefers_the_remote_branch(repo: Path) -> None:
    first = git(repo, "rev-parse", "main")
    git(repo, "switch", "-q", "main")
    write(repo / "keep.py", numbered(6))
    git(repo, "commit", "-q", "-am", "main moves on")
    git(repo, "switch", "-q", "-c", "topic")
    write(repo / "keep.py", numbered(7))
    git(repo, "commit", "-q", "-am", "topic work")
    assert default_base(str(repo)) == git(repo, "rev-parse", "main")
    git(repo, "update-ref", "refs/remotes/origin/main", first)
    assert default_base(str(repo)) == first
    assert changed_lines(first, str(repo)) == {"keep.py": {6, 7}}


@needs_git
def test_default_base_falls_back_to_master(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "master")
    write(tmp_path / "a.py", "a\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "initial")
    assert default_base(str(tmp_path)) == git(tmp_path, "rev-parse", "HEAD")


@needs_git
def test_default_base_without_a_known_branch_or_commit(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "trunk")
    assert default_base(str(tmp_path)) is None  # no commit yet
    write(tmp_path / "a.py", "a\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "initial")
    assert default_base(str(tmp_path)) is None


@needs_git
@pytest.mark.parametrize("base", ["no-such-branch", "--output=stolen.txt", "", "HEAD~5"])
def test_a_base_that_is_not_a_commit(repo: Path, base: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        changed_lines(base, str(repo))
    assert str(caught.value) == (
        f"--diff-base {base!r} is not a commit in the git repository at {repo}; use a branch, "
        "tag or commit such as origin/main."
    )
    assert not (repo / "stolen.txt").exists()


@needs_git
def test_a_tree_is_not_a_commit(repo: Path) -> None:
    tree = git(repo, "rev-parse", "HEAD^{tree}")
    with pytest.raises(ConfigurationError, match="is not a commit in the git repository"):
        changed_lines(tree, str(repo))


def test_outside_a_repository(tmp_path: Path) -> None:
    assert repo_root(str(tmp_path)) is None
    assert repo_root(str(tmp_path / "missing")) is None
    assert default_base(str(tmp_path)) is None
    with pytest.raises(ConfigurationError) as caught:
        changed_lines("origin/main", str(tmp_path))
    assert str(caught.value) == (
        f"--diff-base 'origin/main' needs a git repository, but {tmp_path} is not in one (or "
        "git is not installed); run the tests in a git checkout or leave out --diff-base."
    )


@needs_git
def test_without_git(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-bin-here"))
    assert repo_root(str(repo)) is None
    assert default_base(str(repo)) is None
    with pytest.raises(ConfigurationError, match="needs a git repository"):
        changed_lines("main", str(repo))
