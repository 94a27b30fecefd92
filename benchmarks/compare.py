"""glassnet against its peers on the same work, measured side by side in one run.

    python benchmarks/compare.py            # full: 3 repeats of everything (several minutes)
    python benchmarks/compare.py --quick    # one repeat, shorter trainings

Tables:
 1. the whole seed experiment (10 sweep trainings of 1000 full-batch epochs, per-epoch
    validation loss kept, and the final network): glassnet vs scikit-learn's MLPClassifier;
 2. one seed training: achieved GFLOP/s against a GEMM peak measured now;
 3. MNIST-sized minibatch training (synthetic): samples/s vs PyTorch CPU, if installed;
 4. time per epoch over samples x width, with the fitted exponent for samples.

Times are medians of the repeats; ratios compare numbers measured in this same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
from machine import machine_info  # benchmarks/ is on sys.path when run as a script
from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits

from glassnet.data import load_digits, seed_split
from glassnet.experiments import presets
from glassnet.experiments.experiment import run_experiment
from glassnet.training.config import TrainConfig, blas_threads, build, fit_from_config
from glassnet.training.loop import fit

console = Console(width=120)  # tables stay readable when the output goes to a file


def median_time(work: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time of ``repeats`` calls, and the last call's result."""
    return median_times([work], repeats)[0]


def median_times(works: list[Callable[[], object]], repeats: int) -> list[tuple[float, object]]:
    """``median_time`` of each of ``works``, run in turn ``repeats`` times over: on a shared
    machine the load drifts, and taking turns spreads the drift over all of them."""
    times: list[list[float]] = [[] for _ in works]
    results: list[object] = [None for _ in works]
    for _ in range(repeats):
        for i, work in enumerate(works):
            start = time.perf_counter()
            results[i] = work()
            times[i].append(time.perf_counter() - start)
    return [(statistics.median(t), r) for t, r in zip(times, results, strict=True)]


# --- 1. the seed experiment ------------------------------------------------------------------


