"""Peak memory of `glassnet train` phase by phase, in one process: the command runs as the
CLI runs it, with the workflow's steps wrapped so that the process's peak resident set size
(VmHWM) is read and reset (``/proc/self/clear_refs``, Linux) as each step starts and ends.

    python benchmarks/memory_phases.py --data million_20.csv --target y
    python benchmarks/memory_phases.py --million            # writes big_tables.py's table

Each line is one stretch of the run: its peak RSS, and the RSS when it ended (what it left
held). The whole command's peak is the largest of them. `big_tables.py --phases` runs this on
its tables.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# (module, attribute) of the steps timed, where the caller looks them up; nested ones too.
STEPS = (
    ("glassnet.data.tables", "read_table"),
    ("glassnet.data.tabular", "table_splits"),
    ("glassnet.data.preprocessing", "TablePreprocessor.fit"),
    ("glassnet.data.preprocessing", "TablePreprocessor.transform"),
    ("glassnet.data.preprocessing", "TablePreprocessor.transform_parts"),
    ("glassnet.experiments.experiment", "run_data"),
    ("glassnet.experiments.experiment", "fit_from_config"),
    ("glassnet.experiments.experiment", "evaluate_model"),
    ("glassnet.workflow.api", "write_run"),
)


def status() -> dict[str, int]:
    """VmHWM and VmRSS of this process, in KiB."""
    found = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(value.split()[0])
    return found


class Phases:
    """Stretches of the run between step boundaries: (label, peak MiB, RSS at end MiB, s)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float, float]] = []
        self.stack: list[str] = []
        self.last = "python and imports"
        self.started = time.perf_counter()

    def mark(self, next_label: str) -> None:
        now = status()
        seconds = time.perf_counter() - self.started
        self.rows.append((self.last, now["VmHWM"] / 1024, now["VmRSS"] / 1024, seconds))
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # reset the peak to the current RSS
        self.last, self.started = next_label, time.perf_counter()

    def wrap(self, name: str, function):  # type: ignore[no-untyped-def]
        @functools.wraps(function)
        def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
            self.stack.append(name)
            self.mark(name)
            try:
                return function(*args, **kwargs)
            finally:
                self.stack.pop()
                self.mark(f"in {self.stack[-1]}" if self.stack else f"after {name}")

        return wrapped


def install(phases: Phases) -> None:
    for module_name, attribute in STEPS:
        module = importlib.import_module(module_name)
        owner, _, name = attribute.rpartition(".")
        holder = getattr(module, owner) if owner else module
        original = holder.__dict__[name]
        if isinstance(original, classmethod):
            function = original.__func__
            setattr(holder, name, classmethod(phases.wrap(attribute, function)))
        else:
            setattr(holder, name, phases.wrap(attribute, original))


def measure(argv: list[str]) -> list[tuple[str, float, float, float]]:
    """Run ``glassnet ARGV`` here, its steps wrapped; the stretches measured."""
    phases = Phases()
    from glassnet.cli.app import main

    phases.mark("glassnet command")
    install(phases)
    status_code = main(argv)
    phases.mark("end")
    if status_code:
        raise SystemExit(f"glassnet {' '.join(argv)} exited with {status_code}")
    return phases.rows


def print_table(rows: list[tuple[str, float, float, float]], csv_mb: float | None) -> None:
    print("| stretch | peak RSS MiB | RSS at its end MiB | seconds |")
    print("| --- | --- | --- | --- |")
    for label, peak, end, seconds in rows:
        print(f"| {label} | {peak:.0f} | {end:.0f} | {seconds:.1f} |")
    peak = max(row[1] for row in rows)
    ratio = f" = {peak / csv_mb:.2f}x the CSV ({csv_mb:.0f} MiB)" if csv_mb else ""
    print(f"\nwhole command: peak {peak:.0f} MiB{ratio}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="a table file")
    parser.add_argument("--target", default="y")
    parser.add_argument("--million", action="store_true", help="big_tables.py's 1,000,000 x 20")
    parser.add_argument("--flags", default="", help="extra `glassnet train` flags")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        if args.million:  # written here, measured in a fresh process
            sys.path.insert(0, str(HERE))
            from big_tables import write_million

            path, target = write_million(Path(temp))
            command = [sys.executable, __file__, "--data", str(path), "--target", target]
            subprocess.run([*command, "--flags", args.flags], check=True)
            return
        if not args.data:
            parser.error("give --data FILE (and --target) or --million")
        path = Path(args.data)
        argv = ["train", "--data", str(path), "--target", args.target, "--quiet", "--json"]
        argv += ["--jobs", "1", "--out", str(Path(temp) / "run"), *args.flags.split()]
        with contextlib.redirect_stdout(io.StringIO()):  # the command's own JSON
            rows = measure(argv)
        print_table(rows, path.stat().st_size / 2**20)


if __name__ == "__main__":
    main()
