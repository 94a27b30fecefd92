"""Test accuracy on the seed split, seeds 0-4: the `seed` and `best` presets against
scikit-learn's MLPClassifier, all measured in this one run.

    python benchmarks/accuracy.py              # seeds 0-4 (several minutes on 2 cores)
    python benchmarks/accuracy.py --seeds 0 1  # fewer seeds

Every column uses the same split (721 train / 482 validation / 594 test); the test set is
only predicted once per model. glassnet presets choose their settings on validation; `best`
then refits on train+validation (its preset says so). MLPClassifier runs with its defaults
(`random_state=seed`) on raw pixels and on StandardScaler-scaled pixels, trained on train
only, as in the issue; a third column trains the scaled one on train+validation, so the
refit's extra data is compared like for like.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import numpy as np
from machine import machine_info  # benchmarks/ is on sys.path when run as a script
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from glassnet.data import load_digits, seed_split
from glassnet.experiments import presets
from glassnet.experiments.experiment import run_experiment


def sklearn_accuracy(seed: int, *, scaled: bool, with_validation: bool) -> float:
    splits = seed_split(load_digits())
    parts = [splits.train, splits.validation] if with_validation else [splits.train]
    x = np.vstack([p.x for p in parts])
    y = np.concatenate([p.y for p in parts])
    model = MLPClassifier(random_state=seed)
    if scaled:
        model = make_pipeline(StandardScaler(), model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # defaults stop at max_iter=200
        model.fit(x, y)
    return float(np.mean(model.predict(splits.test.x) == splits.test.y))


SKLEARN_COLUMNS = [  # (column, StandardScaler first, trained on train+validation)
    ("sklearn defaults", False, False),
    ("sklearn scaled", True, False),
    ("sklearn scaled, train+valid", True, True),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=-1, help="processes for glassnet's trainings")
    args = parser.parse_args()
    print(machine_info(), flush=True)

    columns: dict[str, dict[int, float]] = {"glassnet seed": {}, "glassnet best": {}}
    columns.update({name: {} for name, _, _ in SKLEARN_COLUMNS})
    seconds: dict[str, list[float]] = {"seed": [], "best": []}
    for seed in args.seeds:
        for name in ("seed", "best"):
            result = run_experiment(presets.load(name), seed=seed, n_jobs=args.jobs)
            columns[f"glassnet {name}"][seed] = result.test_accuracy
            seconds[name].append(result.seconds)
            print(
                f"seed {seed}: {name:4s} test {result.test_accuracy:.4f} "
                f"chosen {result.best_params} ({result.seconds:.1f} s)",
                flush=True,
            )
        for name, scaled, with_validation in SKLEARN_COLUMNS:
            columns[name][seed] = sklearn_accuracy(
                seed, scaled=scaled, with_validation=with_validation
            )

    print()
    print("| seed | " + " | ".join(columns) + " |")
    print("| --- |" + " --- |" * len(columns))
    for seed in args.seeds:
        print(f"| {seed} | " + " | ".join(f"{col[seed]:.4f}" for col in columns.values()) + " |")
    medians = [statistics.median(col.values()) for col in columns.values()]
    print("| **median** | " + " | ".join(f"**{m:.4f}**" for m in medians) + " |")
    print()
    for name, times in seconds.items():
        print(
            f"glassnet run --preset {name}: median {statistics.median(times):.1f} s per run "
            f"(min {min(times):.1f}, max {max(times):.1f}), n_jobs={args.jobs}"
        )
    print(
        f"measured at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; the machine is "
        f"shared, so times are noisy (load average now {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
