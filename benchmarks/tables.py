"""Quality on real tables: `glassnet train` with its defaults against a scikit-learn pipeline
(impute + one-hot + scale + MLPClassifier / MLPRegressor, defaults, random_state=seed; the
regressor's target standardised) on the same split, seeds 0-2 by default.

    python benchmarks/tables.py                 # all tables, seeds 0 1 2 (a few minutes)
    python benchmarks/tables.py --seeds 0 --tables penguins wine

The tables are public and offline: scikit-learn's bundled breast_cancer, wine and diabetes
(written out as CSV here), and CSV/JSON files shipped inside PyPI wheels:
penguins.csv (pip install palmerpenguins: categories and NA cells), seattle-weather.csv and
cars.json (pip install vega_datasets: a date column; NA cells, a category, a date and a free
text name). Each one is written as a CSV file and given to the `glassnet train` command
exactly as a user would (`--data FILE --target COLUMN`, nothing else).

Both sides see the same rows: the scikit-learn pipeline is fitted on glassnet's training
split (the same rows, the same column roles, dates expanded into the same parts) and scored
on glassnet's test split. glassnet also uses its validation rows, for early stopping;
scikit-learn's MLP runs its own default stopping rule on the training loss.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from machine import machine_info  # benchmarks/ is on sys.path when run as a script
from real_tables import other_method

from glassnet.cli.app import main


def sklearn_frame(name: str, load) -> pd.DataFrame:
    bunch = load(as_frame=True)
    return bunch.frame


def package_file(package: str, *parts: str) -> Path:
    module = __import__(package)
    return Path(module.__file__).parent.joinpath(*parts)


def tables() -> dict[str, tuple[pd.DataFrame, str]]:
    """name -> (frame, target column)."""
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

    found = {
        "breast_cancer": (sklearn_frame("breast_cancer", load_breast_cancer), "target"),
        "wine": (sklearn_frame("wine", load_wine), "target"),
        "diabetes": (sklearn_frame("diabetes", load_diabetes), "target"),
    }
    try:
        found["penguins"] = (
            pd.read_csv(package_file("palmerpenguins", "data", "penguins.csv")),
            "species",
        )
    except ImportError:
        print("skipping penguins: pip install palmerpenguins")
    try:
        data = package_file("vega_datasets", "_data")
        found["seattle_weather"] = (pd.read_csv(data / "seattle-weather.csv"), "weather")
        found["cars"] = (pd.read_json(data / "cars.json"), "Miles_per_Gallon")
    except ImportError:
        print("skipping seattle_weather and cars: pip install vega_datasets")
    return found


def glassnet_score(
    path: Path, target: str, seed: int, out: Path, flags: list[str]
) -> tuple[float, str, float]:
    """(test accuracy or R², task, seconds) of `glassnet train` with its defaults."""
    started = time.perf_counter()
    argv = ["train", "--data", str(path), "--target", target, "--seed", str(seed)]
    argv += ["--out", str(out), "--quiet", "--json", "--jobs", "1", *flags]
    from contextlib import redirect_stderr, redirect_stdout
    from io import StringIO

    stdout = StringIO()
    with redirect_stdout(stdout), redirect_stderr(StringIO()):
        assert main(argv) == 0
    result = json.loads(stdout.getvalue())
    score = result["test_r2"] if result["task"] == "regression" else result["test_accuracy"]
    return score, result["task"], time.perf_counter() - started


def sklearn_score(path: Path, target: str, seed: int) -> tuple[float, float]:
    """(test accuracy or R², seconds including reading) of the scikit-learn pipeline on
    glassnet's split: ``real_tables.other_method``'s, on glassnet's own column roles."""
    started = time.perf_counter()
    score, _ = other_method("sk_mlp", path, target, seed, codes=False)
    return score, time.perf_counter() - started


def main_benchmark() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--tables", nargs="+", help="only these tables")
    parser.add_argument(
        "--flags", default="", help="extra `glassnet train` flags, to try other settings"
    )
    args = parser.parse_args()
    print(machine_info())
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, (frame, target) in tables().items():
            if args.tables and name not in args.tables:
                continue
            path = Path(folder) / f"{name}.csv"
            frame.to_csv(path, index=False)
            ours, theirs, seconds = [], [], [0.0, 0.0]
            for seed in args.seeds:
                score, task, took = glassnet_score(
                    path, target, seed, Path(folder) / f"{name}-{seed}", args.flags.split()
                )
                ours.append(score)
                seconds[0] += took
                score, took = sklearn_score(path, target, seed)
                theirs.append(score)
                seconds[1] += took
            metric = "R²" if task == "regression" else "accuracy"
            ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
            rows.append(
                f"| {name} | {frame.shape[0]}x{frame.shape[1] - 1} | {task} | {metric} | "
                f"{ours_median:.4f} | {theirs_median:.4f} | {ours_median - theirs_median:+.4f} | "
                f"{seconds[0] / len(args.seeds):.1f} / {seconds[1] / len(args.seeds):.1f} |"
            )
            print(
                f"{name}: glassnet {np.round(ours, 4)}, scikit-learn {np.round(theirs, 4)}",
                flush=True,
            )
    print(f"\nmedian over seeds {args.seeds}, test set (20% of the rows):\n")
    print(
        "| table | rows x columns | task | metric | glassnet train | scikit-learn MLP | "
        "difference | seconds (glassnet / sklearn) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main_benchmark()
