"""Follow a command's calls through glassnet's modules: how many modules its arguments pass
through, how often the path goes back up the layer order (pyproject.toml's import-linter
layers), and how often it returns to a module it had already left, in the first N calls.

    python tools/call_path.py -- train --data penguins.csv --target species --epochs 5

Only calls into glassnet's own functions are counted (not NumPy's, not the standard
library's, not the code that runs when a module is imported); a call stays in its module
when the caller's module is the same.
"""

from __future__ import annotations

import argparse
import sys

LAYERS = [
    ("glassnet.cli",),
    ("glassnet.workflow",),
    ("glassnet.experiments", "glassnet.sklearn"),
    ("glassnet.report",),
    ("glassnet.training",),
    ("glassnet.models",),
    ("glassnet.export",),
    ("glassnet.data",),
    ("glassnet.nn",),
    ("glassnet.atomic", "glassnet.errors", "glassnet.processes", "glassnet._version"),
]


def layer_of(module: str) -> int:
    for index, packages in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in packages):
            return index
    return len(LAYERS)


def trace(argv: list[str], limit: int) -> list[str]:
    """The module of each of the first ``limit`` calls into glassnet, starting at main()."""
    from glassnet.cli.app import main

    modules: list[str] = []

    def profile(frame, event, arg):  # noqa: ANN001
        if event != "call" or len(modules) >= limit:
            return
        name = frame.f_globals.get("__name__", "")
        if name.startswith("glassnet.") and frame.f_code.co_name != "<module>":
            modules.append(name)

    sys.setprofile(profile)
    try:
        main(argv)
    finally:
        sys.setprofile(None)
    return modules


def summary(modules: list[str]) -> dict[str, int]:
    seen, left, up, returns = set(), set(), 0, 0
    for before, after in zip(modules, modules[1:], strict=False):
        if after != before:
            left.add(before)
            if after in left:
                returns += 1
            if layer_of(after) < layer_of(before):
                up += 1
        seen.update((before, after))
    return {"calls": len(modules), "modules": len(seen), "up the layers": up, "returns": returns}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("argv", nargs="+", help="the glassnet command, after --")
    options = parser.parse_args()
    modules = trace(options.argv, options.calls)
    packages = []
    for module in modules:
        package = ".".join(module.split(".")[:2])
        if not packages or packages[-1] != package:
            packages.append(package)
    print(" -> ".join(p.removeprefix("glassnet.") for p in packages[:40]))
    print(summary(modules))
