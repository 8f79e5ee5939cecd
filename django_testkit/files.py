"""Writing result files without ever replacing what is at the path; the project directory.

A regular file (or a path where nothing is yet) is replaced all at once:
readers see the old file or the whole new one. Through a symbolic link it is
the link's target that is replaced (a dangling link gets its target created),
so the link survives. Anything else that can be written to, a character
device (``/dev/null``, a terminal), a FIFO or an open descriptor reached
through ``/proc`` or ``/dev/fd`` (``/dev/stdout``), is written in place,
never truncated, created or renamed over. A directory, a block device or a
socket is never written to.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from django_testkit.exceptions import ConfigurationError

#: What is at a path: nothing yet, a regular file, something written in place
#: (a character device, a FIFO, an open descriptor), a directory, or something
#: never written to (a block device, a socket).
MISSING, REGULAR, STREAM, DIRECTORY, OTHER = "missing", "regular", "stream", "directory", "other"

# Symbolic links followed before a path is taken for a loop (Linux's own limit).
_MAX_LINKS = 40


def _via_descriptor(path: str) -> bool:
    """Whether ``path`` leads, through its links, into ``/proc`` (say ``/dev/stdout``).

    Such a path names a descriptor some process has open: whatever it points
    at, replacing it would take the file away from under that process.
    """
    current = os.path.abspath(path)
    for _ in range(_MAX_LINKS):
        parent = os.path.realpath(os.path.dirname(current))
        if parent == "/proc" or parent.startswith("/proc/"):
            return True
        current = os.path.join(parent, os.path.basename(current))
        try:
            link = os.readlink(current)
        except OSError:
            return False
        current = os.path.normpath(os.path.join(parent, link))
    return False


def kind_of(path: Path | str) -> str:
    """Say what is at ``path``, following links: one of the constants above.

    Raises ``OSError`` when the path cannot be looked at (a loop of links, say).
    """
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return MISSING
    if stat.S_ISDIR(mode):
        return DIRECTORY
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return STREAM
    if stat.S_ISREG(mode):
        return STREAM if _via_descriptor(str(path)) else REGULAR
    return OTHER


def read_regular(path: Path | str) -> bytes | None:
    """The content of the regular file at ``path``; None when there is none, or something
    else is there (reading a FIFO would wait for a writer that never comes)."""
    try:
        # Non-blocking, so that opening a FIFO returns at once; then only a file is read.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.close(descriptor)
            return None
        os.set_blocking(descriptor, True)
    except OSError:
        os.close(descriptor)
        return None
    with open(descriptor, "rb") as stream:
        try:
            return stream.read()
        except OSError:
            return None


def _described(kind: str) -> str:
    return {DIRECTORY: "a directory", OTHER: "not a file, a device or a FIFO"}.get(kind, kind)


def _nearest_existing(folder: str) -> str:
    while not os.path.lexists(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    return folder


def destination_problem(path: Path | str) -> str | None:
    """Why a result file could not be written at ``path``, or None when it can.

    For a regular file or a new path, a probe file is created and removed in
    the directory the file goes to (or the nearest one that exists, when
    directories are to be created), which is what the write will need. For a
    device, FIFO or descriptor only write permission is checked: a FIFO's
    reader may well start after this check.
    """
    try:
        kind = kind_of(path)
    except OSError as error:
        # A loop of links, a name too long, a directory we may not search...
        return f"it cannot be looked at ({error.strerror or error})"
    if kind in (DIRECTORY, OTHER):
        return f"it is {_described(kind)}"
    if kind == STREAM:
        return None if os.access(path, os.W_OK) else "it is not writable"
    folder = _nearest_existing(os.path.dirname(os.path.realpath(path)))
    if not os.path.isdir(folder):
        return f"{folder} is not a directory"
    try:
        descriptor, probe = tempfile.mkstemp(prefix=".testkit-probe-", dir=folder)
    except OSError as error:
        return f"no file can be created in {folder} ({error.strerror or error})"
    os.close(descriptor)
    os.unlink(probe)
    return None


def check_destination(path: Path | str, option: str, example: str) -> None:
    """Raise a one-line ``ConfigurationError`` when ``path`` cannot take a result file.

    ``option`` names where the value came from (``--durations-file``) and
    ``example`` is a path that would do, for the fix.
    """
    problem = destination_problem(path)
    if problem is not None:
        raise ConfigurationError(
            f"{option} = {str(path)!r} cannot be written: {problem}; give a file path in a "
            f"writable directory, such as {example!r}."
        )


def _refuse(path: Path | str, kind: str) -> OSError:
    code = errno.EISDIR if kind == DIRECTORY else errno.EINVAL
    return OSError(code, f"it is {_described(kind)}, so nothing was written to it", str(path))


def _standard_descriptor(path: Path | str) -> int | None:
    """1 or 2 when ``path`` is this process's stdout or stderr, so output stays in order."""
    try:
        target = os.stat(path)
    except OSError:
        return None
    for stream, descriptor in ((sys.stdout, 1), (sys.stderr, 2)):
        try:
            same = os.path.samestat(target, os.fstat(descriptor))
        except OSError:
            continue
        if same:
            for each in {stream, sys.__stdout__, sys.__stderr__}:
                if each is not None:
                    each.flush()
            return descriptor
    return None


