"""One epoch of a small CNN on MNIST-sized synthetic data, in glassnet and in PyTorch CPU on the
same network with the same threads in the same run; each layer's time against this machine's
float32 GEMM peak (measured here too) and against the same torch layer; and one epoch of the
``cnn`` preset's network on the seed's 1203 train+valid 8x8 digits. PyTorch is skipped, and the
output says so, when it cannot be imported.

    python benchmarks/cnn_speed.py                          # 60000 x 28 x 28, batch 128
    python benchmarks/cnn_speed.py --samples 6000           # a tenth, on a busy machine
    python benchmarks/cnn_speed.py --threads 1              # one BLAS / torch thread
    python benchmarks/cnn_speed.py --baseline /tmp/base/src # also an older glassnet's layers

Network: conv 1->16 3x3 pad 1, ReLU, max pool 2, conv 16->32 3x3 pad 1, ReLU, max pool 2,
flatten, dense 1568->128, ReLU, dense 128->10; Adam, softmax cross-entropy, float32.
The machine is shared and its load drifts, so the contenders take turns: epochs alternate
(``--rounds`` each, the median reported) and per-layer timings interleave (best of
``--repeats``). ``--baseline`` loads the conv, pooling and batch-norm modules of another
glassnet source tree (e.g. ``git archive COMMIT src | tar -x -C /tmp/base``) beside this one.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from machine import machine_info  # benchmarks/ is on sys.path when run as a script
from threadpoolctl import threadpool_info, threadpool_limits

import glassnet.nn.conv
import glassnet.nn.normalization
import glassnet.nn.pooling
from glassnet.nn.layers import Linear, ReLU, Sequential
from glassnet.nn.losses import SoftmaxCrossEntropy
from glassnet.nn.optim import make_optimizer
from glassnet.nn.shape import Flatten, Reshape
from glassnet.training.loop import fit

DTYPE = np.float32
LAYER_MODULES = ("conv", "pooling", "normalization")


def layer_modules(source: Path | None) -> dict[str, ModuleType]:
    """This glassnet's conv, pooling and normalization modules, or those files of ``source``
    (a src folder) loaded beside them under other names."""
    if source is None:
        return {
            "conv": glassnet.nn.conv,
            "pooling": glassnet.nn.pooling,
            "normalization": glassnet.nn.normalization,
        }
    modules = {}
    for name in LAYER_MODULES:
        path = source / "glassnet" / "nn" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"baseline_{name}", path)
        assert spec is not None and spec.loader is not None
        modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(modules[name])
    return modules


def network(modules: dict[str, ModuleType], seed: int = 0) -> Sequential:
    rng = np.random.default_rng(seed)
    conv, pool = modules["conv"].Conv2D, modules["pooling"].MaxPool2D
    return Sequential(
        Reshape((1, 28, 28)),
        conv(1, 16, 3, padding=1, rng=rng, dtype=DTYPE),
        ReLU(),
        pool(2),
        conv(16, 32, 3, padding=1, rng=rng, dtype=DTYPE),
        ReLU(),
        pool(2),
        Flatten(),
        Linear(32 * 7 * 7, 128, rng=rng, init="he", dtype=DTYPE),
        ReLU(),
        Linear(128, 10, rng=rng, dtype=DTYPE),
    )


def torch_network() -> Any:
    """The same layers in PyTorch (torch takes the (n, 1, 28, 28) images the Reshape makes)."""
    import torch

    return torch.nn.Sequential(
        torch.nn.Identity(),
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )  # fmt: skip


def blas_threads() -> int:
    """The threads NumPy's BLAS uses now (the first BLAS threadpoolctl finds)."""
    pools = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    return int(pools[0]["num_threads"]) if pools else 1


def seconds(step: Any) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def gemm_peak(size: int = 512, repeats: int = 30) -> float:
    """The best float32 GFLOP/s of a size x size matrix product, with the current threads
    (short products, many tries: on a loaded machine some run undisturbed)."""
    a = np.random.default_rng(0).standard_normal((size, size)).astype(DTYPE)
    return 2 * size**3 / min(seconds(lambda: a @ a) for _ in range(repeats)) / 1e9


def layer_flops(layer: Any, shape: tuple[int, ...], batch: int) -> float:
    """Multiply-adds x 2 of one forward pass (conv and dense layers; others count 0)."""
    if type(layer).__name__ == "Conv2D":
        out = layer.output_shape(shape)
        return 2.0 * batch * np.prod(out) * layer.in_channels * layer.kernel_size**2
    if isinstance(layer, Linear):
        return 2.0 * batch * layer.in_features * layer.out_features
    return 0.0


