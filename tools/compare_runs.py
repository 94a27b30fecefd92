"""Compare two trees of run folders, e.g. written by the same commands before and after a
change: every metrics.json number (times, paths and the version ignored) and every model.npz
array, bit for bit; prints what differs.

    git worktree add /tmp/before <old commit>
    for tree in before after; do    # PYTHONPATH: /tmp/before/src, then this checkout's src
        glassnet run --seed 0 --jobs 1 --out /tmp/$tree/run0 --quiet
        glassnet train --data penguins.csv --target species --jobs 1 --out /tmp/$tree/penguins
    done
    python tools/compare_runs.py /tmp/before /tmp/after
"""

import json
import sys
from pathlib import Path

import numpy as np

IGNORE = {"seconds", "outputs", "glassnet_version"}


def walk(a, b, where):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key in IGNORE:
                continue
            if key not in a or key not in b:
                print(f"{where}.{key}: only in {'after' if key in b else 'before'}")
                continue
            walk(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            walk(x, y, f"{where}[{i}]")
    elif a != b and not (isinstance(a, str) and a.replace(str(before), str(after)) == b):
        print(f"{where}: {str(a)[:80]} != {str(b)[:80]}")


before, after = Path(sys.argv[1]), Path(sys.argv[2])
for folder in sorted(before.iterdir()):
    other = after / folder.name
    m = folder / "metrics.json"
    if m.exists():
        walk(
            json.loads(m.read_text()), json.loads((other / "metrics.json").read_text()), folder.name
        )
    npz = folder / "model.npz"
    if npz.exists():
        x, y = np.load(npz, allow_pickle=False), np.load(other / "model.npz", allow_pickle=False)
        if set(x.files) != set(y.files):
            print(folder.name, "model arrays differ in names", set(x.files) ^ set(y.files))
        for name in sorted(set(x.files) & set(y.files)):
            if not np.array_equal(x[name], y[name]):
                print(folder.name, "array differs:", name)
    s = folder / "summary.md"
    if s.exists() and s.read_text() != (other / "summary.md").read_text():
        print(folder.name, "summary.md differs")
    print(folder.name, "compared")
