"""Atomic file writes: a temporary file beside the target, fsynced, then renamed over it.

Everything that writes a file a user keeps (models, run folders, reports, caches) goes
through ``write_atomic``, so an interrupted write never leaves a half-written file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


def _read_umask() -> int:
    """The process umask (reading it means setting it; done once, at import)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_UMASK = _read_umask()


def write_atomic(path: Path, write: Any, mode: str = "wb") -> None:
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private (0600); give it the permissions open() would have.
        os.chmod(temp, 0o666 & ~_UMASK)
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        if exc.errno is not None and exc.filename in (None, temp):
            # A full disk while writing names no file: name the one being written.
            exc.filename, exc.filename2 = str(path), None
        raise
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Flush the rename itself to disk, so a crash cannot undo it (a no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
