"""How much memory this process can still use, for checks made before work starts (a
training's estimate in ``glassnet.training.memory``, a data file's declared size)."""

from __future__ import annotations

import os
from pathlib import Path


def available_bytes() -> int | None:
    """Memory this process can still use: the smaller of the system's available memory and
    the cgroup's limit less its use; None where neither can be read."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
            found.append(int(limit) - used)
    except (OSError, ValueError):
        pass
    if not found and hasattr(os, "sysconf"):
        try:
            found.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
        except (OSError, ValueError):
            pass
    return min(found) if found else None
