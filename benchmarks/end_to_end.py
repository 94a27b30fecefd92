"""`glassnet run` against a scikit-learn script of the same experiment, as whole processes.

    python benchmarks/end_to_end.py                  # 1 warm-up + 5 counted rounds
    python benchmarks/end_to_end.py --rounds 7
    python benchmarks/end_to_end.py --variant base=/tmp/base/src   # add another glassnet tree
    python benchmarks/end_to_end.py --sweep          # also time `glassnet sweep` (same grid)

What a user times is the command, start to finish: interpreter start-up, imports, the
worker processes, the experiment, the figures and report.html. Each round starts every
variant once as a fresh process, in turn, so the drifting load of a shared machine falls on
all of them alike; the first round only warms the file cache and is not counted. Wall time is
measured around the process; CPU time is its user+system time including every descendant it
waited for (``os.wait4``), i.e. the worker processes.

The scikit-learn side (``--sklearn-script`` runs it alone) is what a user would write for the
seed experiment: the seed split, ten ``MLPClassifier`` fits over ``logspace(-2, 2, 10)``
configured as BENCHMARKS.md says (sgd, full batch, momentum 0.9 without Nesterov,
``alpha=l2``, ``tol=0``, 1000 epochs), the winner on validation kept and scored on test. It
draws no figures, so it does less work than ``glassnet run``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "src"

SKLEARN_SCRIPT = """
import json, sys, warnings
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

x, y = load_digits(return_X_y=True)
x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.33, random_state=111)
x_train, x_valid, y_train, y_valid = train_test_split(
    x_rest, y_rest, test_size=0.40, random_state=123
)
l2_values = np.logspace(-2, 2, 10)
models = []
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for i, l2 in enumerate(l2_values):
        model = MLPClassifier(
            hidden_layer_sizes=(48, 32), activation="logistic", solver="sgd",
            batch_size=len(x_train), learning_rate_init=0.2, momentum=0.9,
            nesterovs_momentum=False, alpha=l2, max_iter=1000, tol=0,
            n_iter_no_change=1001, shuffle=False, random_state=i,
        )
        models.append(model.fit(x_train, y_train))
scores = [model.score(x_valid, y_valid) for model in models]
winner = int(np.argmax(scores))
print(json.dumps({"best_l2": float(l2_values[winner]), "validation_accuracy": scores[winner],
                  "test_accuracy": float(models[winner].score(x_test, y_test))}))
"""


@dataclass
class Variant:
    """One command to time, and what its runs measured."""

    name: str
    command: list[str]
    env: dict[str, str]
    out: Path | None = None  # glassnet's output folder, emptied before each run
    metrics: bool = False  # results from out/metrics.json (glassnet run) or stdout's JSON
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    inside: list[float] = field(default_factory=list)  # metrics.json "seconds"
    result: dict = field(default_factory=dict)

    def run(self, counted: bool) -> None:
        if self.out is not None:
            shutil.rmtree(self.out, ignore_errors=True)
        with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
            start = time.perf_counter()
            process = subprocess.Popen(self.command, env=self.env, stdout=stdout, stderr=stderr)
            # wait4 (not Popen.wait) also returns the CPU time of the process and of every
            # descendant it waited for: joblib's worker processes.
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - start
            process.returncode = os.waitstatus_to_exitcode(status)
            stdout.seek(0), stderr.seek(0)
            output, errors = stdout.read(), stderr.read()
        if process.returncode != 0:
            sys.exit(f"{self.name} failed ({process.returncode}):\n{errors[-2000:]}")
        if self.metrics:
            metrics = json.loads((self.out / "metrics.json").read_text())  # type: ignore[operator]
            self.result = {
                key: metrics[key] for key in ("best_l2", "validation_accuracy", "test_accuracy")
            }
            inside = metrics["seconds"]
        else:
            self.result = json.loads(output.strip().splitlines()[-1]) if output.strip() else {}
            inside = float("nan")
        if counted:
            self.wall.append(wall)
            self.cpu.append(usage.ru_utime + usage.ru_stime)
            self.inside.append(inside)


def glassnet_variant(name: str, source: Path, folder: Path, command: str = "run") -> Variant:
    env = {**os.environ, "PYTHONPATH": str(source)}
    out = folder / name
    glassnet = [sys.executable, "-m", "glassnet.cli", command, "--quiet", "--out", str(out)]
    if command == "sweep":  # the seed preset's own grid, one seed: the run's ten trainings
        return Variant(name, glassnet, env, out)
    return Variant(name, [*glassnet, "--seed", "0"], env, out, metrics=True)


def cpu_seconds(work, repeats: int = 3) -> float:
    """The least CPU time (this process) of ``repeats`` calls: CPU time, not wall, so the other
    users of a shared machine inflate it less; the least, as the one they disturbed least."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return min(times)