def glassnet_steps(model: Sequential, x: np.ndarray) -> list[tuple[Any, Any, float]]:
    """Per layer: (forward step, backward step returning its seconds, forward+backward FLOPs)
    on batch ``x``. A
    learning layer's backward is two products per forward one; the first conv skips its
    input gradient, as in training."""
    inputs = [x]
    for layer in model.layers:
        inputs.append(layer.forward(inputs[-1]))
    first = next(i for i, layer in enumerate(model.layers) if layer.parameters())
    steps, shape = [], (x.shape[1],)
    for index, layer in enumerate(model.layers):
        grad = np.ones_like(inputs[index + 1])
        flops = (3 if index > first else 2) * layer_flops(layer, shape, len(x))
        shape = layer.output_shape(shape)

        def forward(layer: Any = layer, source: Any = inputs[index]) -> None:
            layer.forward(source)

        def backward(
            layer: Any = layer,
            grad: Any = grad,
            need: bool = index > first,
            source: Any = inputs[index],
        ) -> float:
            layer.forward(source)  # what backward uses
            return seconds(lambda: layer.backward(grad, need))

        steps.append((forward, backward, flops))
    return steps


def torch_steps(x: np.ndarray) -> list[tuple[Any, Any]] | None:
    """Per torch layer: (forward step, backward step) on the same batch; None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    model = torch_network()
    inputs = [torch.from_numpy(x.reshape(-1, 1, 28, 28))]
    with torch.no_grad():
        for layer in model:
            inputs.append(layer(inputs[-1]))
    steps = []
    for index, layer in enumerate(model):
        source = inputs[index].detach().requires_grad_(index > 1)

        def forward(layer: Any = layer, source: Any = source) -> Any:
            return layer(source)

        def backward(forward: Any = forward) -> float:
            y = forward()
            if not y.requires_grad:  # the Identity before the first conv learns nothing
                return 0.0
            grad = torch.ones_like(y)
            return seconds(lambda: y.backward(grad))

        steps.append((forward, backward))
    return steps


def interleaved_best(contenders: dict[str, list[tuple[Any, Any]]], repeats: int) -> dict:
    """Best (forward, backward) seconds per contender and layer, taking turns every repeat."""
    best = {name: [[np.inf, np.inf] for _ in steps] for name, steps in contenders.items()}
    for _ in range(repeats):
        for name, steps in contenders.items():
            for index, (forward, backward, *_) in enumerate(steps):
                best[name][index][0] = min(best[name][index][0], seconds(forward))
                best[name][index][1] = min(best[name][index][1], backward())
    return best


def glassnet_epoch(model: Sequential, x: np.ndarray, y: np.ndarray, batch: int) -> float:
    optimizer = make_optimizer("adam", model.parameters(), lr=1e-3)
    loss = SoftmaxCrossEntropy()
    rng = np.random.default_rng(0)
    return seconds(lambda: fit(model, loss, optimizer, (x, y), epochs=1, batch_size=batch, rng=rng))


def torch_epoch(x: np.ndarray, y: np.ndarray, batch: int) -> float:
    import torch

    torch.manual_seed(0)
    model = torch_network()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images = torch.from_numpy(x.reshape(-1, 1, 28, 28))
    labels = torch.from_numpy(y)
    order = torch.from_numpy(np.random.default_rng(0).permutation(len(x)))

    def epoch() -> None:
        for start in range(0, len(x), batch):
            index = order[start : start + batch]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(images[index]), labels[index])
            loss.backward()
            optimizer.step()

    return seconds(epoch)


def preset_epoch(modules: dict[str, ModuleType]) -> float:
    """Seconds of one training epoch of the ``cnn`` preset's network and optimizer on the
    seed's 1203 train+valid digits, its layers from ``modules``, with the BLAS threads
    ``glassnet run`` would give it."""
    from glassnet.data.datasets import load_digits, seed_split
    from glassnet.experiments import presets
    from glassnet.training.config import blas_threads as blas_threads_for
    from glassnet.training.config import build

    preset = presets.load("cnn")
    splits = seed_split(load_digits())
    x = np.concatenate([splits.train.x, splits.validation.x]).astype(DTYPE)
    x = (x - x.mean()) / x.std()
    y = np.concatenate([splits.train.y, splits.validation.y])
    model, loss, optimizer = build(preset.train, x.shape[1], 10, np.random.default_rng(0))
    for index, layer in enumerate(model.layers):  # the same layers, from the other modules
        for name in LAYER_MODULES:
            cls = getattr(modules[name], type(layer).__name__, None)
            if cls is not None and cls is not type(layer):
                model.layers[index] = cls.from_config(
                    {k: v for k, v in layer.config().items() if k != "type"}, dtype=DTYPE
                )
                for mine, theirs in zip(
                    model.layers[index].parameters(), layer.parameters(), strict=True
                ):
                    mine.value[...] = theirs.value
    optimizer = type(optimizer)(model.parameters(), lr=preset.train.lr)
    rng = np.random.default_rng(0)
    batch = preset.train.batch_size
    # The BLAS threads training itself would use for this network (one: small products).
    with threadpool_limits(blas_threads_for(model, batch) or blas_threads(), user_api="blas"):
        return seconds(
            lambda: fit(model, loss, optimizer, (x, y), epochs=1, batch_size=batch, rng=rng)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, help="BLAS and torch threads (default: BLAS's)")
    parser.add_argument("--rounds", type=int, default=3, help="epochs per contender")
    parser.add_argument("--repeats", type=int, default=15, help="per-layer timings, best of")
    parser.add_argument("--baseline", type=Path, metavar="SRC", help="another glassnet src")
    args = parser.parse_args()
    threads = args.threads or blas_threads()
    print(machine_info())
    try:
        import torch

        torch.set_num_threads(threads)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
        has_torch = True
    except ImportError as exc:
        print(f"PyTorch cannot be imported here ({exc}); its columns are skipped")
        has_torch = False
    with threadpool_limits(threads, user_api="blas"):
        run(args, threads, has_torch)


def run(args: argparse.Namespace, threads: int, has_torch: bool) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.samples, 28 * 28)).astype(DTYPE)
    y = rng.integers(0, 10, args.samples)
    peak = gemm_peak()
    print(f"float32 GEMM peak (512^3, best of 30, {threads} threads): {peak:.0f} GFLOP/s")
    contenders = {"glassnet": layer_modules(None)}
    if args.baseline is not None:
        contenders["baseline"] = layer_modules(args.baseline.resolve())
    models = {name: network(modules) for name, modules in contenders.items()}
    epochs: dict[str, list[float]] = {name: [] for name in [*models, "torch"][: len(models) + 1]}
    if not has_torch:
        epochs.pop("torch")
    load = os.getloadavg()[0]
    for _ in range(args.rounds):
        for name in epochs:
            if name == "torch":
                epochs[name].append(torch_epoch(x, y, args.batch_size))
            else:
                epochs[name].append(glassnet_epoch(models[name], x, y, args.batch_size))
    print(
        f"\none epoch of {args.samples} samples, batch {args.batch_size}, median of "
        f"{args.rounds} taking turns (load {load:.1f} -> {os.getloadavg()[0]:.1f}):"
    )
    mine = statistics.median(epochs["glassnet"])
    for name, times in epochs.items():
        median = statistics.median(times)
        print(
            f"  {name:>8}: {median:6.2f} s  {args.samples / median:8,.0f} samples/s  "
            f"glassnet / {name} time {mine / median:.2f}"
        )
    batch = x[: args.batch_size]
    steps = {name: glassnet_steps(model, batch) for name, model in models.items()}
    timed: dict[str, list[Any]] = {name: [s[:2] for s in rows] for name, rows in steps.items()}
    torch_rows = torch_steps(batch) if has_torch else None
    if torch_rows is not None:
        timed["torch"] = torch_rows
    best = interleaved_best(timed, args.repeats)
    names = list(timed)
    print(
        f"\nper layer, batch {args.batch_size}, ms forward / backward, best of {args.repeats} "
        f"taking turns; GFLOP/s of glassnet's forward+backward and its share of the "
        f"{peak:.0f} GFLOP/s GEMM peak:"
    )
    print("| layer | " + " | ".join(names) + " | GFLOP/s | % of peak | glassnet / others |")
    print("|---" * (len(names) + 4) + "|")
    for index, (_, _, flops) in enumerate(steps["glassnet"]):
        cells = [f"{f * 1e3:.2f} / {b * 1e3:.2f}" for f, b in (best[n][index] for n in names)]
        total = {n: sum(best[n][index]) for n in names}
        speed = flops / total["glassnet"] / 1e9 if flops else None
        rate = "|" if speed is None else f"{speed:.1f} | {100 * speed / peak:.0f}%"
        ratios = ", ".join(
            f"{total['glassnet'] / total[n]:.2f}" for n in names[1:] if total[n] > 1e-5
        )
        layer = type(models["glassnet"].layers[index]).__name__
        print(f"| {layer} | " + " | ".join(cells) + f" | {rate} | {ratios} |")
    preset: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(max(args.rounds, 3)):
        for name, modules in contenders.items():
            preset[name].append(preset_epoch(modules))
    rounds = len(preset["glassnet"])
    print(f"\ncnn preset's network, one epoch of 1203 8x8 digits (median of {rounds}):")
    for name, times in preset.items():
        print(f"  {name:>8}: {statistics.median(times) * 1e3:6.0f} ms")


if __name__ == "__main__":
    main()
