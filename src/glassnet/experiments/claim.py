"""An exclusive claim on a run folder, held while a run writes there, so two runs started
into one folder cannot both write it: the second is refused, naming the first.

The claim is an advisory lock (``flock``) on ``.run.lock`` inside the folder. The kernel
releases it when its process ends in any way (Ctrl-C, SIGKILL, a crash), so a claim is never
left stale: a ``.run.lock`` that nobody holds is free, and the next run takes it over. The
file also says who holds it (process, host, command, start time) for the refusal message,
and is removed when the run lets go.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from glassnet.errors import ConfigError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; runs there are not guarded
    fcntl = None  # type: ignore[assignment]

LOCK = ".run.lock"  # hidden: the report lists the folder's other files


@contextlib.contextmanager
def claim_folder(folder: str | Path, command: str) -> Iterator[Path]:
    """Hold ``folder`` (made if missing) for one run of ``command`` until the block ends; a
    folder that another live run holds is refused with a ConfigError naming it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        yield folder
        return
    path = folder / LOCK
    handle = _locked(path, command)
    try:
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": command,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        os.ftruncate(handle, 0)
        os.write(handle, json.dumps(owner).encode())
        yield folder
    finally:
        # Removed while still held: a run waiting to take it over finds the path gone or
        # another file there, and tries again (see _locked).
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(handle)


def _locked(path: Path, command: str) -> int:
    """A descriptor of ``path`` holding its exclusive lock; ConfigError if a live run has it."""
    while True:
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _owner(handle)
            os.close(handle)
            raise ConfigError(
                f"{path.parent} is in use by another glassnet run ({owner}); wait for it to "
                f"finish, or give this {command} another folder"
            ) from None
        # The holder before us may have removed the file after we opened it: then our lock
        # is on a file no other run can see, and the claim must be made again.
        try:
            same = os.stat(path).st_ino == os.fstat(handle).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return handle
        os.close(handle)


def _owner(handle: int) -> str:
    """Who holds the claim, in words, from the lock file's record."""
    try:
        record = json.loads(os.pread(handle, 4096, 0) or b"{}")
        return (
            f"glassnet {record['command']}, process {record['pid']} on {record['host']}, "
            f"started {record['started']}"
        )
    except (ValueError, KeyError, TypeError, OSError):
        return "a process that has not said which yet"
