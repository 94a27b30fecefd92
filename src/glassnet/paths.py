"""What a path a user gave is, checked before anything opens it.

Opening a FIFO blocks until a writer comes; reading a device such as ``/dev/zero`` never
ends. ``regular_file`` and ``folder`` look at the path with ``os.stat`` (which never blocks)
and refuse anything else with one line, so no command can hang on what it was given.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from glassnet.errors import GlassnetError


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def regular_file(
    path: str | os.PathLike[str], what: str = "file", error: type[GlassnetError] = GlassnetError
) -> Path:
    """``path`` as a Path when it names an existing regular file (links followed); else
    ``error`` saying what it is instead (missing, a folder, a FIFO, a device)."""
    return _of_kind(path, stat.S_ISREG, "a regular file", what, error)


def folder(
    path: str | os.PathLike[str], what: str = "folder", error: type[GlassnetError] = GlassnetError
) -> Path:
    """``path`` as a Path when it names an existing folder; else ``error`` saying what it is."""
    return _of_kind(path, stat.S_ISDIR, "a folder", what, error)


def _of_kind(
    path: str | os.PathLike[str],
    is_kind: Callable[[int], bool],
    kind: str,
    what: str,
    error: type[GlassnetError],
) -> Path:
    """``path`` when ``os.stat`` (which never blocks) says it is ``kind``; else ``error``."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise error(f"{what} {str(path)!r} does not exist") from None
    except OSError as exc:
        raise error(f"{what} {str(path)!r} cannot be read ({exc.strerror or exc})") from None
    if not is_kind(mode):
        raise error(f"{what} {str(path)!r} is {_kind(mode)}, not {kind}")
    return path


def read_bytes_bounded(path: Path, limit: int, what: str, error: type[GlassnetError]) -> bytes:
    """The bytes of the regular file ``path``, refused (``error``) when it holds more than
    ``limit`` bytes; at most ``limit + 1`` bytes are ever read."""
    regular_file(path, what, error)
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise error(f"{what} {str(path)!r} is larger than {limit:,} bytes; refusing to read it")
    return data
