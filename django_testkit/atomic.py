"""Replacing a file all at once: readers see the old file or the whole new one."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def replace_file(path: Path, write: Callable[[Path], object]) -> None:
    """Have ``write`` create a temporary file beside ``path``, then rename it over ``path``.

    The directories are created. On any error the temporary file is removed,
    the old file is left as it was, and the error propagates.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same directory, so the rename stays on one filesystem and is atomic; a
    # random name, so concurrent runs (CI jobs sharing a cache) do not collide.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, "\\n" line ends) to ``path`` atomically, synced to disk."""

    def write(temporary: Path) -> None:
        # os.open with 0o666 honours the umask, so the file gets the same
        # permissions as any other the user creates (mkstemp would force 0o600).
        # O_BINARY (Windows only) stops the C runtime from turning "\n" into "\r\n".
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        descriptor = os.open(temporary, flags, 0o666)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())

    replace_file(path, write)
