"""glassnet's MLPClassifier / MLPRegressor against scikit-learn's, side by side: same code,
same data, same parameters, averaged over random states.

    python benchmarks/sklearn_dropin.py                 # random states 0-9
    python benchmarks/sklearn_dropin.py --states 0 1    # fewer
    python benchmarks/sklearn_dropin.py --blas-threads 1  # both libraries on one BLAS thread
    python benchmarks/sklearn_dropin.py --iris-cv         # the issue's iris check instead

For each bundled dataset and setting, every random state draws one stratified 75/25 split
(``random_state=state``) and fits ``make_pipeline(StandardScaler(), Estimator(...,
random_state=state))`` from each library, alternating which goes first. Printed: the mean
test accuracy (R^2 for regression) of each, their difference, and the total fit time of
each with the ratio glassnet / scikit-learn (below 1: glassnet is faster).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from machine import machine_info  # benchmarks/ is on sys.path when run as a script
from sklearn import datasets
from sklearn import neural_network as sk
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from glassnet import sklearn as gn

SGD = {"solver": "sgd", "learning_rate_init": 0.01}
ADAM_500 = {"learning_rate_init": 0.01, "max_iter": 500}
# (name, loader, estimator name, parameters); defaults unless stated.
CASES = [
    ("iris", datasets.load_iris, "MLPClassifier", {}),
    ("wine", datasets.load_wine, "MLPClassifier", {}),
    ("breast_cancer", datasets.load_breast_cancer, "MLPClassifier", {}),
    ("digits", datasets.load_digits, "MLPClassifier", {}),
    ("digits sgd", datasets.load_digits, "MLPClassifier", SGD),
    ("breast_cancer lbfgs", datasets.load_breast_cancer, "MLPClassifier", {"solver": "lbfgs"}),
    ("iris lbfgs", datasets.load_iris, "MLPClassifier", {"solver": "lbfgs", "alpha": 1.0}),
    ("diabetes", datasets.load_diabetes, "MLPRegressor", {}),
    ("diabetes lr 0.01 500it", datasets.load_diabetes, "MLPRegressor", ADAM_500),
    ("diabetes lbfgs", datasets.load_diabetes, "MLPRegressor", {"solver": "lbfgs", "alpha": 10.0}),
]  # fmt: skip


def run_once(library, estimator: str, params: dict, data, state: int) -> tuple[float, float]:
    x_train, x_test, y_train, y_test = data
    model = getattr(library, estimator)(**params, random_state=state)
    if estimator == "MLPRegressor":  # targets in the hundreds: standardise them too
        model = TransformedTargetRegressor(model, transformer=StandardScaler())
    pipeline = make_pipeline(StandardScaler(), model)
    start = time.perf_counter()
    pipeline.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    return float(pipeline.score(x_test, y_test)), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, nargs="+", default=list(range(10)))
    parser.add_argument(
        "--blas-threads", type=int, default=None, help="limit BLAS threads (default: as set up)"
    )
    parser.add_argument("--cases", nargs="+", default=None, help="only cases containing these")
    parser.add_argument(
        "--iris-cv", action="store_true", help="5-fold CV on iris, random states 0-5, defaults"
    )
    args = parser.parse_args()
    with threadpool_limits(args.blas_threads, "blas"):
        if args.iris_cv:
            iris_cv()
        else:
            compare(args.states, args.cases)


def iris_cv() -> None:
    """The issue's check: defaults, 5-fold CV on iris (shuffled by the state), states 0-5."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    print(machine_info())
    x, y = datasets.load_iris(return_X_y=True)
    for key, library in (("sklearn", sk), ("glassnet", gn)):
        scores = []
        for state in range(6):
            folds = StratifiedKFold(5, shuffle=True, random_state=state)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model = library.MLPClassifier(random_state=state)
                scores.append(cross_val_score(model, x, y, cv=folds).mean())
        print(f"iris 5-fold CV, MLPClassifier defaults, states 0-5: {key} {np.mean(scores):.4f}")


def compare(states: list[int], only: list[str] | None = None) -> None:
    print(machine_info())
    print(f"random states {states}; score = test accuracy, or R^2 for regression")
    header = (
        f"{'case':<22}{'sklearn':>9}{'glassnet':>9}{'diff':>8}{'sk s':>8}{'gn s':>8}{'ratio':>7}"
    )
    print(header)
    diffs, ratios = [], []
    for name, loader, estimator, params in CASES:
        if only is not None and not any(part in name for part in only):
            continue
        x, y = loader(return_X_y=True)
        scores = {"sk": [], "gn": []}
        times = {"sk": 0.0, "gn": 0.0}
        for state in states:
            stratify = y if estimator == "MLPClassifier" else None
            data = train_test_split(x, y, test_size=0.25, random_state=state, stratify=stratify)
            order = [("sk", sk), ("gn", gn)]
            for key, library in order if state % 2 == 0 else order[::-1]:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    score, seconds = run_once(library, estimator, params, data, state)
                scores[key].append(score)
                times[key] += seconds
        sk_score, gn_score = np.mean(scores["sk"]), np.mean(scores["gn"])
        ratio = times["gn"] / times["sk"]
        diffs.append(gn_score - sk_score)
        ratios.append(ratio)
        print(
            f"{name:<22}{sk_score:>9.4f}{gn_score:>9.4f}{gn_score - sk_score:>+8.4f}"
            f"{times['sk']:>8.2f}{times['gn']:>8.2f}{ratio:>7.2f}"
        )
    print(
        f"worst score difference (glassnet - sklearn) {min(diffs):+.4f}; "
        f"fit-time ratio median {np.median(ratios):.2f}, worst {max(ratios):.2f}"
    )


if __name__ == "__main__":
    main()
