"""Per-module mutation scores from the last ``mutmut run`` (see CONTRIBUTING.md).

Reads ``mutmut results --all true`` and the table of equivalent mutants in CONTRIBUTING.md
(rows whose first cell is a mutant name in backticks). Prints, per module: killed, survived,
equivalent (survivors listed as such), other (no tests, not checked), the raw score
killed / all, and the score without equivalents killed / (all - equivalent). Exits 1 when a
module's raw score is below 90% (listing equivalents does not lift it: dead or redundant code
should go instead), or a survivor is neither killed nor listed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

TARGET = 90.0
ROOT = Path.cwd()  # run from the repository root, where mutants/ is


def equivalent_mutants() -> dict[str, str]:
    """Mutant name -> reason, from CONTRIBUTING.md's table of equivalent mutants."""
    rows = re.findall(
        r"^\| `(glassnet\.[^`]+)` \| (.+?) \|$", (ROOT / "CONTRIBUTING.md").read_text(), re.M
    )
    return dict(rows)


def results() -> dict[str, str]:
    """Mutant name -> status (killed, survived, no tests, timeout, ...)."""
    out = subprocess.run(
        ["mutmut", "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return dict(line.strip().rsplit(": ", 1) for line in out.splitlines() if ": " in line)


def module_of(mutant: str) -> str:
    """``glassnet.nn.layers.xǁLinearǁforward__mutmut_3`` -> ``glassnet.nn.layers``."""
    return re.split(r"\.x[_ǁ]", mutant, maxsplit=1)[0]


def main() -> int:
    statuses, equivalent = results(), equivalent_mutants()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    unlisted = []
    for mutant, status in statuses.items():
        kind = status if status in ("killed", "survived") else "other"
        if status == "timeout":
            kind = "killed"  # a mutant that makes the tests hang is caught
        if kind == "survived" and mutant in equivalent:
            kind = "equivalent"
        elif kind == "survived":
            unlisted.append(mutant)
        counts[module_of(mutant)][kind] += 1
    columns = ["module", "mutants", "killed", "survived", "equivalent", "other", "score"]
    print(f"| {' | '.join(columns)} | without equivalents |")
    print("|---|---|---|---|---|---|---|---|")
    failing = []
    for module in sorted(counts):
        c = counts[module]
        total = sum(c.values())
        raw = 100.0 * c["killed"] / total
        adjusted = 100.0 * c["killed"] / (total - c["equivalent"])
        failing += [module] if raw < TARGET else []
        print(
            f"| {module} | {total} | {c['killed']} | {c['survived']} | {c['equivalent']} "
            f"| {c['other']} | {raw:.1f}% | {adjusted:.1f}% |"
        )
    stale = sorted(set(equivalent) - {m for m, s in statuses.items() if s == "survived"})
    for mutant in stale:
        print(f"listed as equivalent but not a survivor now (renumbered or killed): {mutant}")
    for mutant in sorted(unlisted):
        print(f"survivor neither killed nor listed as equivalent: {mutant} (mutmut show {mutant})")
    if failing:
        print(f"below {TARGET:g}% (killed / all mutants): {', '.join(failing)}")
    return 1 if failing or unlisted else 0


if __name__ == "__main__":
    sys.exit(main())
