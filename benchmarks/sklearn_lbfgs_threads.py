"""solver="lbfgs" on the digits, glassnet against scikit-learn, by BLAS threads.

    python benchmarks/sklearn_lbfgs_threads.py [--states 0 1 2]

Each library fits ``MLPClassifier(solver="lbfgs", random_state=state)`` (defaults: 100 ReLU,
max_iter=200) on all 1797 digits scaled to [0, 1], with BLAS limited to 1 thread, to 2, and
(glassnet) left to its own thread policy inside ``fit``; printed: seconds per fit (median over
the states) and the training accuracy. On a machine shared with other work, OpenBLAS's
threads wait for a free core at every matrix product: that is what the policy avoids.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

from machine import machine_info  # benchmarks/ is on sys.path when run as a script
from sklearn import neural_network as sk
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info, threadpool_limits

from glassnet import sklearn as gn


def timed(library, x, y, state: int) -> tuple[float, float]:
    model = library.MLPClassifier(solver="lbfgs", random_state=state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(x, y)
        seconds = time.perf_counter() - start
    return seconds, float(model.score(x, y))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    print(machine_info())
    cores = max((pool["num_threads"] for pool in threadpool_info()), default=1)
    print(f"BLAS threads available: {cores}")
    settings = [("1 thread", 1), ("2 threads", 2), ("as set up (glassnet: its policy)", None)]
    for label, threads in settings:
        for name, library in (("glassnet", gn), ("scikit-learn", sk)):
            with threadpool_limits(threads, "blas"):
                runs = [timed(library, x, y, state) for state in args.states]
            seconds = statistics.median(run[0] for run in runs)
            accuracy = statistics.mean(run[1] for run in runs)
            print(f"{label:34s} {name:13s} {seconds:7.3f} s   train accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
