"""One epoch of a small CNN on MNIST-sized synthetic data, in glassnet and in PyTorch CPU on the
same network with the same threads in the same run; each layer's time against this machine's
float32 GEMM peak (measured here too) and against the same torch layer; and one epoch of the
``cnn`` preset's network on the seed's 1203 train+valid 8x8 digits. PyTorch is skipped, and the
output says so, when it cannot be imported.

    python benchmarks/cnn_speed.py                          # 60000 x 28 x 28, batch 128
    python benchmarks/cnn_speed.py --samples 6000           # a tenth, on a busy machine
    python benchmarks/cnn_speed.py --threads 1              # one BLAS / torch thread

Network: conv 1->16 3x3 pad 1, ReLU, max pool 2, conv 16->32 3x3 pad 1, ReLU, max pool 2,
flatten, dense 1568->128, ReLU, dense 128->10; Adam, softmax cross-entropy, float32.
The machine is shared: the 1-minute load average is printed beside the epoch times.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np
from machine import machine_info  # benchmarks/ is on sys.path when run as a script
from threadpoolctl import threadpool_info, threadpool_limits

from glassnet.nn.conv import Conv2D
from glassnet.nn.layers import Linear, ReLU, Sequential
from glassnet.nn.losses import SoftmaxCrossEntropy
from glassnet.nn.optim import make_optimizer
from glassnet.nn.pooling import MaxPool2D
from glassnet.nn.shape import Flatten, Reshape
from glassnet.training.loop import fit

DTYPE = np.float32


def network(rng: np.random.Generator) -> Sequential:
    return Sequential(
        Reshape((1, 28, 28)),
        Conv2D(1, 16, 3, padding=1, rng=rng, dtype=DTYPE),
        ReLU(),
        MaxPool2D(2),
        Conv2D(16, 32, 3, padding=1, rng=rng, dtype=DTYPE),
        ReLU(),
        MaxPool2D(2),
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


def gemm_peak(size: int = 1024, repeats: int = 5) -> float:
    """The best float32 GFLOP/s of a size x size matrix product, with the current threads."""
    a = np.random.default_rng(0).standard_normal((size, size)).astype(DTYPE)
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def layer_flops(layer: Any, shape: tuple[int, ...], batch: int) -> float:
    """Multiply-adds x 2 of one forward pass (conv and dense layers; others count 0)."""
    if isinstance(layer, Conv2D):
        out = layer.output_shape(shape)
        return 2.0 * batch * np.prod(out) * layer.in_channels * layer.kernel_size**2
    if isinstance(layer, Linear):
        return 2.0 * batch * layer.in_features * layer.out_features
    return 0.0


def best_of(repeats: int, step: Any) -> float:
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - started)
    return best


def per_layer(model: Sequential, x: np.ndarray, repeats: int = 5) -> list[dict[str, Any]]:
    """Each layer's forward and backward seconds on one batch (best of ``repeats``), its
    forward+backward FLOPs (a learning layer's backward is two products per forward one; the
    first conv skips its input gradient, as in training)."""
    rows, shape = [], (x.shape[1],)
    inputs = [x]
    for layer in model.layers:
        inputs.append(layer.forward(inputs[-1]))
    first = next(i for i, layer in enumerate(model.layers) if layer.parameters())
    for index, layer in enumerate(model.layers):
        grad = np.ones_like(inputs[index + 1])
        forward = best_of(repeats, lambda: layer.forward(inputs[index]))  # noqa: B023
        backward = best_of(repeats, lambda: layer.backward(grad, index > first))  # noqa: B023
        products = 3 if index > first else 2
        flops = products * layer_flops(layer, shape, len(x))
        shape = layer.output_shape(shape)
        rows.append(
            {
                "layer": type(layer).__name__,
                "forward": forward,
                "backward": backward,
                "flops": flops,
            }
        )
    return rows


def torch_per_layer(x: np.ndarray, repeats: int = 5) -> list[tuple[float, float]] | None:
    """(forward, backward) seconds of each torch layer on the same batch, best of ``repeats``."""
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
    times = []
    for index, layer in enumerate(model):
        source = inputs[index].detach().requires_grad_(index > 1)

        def forward(layer: Any = layer, source: Any = source) -> Any:
            return layer(source)

        forward_time = best_of(repeats, forward)
        backward_time = np.inf
        for _ in range(repeats):
            y = forward()
            grad = torch.ones_like(y)
            if not y.requires_grad:  # the Identity before the first conv learns nothing
                backward_time = 0.0
                break
            started = time.perf_counter()
            y.backward(grad)
            backward_time = min(backward_time, time.perf_counter() - started)
        times.append((forward_time, backward_time))
    return times


def torch_epoch(x: np.ndarray, y: np.ndarray, batch: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    model = torch_network()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images = torch.from_numpy(x.reshape(-1, 1, 28, 28))
    labels = torch.from_numpy(y)
    order = torch.from_numpy(np.random.default_rng(0).permutation(len(x)))
    started = time.perf_counter()
    for start in range(0, len(x), batch):
        index = order[start : start + batch]
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(images[index]), labels[index])
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started


def preset_epoch(repeats: int = 3) -> tuple[float, int]:
    """Seconds of one training epoch (best of ``repeats``) of the ``cnn`` preset's network and
    optimizer on the seed's 1203 train+valid digits, and that sample count."""
    from glassnet.data.datasets import load_digits, seed_split
    from glassnet.experiments import presets
    from glassnet.training.config import build

    preset = presets.load("cnn")
    splits = seed_split(load_digits())
    x = np.concatenate([splits.train.x, splits.validation.x]).astype(DTYPE)
    x = (x - x.mean()) / x.std()
    y = np.concatenate([splits.train.y, splits.validation.y])
    rng = np.random.default_rng(0)
    model, loss, optimizer = build(preset.train, x.shape[1], 10, rng)
    config = preset.train
    seconds = best_of(
        repeats,
        lambda: fit(
            model, loss, optimizer, (x, y), epochs=1, batch_size=config.batch_size, rng=rng
        ),
    )
    return seconds, len(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--threads", type=int, default=None, help="BLAS and torch threads (default: BLAS's now)"
    )
    args = parser.parse_args()
    threads = args.threads or blas_threads()
    print(machine_info())
    try:
        import torch

        torch.set_num_threads(threads)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    except ImportError as exc:
        print(f"PyTorch cannot be imported here ({exc}); its columns are skipped")
    with threadpool_limits(threads, user_api="blas"):
        run(args, threads)


def run(args: argparse.Namespace, threads: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.samples, 28 * 28)).astype(DTYPE)
    y = rng.integers(0, 10, args.samples)
    peak = gemm_peak()
    print(f"float32 GEMM peak (1024^3, {threads} threads): {peak:.0f} GFLOP/s")
    model = network(rng)
    optimizer = make_optimizer("adam", model.parameters(), lr=1e-3)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    fit(
        model,
        SoftmaxCrossEntropy(),
        optimizer,
        (x, y),
        epochs=1,
        batch_size=args.batch_size,
        rng=rng,
    )
    seconds = time.perf_counter() - started
    print(
        f"glassnet: one epoch of {args.samples} samples in {seconds:.1f} s "
        f"({args.samples / seconds:,.0f} samples/s), load {load:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    load = os.getloadavg()[0]
    torch_seconds = torch_epoch(x, y, args.batch_size)
    if torch_seconds is not None:
        print(
            f"PyTorch CPU: {torch_seconds:.1f} s ({args.samples / torch_seconds:,.0f} samples/s), "
            f"load {load:.1f} -> {os.getloadavg()[0]:.1f}; glassnet / torch time "
            f"{seconds / torch_seconds:.2f}"
        )
    batch = x[: args.batch_size]
    rows = per_layer(model, batch)
    torch_rows = torch_per_layer(batch)
    print(f"\nper layer, batch {args.batch_size}, best of 5 (GEMM peak {peak:.0f} GFLOP/s):")
    print(
        "| layer | forward ms | backward ms | GFLOP/s (fwd+bwd) | % of peak "
        "| torch fwd ms | torch bwd ms | glassnet / torch |\n|---|---|---|---|---|---|---|---|"
    )
    for index, row in enumerate(rows):
        total = row["forward"] + row["backward"]
        speed = row["flops"] / total / 1e9 if row["flops"] else None
        rate = "" if speed is None else f"{speed:.1f} | {100 * speed / peak:.0f}%"
        rate = rate or " | "
        compare = " | | "
        if torch_rows is not None:
            forward, backward = torch_rows[index]
            ratio = total / (forward + backward) if forward + backward > 0 else float("nan")
            compare = f"{forward * 1e3:.2f} | {backward * 1e3:.2f} | {ratio:.2f}"
        print(
            f"| {row['layer']} | {row['forward'] * 1e3:.2f} | {row['backward'] * 1e3:.2f} "
            f"| {rate} | {compare} |"
        )
    seconds, count = preset_epoch()
    print(
        f"\ncnn preset's network: one epoch of {count} 8x8 digits in {seconds * 1e3:.0f} ms "
        f"(best of 3), load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