def sklearn_seed_experiment(
    epochs: int, seed: int, blas_threads: int | None
) -> tuple[float, float]:
    """The seed experiment with MLPClassifier as a user would write it (BENCHMARKS.md settings).

    Returns (chosen l2, test accuracy). MLPClassifier has no sigmoid before its softmax and
    records no validation loss, so it does slightly less work than glassnet here. The final
    model is the winning fit, as in glassnet: refitting it with its own random_state would
    repeat it exactly.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    splits = seed_split(load_digits())
    train, valid, test = splits.train, splits.validation, splits.test

    def make(l2: float, random_state: int) -> MLPClassifier:
        return MLPClassifier(
            hidden_layer_sizes=(48, 32),
            activation="logistic",
            solver="sgd",
            batch_size=len(train),
            learning_rate_init=0.2,
            momentum=0.9,
            nesterovs_momentum=False,
            alpha=l2,
            max_iter=epochs,
            tol=0,
            n_iter_no_change=epochs + 1,
            shuffle=False,
            random_state=random_state,
        )

    with warnings.catch_warnings(), threadpool_limits(limits=blas_threads, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        l2_values = np.logspace(-2, 2, 10)
        models = [make(l2, seed * 100 + i).fit(train.x, train.y) for i, l2 in enumerate(l2_values)]
        winner = int(np.argmax([model.score(valid.x, valid.y) for model in models]))
        return float(l2_values[winner]), float(models[winner].score(test.x, test.y))


def table_seed_experiment(repeats: int, epochs: int) -> None:
    preset = presets.load("seed")
    preset.train = preset.train.replace(epochs=epochs)
    rows: list[tuple[str, float, float, float]] = []

    def glassnet_run(dtype: str, n_jobs: int) -> Callable[[], tuple[float, float]]:
        def work() -> tuple[float, float]:
            run_preset = dataclasses.replace(preset, train=preset.train.replace(dtype=dtype))
            result = run_experiment(run_preset, seed=0, n_jobs=n_jobs)
            return result.best_l2, result.test_accuracy

        return work

    # Warm the process pool once so every repeat measures the same thing (the CLI pays
    # this start-up once per run: it is reported separately below).
    start = time.perf_counter()
    glassnet_run("float32", -1)()
    cold = time.perf_counter() - start

    variants = [
        ("glassnet float32, all cores", glassnet_run("float32", -1)),
        ("glassnet float64, all cores", glassnet_run("float64", -1)),
        ("glassnet float32, 1 process", glassnet_run("float32", 1)),
        (
            "scikit-learn MLPClassifier, default BLAS threads",
            lambda: sklearn_seed_experiment(epochs, 0, None),
        ),
        (
            "scikit-learn MLPClassifier, 1 BLAS thread",
            lambda: sklearn_seed_experiment(epochs, 0, 1),
        ),
    ]
    measured = median_times([work for _, work in variants], repeats)
    for (name, _), (seconds, (best_l2, test_accuracy)) in zip(variants, measured, strict=True):  # type: ignore[misc]
        rows.append((name, seconds, best_l2, test_accuracy))
    sklearn_best = min(seconds for name, seconds, *_ in rows if name.startswith("scikit"))
    table = Table(
        title=f"1. The seed experiment: 10 trainings x {epochs} full-batch epochs, the winner "
        f"kept as the final model (median of {repeats}, taking turns)"
    )
    for column in (
        "implementation",
        "wall time (s)",
        "speed-up vs best scikit-learn",
        "chosen l2",
        "test accuracy",
    ):
        table.add_column(column, justify="right" if column != "implementation" else "left")
    for name, seconds, best_l2, test_accuracy in rows:
        table.add_row(
            name,
            f"{seconds:.2f}",
            f"{sklearn_best / seconds:.2f}x",
            f"{best_l2:.3g}",
            f"{test_accuracy:.4f}",
        )
    console.print(table)
    console.print(
        f"  first glassnet run in this process, including process-pool start-up: {cold:.2f} s"
    )


# --- 2. one training against the floating-point limit --------------------------------------


def gemm_peak(dtype: type, size: int = 1024, repeats: int = 5) -> float:
    """GFLOP/s of a square matrix product on one BLAS thread (the per-core limit)."""
    rng = np.random.default_rng(0)
    a, b = (
        rng.standard_normal((size, size)).astype(dtype),
        rng.standard_normal((size, size)).astype(dtype),
    )
    with threadpool_limits(limits=1, user_api="blas"):
        a @ b
        seconds, _ = median_time(lambda: a @ b, repeats)
    return 2 * size**3 / seconds / 1e9


def seed_training_flops(n_train: int, n_valid: int, sizes: list[int]) -> int:
    """Matrix-product FLOPs of one epoch: forward, weight and input gradients (not for the
    data), and the validation forward."""
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    per_sample = sum(2 * n_in * n_out for n_in, n_out in pairs)
    input_grads = sum(2 * n_in * n_out for n_in, n_out in pairs[1:])
    return n_train * (2 * per_sample + input_grads) + n_valid * per_sample


def table_flops(repeats: int, epochs: int) -> None:
    splits = seed_split(load_digits())
    flops = (
        seed_training_flops(len(splits.train), len(splits.validation), [64, 48, 32, 10]) * epochs
    )
    table = Table(title=f"2. One seed training ({epochs} epochs, one core) against the GEMM peak")
    for column in ("dtype", "time (s)", "achieved GFLOP/s", "GEMM peak GFLOP/s", "peak / achieved"):
        table.add_column(column, justify="right")
    for dtype in ("float32", "float64"):
        config = TrainConfig(output_activation="sigmoid", l2=0.599, epochs=epochs, dtype=dtype)

        def work(config: TrainConfig = config) -> None:
            with threadpool_limits(limits=1, user_api="blas"):
                fit_from_config(
                    config,
                    (splits.train.x, splits.train.y),
                    (splits.validation.x, splits.validation.y),
                    n_outputs=10,
                    rng=np.random.default_rng(0),
                )

        seconds, _ = median_time(work, repeats)
        peak = gemm_peak(np.dtype(dtype).type)
        achieved = flops / seconds / 1e9
        table.add_row(
            dtype, f"{seconds:.3f}", f"{achieved:.1f}", f"{peak:.1f}", f"{peak / achieved:.1f}x"
        )
    console.print(table)
    console.print(
        f"  {flops / epochs / 1e6:.1f} MFLOP of matrix products per epoch; "
        "the rest of the time is elementwise work (exp in the sigmoids) and Python."
    )


# --- 3. MNIST-sized minibatch training -----------------------------------------------------


def mnist_like(n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((n_samples, 784), dtype=np.float32), rng.integers(0, 10, n_samples)


def glassnet_epoch(x: np.ndarray, y: np.ndarray, blas_threads: int | None) -> None:
    config = TrainConfig(
        hidden_layer_sizes=(256, 128),
        activation="relu",
        lr=0.01,
        momentum=0.9,
        epochs=1,
        batch_size=128,
        dtype="float32",
    )
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        fit_from_config(config, (x, y), None, n_outputs=10, rng=np.random.default_rng(0))


def torch_epoch(x: np.ndarray, y: np.ndarray) -> None:
    import torch

    generator = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
    order = torch.randperm(len(x), generator=generator)
    for start in range(0, len(x), 128):
        batch = order[start : start + 128]
        optimizer.zero_grad()
        loss_fn(model(inputs[batch]), targets[batch]).backward()
        optimizer.step()


def table_mnist(repeats: int, n_samples: int) -> None:
    x, y = mnist_like(n_samples)
    table = Table(
        title=f"3. MNIST-sized training: {n_samples}x784, 784-256-128-10 ReLU, batch 128, "
        "float32, one epoch"
    )
    for column in ("implementation", "time (s)", "samples/s", "vs PyTorch"):
        table.add_column(column, justify="right" if column != "implementation" else "left")
    rows = []
    for threads in (None, 1):
        label = f"glassnet, {'default' if threads is None else threads} BLAS thread(s)"
        seconds, _ = median_time(lambda t=threads: glassnet_epoch(x, y, t), repeats)
        rows.append((label, seconds))
    try:
        import torch
    except ImportError:
        torch = None
        console.print("  PyTorch is not installed: its row is skipped (pip install torch==2.13.0)")
    torch_seconds = None
    if torch is not None:
        default_threads = torch.get_num_threads()
        for threads in sorted({default_threads, 1}, reverse=True):
            torch.set_num_threads(threads)
            seconds, _ = median_time(lambda: torch_epoch(x, y), repeats)
            rows.append((f"PyTorch {torch.__version__} CPU, {threads} thread(s)", seconds))
        torch.set_num_threads(default_threads)
        # Compare against PyTorch's faster setting, as a user would pick it.
        torch_seconds = min(seconds for label, seconds in rows if label.startswith("PyTorch"))
    for label, seconds in rows:
        ratio = f"{torch_seconds / seconds:.2f}x" if torch_seconds else "-"
        table.add_row(label, f"{seconds:.2f}", f"{n_samples / seconds:,.0f}", ratio)
    console.print(table)


# --- 4. scaling ------------------------------------------------------------------------------


def table_scaling(sample_counts: list[int], widths: list[int], epochs: int = 3) -> None:
    """Seconds per epoch of ``fit`` alone (model and optimizer built beforehand, so one-time
    set-up does not bend the curve), and the fitted exponent of time against N."""
    table = Table(
        title=f"4. Time per epoch (s, mean of {epochs}): 64 inputs, two hidden ReLU layers of "
        "the given width, 10 classes, batch 256, float32"
    )
    table.add_column("samples", justify="right")
    for width in widths:
        table.add_column(f"width {width}", justify="right")
    data_rng = np.random.default_rng(0)
    times: dict[int, list[float]] = {width: [] for width in widths}
    for n_samples in sample_counts:
        x = data_rng.standard_normal((n_samples, 64), dtype=np.float32)
        y = data_rng.integers(0, 10, n_samples)
        for width in widths:
            config = TrainConfig(
                hidden_layer_sizes=(width, width),
                activation="relu",
                lr=0.01,
                epochs=epochs,
                batch_size=256,
                dtype="float32",
            )
            rng = np.random.default_rng(0)
            model, loss, optimizer = build(config, 64, 10, rng)
            with threadpool_limits(limits=blas_threads(model, 256), user_api="blas"):
                start = time.perf_counter()
                fit(model, loss, optimizer, (x, y), epochs=epochs, batch_size=256, rng=rng)
                times[width].append((time.perf_counter() - start) / epochs)
        table.add_row(f"{n_samples:,}", *(f"{times[w][-1]:.4f}" for w in widths))
    exponents = [np.polyfit(np.log(sample_counts), np.log(times[w]), 1)[0] for w in widths]
    table.add_row("exponent in N", *(f"{e:.2f}" for e in exponents), style="bold")
    console.print(table)
    flops = [sum(2 * a * b for a, b in [(64, w), (w, w), (w, 10)]) * 3 for w in widths]
    console.print(
        "  expected cost ratio across widths (matrix products per sample, x3 for "
        "forward + backward): " + ", ".join(f"{f / flops[0]:.0f}" for f in flops)
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one repeat, shorter trainings")
    parser.add_argument("--only", type=int, choices=[1, 2, 3, 4], help="run one table only")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    epochs = 200 if args.quick else 1000
    console.print(machine_info())
    tables = {
        1: lambda: table_seed_experiment(repeats, epochs),
        2: lambda: table_flops(repeats, epochs),
        3: lambda: table_mnist(repeats, 10_000 if args.quick else 60_000),
        4: lambda: table_scaling(
            [1000, 4000, 16000] if args.quick else [1000, 4000, 16000, 64000], [32, 128, 512]
        ),
    }
    for number, table in tables.items():
        if args.only in (None, number):
            table()


if __name__ == "__main__":
    main()