def epoch_costs(epochs: int) -> None:
    """Cost of one seed training-epoch (float32, one BLAS thread) as each command trains it:
    a sweep's trial (`glassnet run`, `glassnet sweep`: validation scored after the last epoch
    only, the weights of each epoch kept), `fit` scoring validation every epoch (`glassnet
    train`, a final training), and the estimator's `fit`; against a one-core GEMM peak
    measured now, and the epoch's floor: its matrix products and exponentials timed alone on
    the same shapes."""
    import numpy as np
    from compare import gemm_peak, seed_training_flops  # benchmarks/ is on sys.path
    from threadpoolctl import threadpool_limits

    from glassnet.data import load_digits, seed_split
    from glassnet.sklearn import GlassNetClassifier
    from glassnet.training.config import TrainConfig, fit_from_config

    splits = seed_split(load_digits())
    train, valid = (splits.train.x, splits.train.y), (splits.validation.x, splits.validation.y)
    config = TrainConfig(
        hidden_layer_sizes=(48, 32), activation="sigmoid", output_activation="sigmoid",
        lr=0.2, momentum=0.9, l2=0.599, epochs=epochs, dtype="float32",
    )  # fmt: skip
    estimator = GlassNetClassifier(
        (48, 32), "logistic", solver="sgd", batch_size=len(train[0]), learning_rate_init=0.2,
        momentum=0.9, nesterovs_momentum=False, alpha=0.599, max_iter=epochs, tol=0,
        n_iter_no_change=epochs + 1, shuffle=False, random_state=0, dtype="float32",
    )  # fmt: skip
    sizes = [64, 48, 32, 10]
    peak = gemm_peak(np.float32)
    n_train, n_valid = len(train[0]), len(valid[0])
    with threadpool_limits(limits=1, user_api="blas"):
        trial_seconds = cpu_seconds(lambda: sweep_trial(config, train, valid))
        fit_seconds = cpu_seconds(
            lambda: fit_from_config(
                config, train, valid, n_outputs=10, rng=np.random.default_rng(0)
            )
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "maximum iterations reached": as intended
            estimator_seconds = cpu_seconds(lambda: estimator.fit(*train))
        floors = {n: epoch_floor(n_train, n, sizes) for n in (0, n_valid)}
    print(
        f"\none seed training-epoch, float32, one core, least CPU time of 3 trainings of "
        f"{epochs} epochs (GEMM peak now {peak:.1f} GFLOP/s, load average "
        f"{os.getloadavg()[0]:.1f}):"
    )
    # (what, CPU seconds, validation rows scored after each epoch)
    for name, seconds, rows in (
        ("sweep trial", trial_seconds, 0),
        ("fit, validation", fit_seconds, n_valid),
        ("estimator fit", estimator_seconds, 0),  # the estimator watches no validation set
    ):
        flops = seed_training_flops(n_train, rows, sizes)
        per_epoch = seconds / epochs
        achieved = flops / per_epoch / 1e9
        print(
            f"  {name:<16} {per_epoch * 1e3:.3f} ms/epoch, {flops / 1e6:.1f} MFLOP/epoch, "
            f"{achieved:.1f} GFLOP/s = {peak / achieved:.1f}x below the peak"
        )
    for name, seconds, rows in (
        ("sweep trial", trial_seconds, 0),
        ("fit, validation", fit_seconds, n_valid),
    ):
        per_epoch = seconds / epochs
        products, exponentials = floors[rows]
        rest = per_epoch - products - exponentials
        print(
            f"  {name + ':':<16} matrix products alone {products * 1e3:.3f} ms "
            f"({products / per_epoch:.0%}), exponentials alone {exponentials * 1e3:.3f} ms "
            f"({exponentials / per_epoch:.0%}), everything else {rest * 1e3:.3f} ms "
            f"({rest / per_epoch:.0%})"
        )


def sweep_trial(config, train, valid) -> None:
    """One trial as a `glassnet run` worker trains it: validation scored after the last
    epoch, the weights of every epoch kept and saved to a scratch folder."""
    import numpy as np

    from glassnet.experiments.trials import Trial, run_trial_saving_trajectory

    trial = Trial(0, config, np.random.default_rng(0), {})
    # The system's temporary folder; a run saves into its run folder (another disk, maybe).
    with tempfile.TemporaryDirectory() as folder:
        run_trial_saving_trajectory(
            trial, folder=Path(folder), train_data=train, validation=valid, n_outputs=10,
            keep_state=True, score_every_epoch=False,
        )  # fmt: skip


def epoch_floor(n_train: int, n_valid: int, sizes: list[int]) -> tuple[float, float]:
    """CPU seconds of one seed epoch's matrix products (forward on train and validation,
    weight and input gradients) and of its exponentials (every sigmoid and the softmax, on
    train and validation), each timed alone on contiguous arrays of the same shapes."""
    import numpy as np

    rng = np.random.default_rng(0)
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    weights = [rng.uniform(-0.3, 0.3, pair).astype(np.float32) for pair in pairs]
    # activations[n][k]: an (n, sizes[k]) array, the input of layer k or the output of k - 1
    activations = {
        n: [rng.uniform(0, 1, (n, size)).astype(np.float32) for size in sizes]
        for n in (n_train, n_valid)
    }

    scored = [n for n in (n_train, n_valid) if n > 0]

    def products() -> None:
        for n in scored:
            for k, weight in enumerate(weights):
                activations[n][k] @ weight
        for k, weight in enumerate(weights):
            grad = activations[n_train][k + 1]
            activations[n_train][k].T @ grad
            if k > 0:
                grad @ weight.T

    def exponentials() -> None:
        for n in scored:
            for values in activations[n][1:] + activations[n][-1:]:  # sigmoids, then softmax
                np.exp(values)

    repeats = 200
    return (
        cpu_seconds(lambda: [products() for _ in range(repeats)]) / repeats,
        cpu_seconds(lambda: [exponentials() for _ in range(repeats)]) / repeats,
    )


def blas_kernels() -> str:
    from threadpoolctl import threadpool_info

    return "; ".join(
        f"{i['internal_api']} {i.get('version')} {i.get('architecture')} "
        f"({i['num_threads']} threads)"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="counted rounds (default 5)")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=SRC",
        help="also time glassnet from another source tree (e.g. the branch start)",
    )
    parser.add_argument("--no-sklearn", action="store_true", help="time glassnet variants only")
    parser.add_argument("--sweep", action="store_true", help="also time `glassnet sweep`")
    parser.add_argument(
        "--epochs",
        type=int,
        default=300,
        help="epochs of the per-epoch cost measurement at the end (0: skip it)",
    )
    parser.add_argument("--sklearn-script", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sklearn_script:
        exec(compile(SKLEARN_SCRIPT, "sklearn_seed_experiment", "exec"), {})
        return

    import numpy as np

    folder = Path(tempfile.mkdtemp(prefix="glassnet-e2e-"))
    variants = [glassnet_variant("glassnet", SOURCE, folder)]
    for spec in args.variant:
        name, _, source = spec.partition("=")
        variants.append(glassnet_variant(name, Path(source).resolve(), folder))
    if args.sweep:
        variants.append(glassnet_variant("sweep", SOURCE, folder, command="sweep"))
    if not args.no_sklearn:
        sklearn = [sys.executable, str(Path(__file__).resolve()), "--sklearn-script"]
        variants.append(Variant("scikit-learn", sklearn, dict(os.environ)))

    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"numpy {np.__version__}; BLAS: {blas_kernels()}; "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}"
    )
    if os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1):
        print(
            "warning: this machine is busy; other processes inflate both commands' times "
            "unevenly (scikit-learn's two BLAS threads suffer most), so quote a ratio only "
            "from a quiet machine"
        )
    for round_ in range(args.rounds + 1):
        for variant in variants:
            variant.run(counted=round_ > 0)
        label = "warm-up" if round_ == 0 else f"round {round_}"
        times = ", ".join(f"{v.name} {v.wall[-1]:.2f} s" if round_ else v.name for v in variants)
        print(f"{label}: {times} (load average {os.getloadavg()[0]:.1f})", flush=True)
    shutil.rmtree(folder, ignore_errors=True)

    print(f"\nmedians of {args.rounds} rounds (load average now {os.getloadavg()[0]:.1f}):")
    print(f"{'command':<14} {'wall s':>7} {'CPU s':>7} {'inside s':>9}  result")
    for v in variants:
        result = ", ".join(f"{key} {value:.4g}" for key, value in v.result.items())
        inside = statistics.median(v.inside)
        print(
            f"{v.name:<14} {statistics.median(v.wall):7.2f} {statistics.median(v.cpu):7.2f} "
            f"{inside:9.2f}  {result}"
        )
    if not args.no_sklearn:
        reference = variants[-1]
        for v in variants[:-1]:
            ratio = statistics.median(reference.wall) / statistics.median(v.wall)
            per_round = statistics.median(
                r / g for r, g in zip(reference.wall, v.wall, strict=True)
            )
            cpu_ratio = statistics.median(reference.cpu) / statistics.median(v.cpu)
            print(
                f"scikit-learn / {v.name}: {ratio:.2f}x wall (median of per-round ratios "
                f"{per_round:.2f}x), {cpu_ratio:.2f}x CPU"
            )
    else:
        for v in variants[1:]:
            ratio = statistics.median(v.wall) / statistics.median(variants[0].wall)
            print(f"{v.name} / glassnet: {ratio:.2f}x wall")
    print(
        "('inside': the experiment's own seconds in metrics.json; the rest is start-up, "
        "figures and report)"
    )
    if args.epochs > 0:
        epoch_costs(args.epochs)


if __name__ == "__main__":
    main()
