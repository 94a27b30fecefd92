"""early_stopping=True, glassnet against scikit-learn: the same start, then many seeds.

    python benchmarks/sklearn_early_stopping.py [--states 200]

Data: the seed experiment's split of the digits (``X / 16``; 1203 rows to fit, 594 to test).

1. The same start: glassnet gets scikit-learn's initial weights and held-out rows (drawn
   from ``RandomState(state)`` as scikit-learn draws them, passed as ``validation_data``), and
   both fit with ``shuffle=False``. If the rule, the split handling, the scoring or the
   restoring differed, the per-epoch validation scores and ``n_iter_`` would part ways.
2. Many seeds: each library fits ``MLPClassifier(early_stopping=True, random_state=state)``
   for every state; printed: the median and mean of ``n_iter_``, of the best epoch and of
   the test accuracy, and a Mann-Whitney U test of each pair of distributions.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import mannwhitneyu
from sklearn import neural_network as sk
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from glassnet import sklearn as gn


def digits():
    x, y = load_digits(return_X_y=True)
    return train_test_split(x / 16.0, y, test_size=0.33, random_state=111)


def same_start(state: int, x, y) -> None:
    random = np.random.RandomState(state)
    initial = []
    for fan_in, fan_out in ((64, 100), (100, 10)):  # scikit-learn's draws, in its order
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        initial.append(
            (
                random.uniform(-bound, bound, (fan_in, fan_out)),
                random.uniform(-bound, bound, fan_out),
            )
        )
    x_fit, x_valid, y_fit, y_valid = train_test_split(x, y, random_state=random, test_size=0.1)
    theirs = sk.MLPClassifier(early_stopping=True, random_state=state, shuffle=False).fit(x, y)
    ours = gn.MLPClassifier(early_stopping=True, random_state=state, shuffle=False)
    build = ours._build

    def build_from_theirs(sizes, x_built, y_built):
        build(sizes, x_built, y_built)
        for layer, (weight, bias) in zip(ours._linears(), initial, strict=True):
            layer.weight.value[...], layer.bias.value[...] = weight, bias

    ours._build = build_from_theirs
    ours.fit(x_fit, y_fit, validation_data=(x_valid, y_valid))
    agree = sum(
        a == b for a, b in zip(theirs.validation_scores_, ours.validation_scores_, strict=False)
    )
    print(
        f"state {state}: n_iter_ scikit-learn {theirs.n_iter_}, glassnet {ours.n_iter_}; "
        f"validation scores equal in {agree} of the first "
        f"{min(theirs.n_iter_, ours.n_iter_)} epochs; first-epoch loss "
        f"{theirs.loss_curve_[0]:.6f} / {ours.loss_curve_[0]:.6f}"
    )


def many_seeds(states: int, x, y, x_test, y_test) -> None:
    results = {}
    for name, library in (("scikit-learn", sk), ("glassnet", gn)):
        rows = []
        for state in range(states):
            model = library.MLPClassifier(early_stopping=True, random_state=state).fit(x, y)
            scores = model.validation_scores_
            rows.append((model.n_iter_, int(np.argmax(scores)) + 1, model.score(x_test, y_test)))
        results[name] = np.array(rows, dtype=float)
    for column, what in enumerate(("n_iter_", "best epoch", "test accuracy")):
        theirs, ours = results["scikit-learn"][:, column], results["glassnet"][:, column]
        p = mannwhitneyu(theirs, ours).pvalue
        print(
            f"{what:14s} median / mean: scikit-learn {np.median(theirs):.4g} / "
            f"{theirs.mean():.4g}, glassnet {np.median(ours):.4g} / {ours.mean():.4g}; "
            f"Mann-Whitney p = {p:.2f}"
        )
    spread = np.percentile(results["scikit-learn"][:, 0], [10, 90])
    print(f"scikit-learn's n_iter_, 10th to 90th percentile: {spread[0]:.0f} to {spread[1]:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=200)
    args = parser.parse_args()
    x, x_test, y, y_test = digits()
    with threadpool_limits(1, "blas"):
        for state in range(3):
            same_start(state, x, y)
        many_seeds(args.states, x, y, x_test, y_test)


if __name__ == "__main__":
    main()
