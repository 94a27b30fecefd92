"""How often the two random-draw tests of scikit-learn's test_mlp.py fail, over seeds, for
scikit-learn's MLP and glassnet's drop-in (sklearn_mlp_tests.py runs each at one seed).

    python benchmarks/sklearn_mlp_pass_rates.py [--seeds 1000]

- test_partial_fit_unseen_classes: two partial_fit calls on four 1-D points, then
  ``score > 0``: fails when the barely trained network misses all four.
- test_lbfgs_regression_maxfun, activation "identity": a linear network is a least-squares
  problem that L-BFGS may solve within ``max_fun=10`` evaluations, and then no
  ConvergenceWarning comes (the other activations always warn).
"""

from __future__ import annotations

import argparse
import warnings

from sklearn import neural_network as sk
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import scale
from threadpoolctl import threadpool_limits

from glassnet import sklearn as gn


def unseen_classes_fails(library, seed: int) -> bool:
    clf = library.MLPClassifier(random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit([[1], [2], [3]], ["a", "b", "c"], classes=["a", "b", "c", "d"])
        clf.partial_fit([[4]], ["d"])
    return not clf.score([[1], [2], [3], [4]], ["a", "b", "c", "d"]) > 0


def maxfun_fails(library, seed: int, x, y) -> bool:
    model = library.MLPRegressor(
        solver="lbfgs", hidden_layer_sizes=50, tol=0.0, max_iter=150, max_fun=10,
        random_state=seed, activation="identity",
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y)
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return not warned or model.n_iter_ > 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1000)
    args = parser.parse_args()
    x, y = make_regression(n_samples=200, n_features=10, bias=20.0, noise=100.0, random_state=7)
    y = scale(y)
    with threadpool_limits(1, "blas"):
        for name, library in (("scikit-learn", sk), ("glassnet", gn)):
            unseen = sum(unseen_classes_fails(library, seed) for seed in range(args.seeds))
            maxfun = sum(maxfun_fails(library, seed, x, y) for seed in range(args.seeds // 10))
            print(
                f"{name:12s} test_partial_fit_unseen_classes fails {unseen} of {args.seeds} "
                f"seeds; test_lbfgs_regression_maxfun (identity) fails {maxfun} of "
                f"{args.seeds // 10}"
            )


if __name__ == "__main__":
    main()