def write_in_place(path: Path | str, data: bytes) -> None:
    """Write ``data`` to the device, FIFO or descriptor at ``path``, as one write.

    Nothing is created, truncated or renamed. Writing onto this process's own
    stdout or stderr goes through that descriptor. A FIFO that nobody reads
    is an ``OSError`` at once (it is opened without waiting for a reader).
    """
    descriptor = _standard_descriptor(path)
    owned = descriptor is None
    if descriptor is None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK | os.O_CLOEXEC
        flags |= getattr(os, "O_NOCTTY", 0)  # a terminal must not become ours to control
        try:
            descriptor = os.open(path, flags)
        except OSError as error:
            if error.errno == errno.ENXIO:
                raise OSError(
                    errno.ENXIO,
                    "it is a FIFO that nobody is reading (start the reader first)",
                    str(path),
                ) from None
            raise
    try:
        if owned:
            # Non-blocking only to open a FIFO without hanging; write as usual.
            os.set_blocking(descriptor, True)
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
    finally:
        if owned:
            os.close(descriptor)


def _replace_regular(target: Path, write: Callable[[Path], object]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # Same directory, so the rename stays on one filesystem and is atomic; a
    # random name, so concurrent runs (CI jobs sharing a cache) do not collide.
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        write(temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def replace_file(path: Path, write: Callable[[Path], object]) -> None:
    """Have ``write`` create a file at a temporary path, then put it at ``path``.

    A regular file or a new path: the temporary file is beside the real
    target (a link's target), is renamed over it, and missing directories are
    created. A device, FIFO or descriptor: the temporary file is elsewhere and
    its bytes are written in place in one write (see :func:`write_in_place`).
    A directory or anything else raises ``OSError`` and nothing is written.
    On any error the temporary file is removed, an old file is left as it was,
    and the error propagates.
    """
    kind = kind_of(path)
    if kind in (MISSING, REGULAR):
        _replace_regular(Path(os.path.realpath(path)), write)
        return
    if kind != STREAM:
        raise _refuse(path, kind)
    with tempfile.TemporaryDirectory(prefix="testkit-") as scratch:
        temporary = Path(scratch) / Path(path).name
        write(temporary)
        data = temporary.read_bytes()
    write_in_place(path, data)


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as :func:`replace_file` does, synced to disk."""
    kind = kind_of(path)
    if kind == STREAM:
        write_in_place(path, data)
        return

    def write(temporary: Path) -> None:
        # os.open with 0o666 honours the umask, so the file gets the same
        # permissions as any other the user creates (mkstemp would force 0o600).
        # O_BINARY (Windows only) stops the C runtime from turning "\n" into "\r\n".
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        descriptor = os.open(temporary, flags, 0o666)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())

    replace_file(path, write)


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, "\\n" line ends) to ``path`` as :func:`write_bytes` does."""
    write_bytes(path, text.encode("utf-8"))


def append_text(path: Path, text: str) -> None:
    """Append ``text`` (UTF-8) to the file at ``path``, creating it; a link's target grows.

    A device, FIFO or descriptor is written in place; a directory or anything
    else raises ``OSError``.
    """
    kind = kind_of(path)
    if kind == STREAM:
        write_in_place(path, text.encode("utf-8"))
        return
    if kind not in (MISSING, REGULAR):
        raise _refuse(path, kind)
    with open(os.path.realpath(path), "a", encoding="utf-8", newline="\n") as stream:
        stream.write(text)


def project_dir() -> Path:
    """The project's directory: that of ``manage.py``, else ``settings.BASE_DIR``, else the
    current one.

    Relative defaults are found here: the durations file and what coverage
    measures when its configuration names no source.
    """
    main = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    if main.name == "manage.py" and main.is_file():
        return main.resolve().parent
    from django.conf import settings

    base = getattr(settings, "BASE_DIR", None)
    if base and Path(base).is_dir():
        return Path(base).resolve()
    return Path.cwd()
