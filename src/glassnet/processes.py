"""Work shared between this process and a fork of it: the short serial stretches at the end
of a run (scoring the winner's curves, drawing the figures) that would leave a core idle."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def usable_cores() -> int:
    """How many cores this process may run on: its CPU affinity where the platform has one
    (taskset and containers narrow it below ``os.cpu_count()``), else ``os.cpu_count()``."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def can_fork(*, beside_threads: bool = False) -> bool:
    """Whether ``in_two`` can give its second half to a second core: ``os.fork`` exists, this
    process may run on two cores, and no other thread is running. A fork copies only the
    calling thread, and locks the others held stay held in the copy (matplotlib's among
    them); work that takes no such lock, NumPy arithmetic and a pipe, may pass
    ``beside_threads=True`` (a progress display's thread is then no obstacle)."""
    alone = beside_threads or threading.active_count() == 1
    return hasattr(os, "fork") and usable_cores() > 1 and alone


def in_two(mine: Callable[[], T], theirs: Callable[[], Any]) -> tuple[T, Any]:
    """``(mine(), theirs())``, with ``theirs`` run by a fork of this process meanwhile.

    ``theirs()`` must return plain data: it comes back as JSON (floats exactly, NaN too).
    Should the copy fail, ``theirs()`` runs again here, so its error is raised here, as it
    would be without the copy. The copy leaves with ``os._exit``: no atexit handlers, no
    output flushed twice. Call it only where ``can_fork()``.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the copy
        status = 1
        try:
            os.close(read)
            text = json.dumps(theirs())
            with os.fdopen(write, "w") as pipe:
                pipe.write(text)
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    try:
        result = mine()
    finally:
        # Read to the end first: a copy blocked on a full pipe would never exit.
        with os.fdopen(read) as pipe:
            text = pipe.read()
        _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return result, theirs()
    return result, json.loads(text)
