"""One epoch of a small CNN on MNIST-sized synthetic data, and each layer's time against this
machine's float32 GEMM peak; PyTorch CPU on the same network in the same run when it is
installed (it is skipped, and the output says so, when it is not).

    python benchmarks/cnn_speed.py                   # 60000 x 28 x 28, batch 128
    python benchmarks/cnn_speed.py --samples 6000    # a tenth, on a busy machine

Network: conv 1->16 3x3 pad 1, ReLU, max pool 2, conv 16->32 3x3 pad 1, ReLU, max pool 2,
flatten, dense 1568->128, ReLU, dense 128->10; Adam, softmax cross-entropy, float32.
The machine is shared: the 1-minute load average is printed beside every time.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from machine import machine_info  # benchmarks/ is on sys.path when run as a script

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


def gemm_peak(size: int = 1024, repeats: int = 5) -> float:
    """The best float32 GFLOP/s of a size x size matrix product, with the current threads."""
    a = np.random.default_rng(0).standard_normal((size, size)).astype(DTYPE)
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def layer_flops(layer, shape: tuple[int, ...], batch: int) -> float:
    """Multiply-adds x 2 of one forward pass (conv and dense layers; others count 0)."""
    if isinstance(layer, Conv2D):
        out = layer.output_shape(shape)
        return 2.0 * batch * np.prod(out) * layer.in_channels * layer.kernel_size**2
    if isinstance(layer, Linear):
        return 2.0 * batch * layer.in_features * layer.out_features
    return 0.0


def per_layer(
    model: Sequential, x: np.ndarray, repeats: int = 5
) -> list[tuple[str, float, float, float]]:
    """(layer, forward ms, backward ms, forward+backward GFLOP/s) on one batch, best of repeats."""
    rows, shape = [], (x.shape[1],)
    inputs = [x]
    for layer in model.layers:
        inputs.append(layer.forward(inputs[-1]))
    for index, layer in enumerate(model.layers):
        forward = backward = np.inf
        for _ in range(repeats):
            started = time.perf_counter()
            y = layer.forward(inputs[index])
            forward = min(forward, time.perf_counter() - started)
            grad = np.ones_like(y)
            started = time.perf_counter()
            layer.backward(grad, index > 1)
            backward = min(backward, time.perf_counter() - started)
        flops = 3 * layer_flops(layer, shape, len(x))  # backward: two products per forward one
        shape = layer.output_shape(shape)
        speed = flops / (forward + backward) / 1e9 if flops else float("nan")
        rows.append((type(layer).__name__, forward * 1e3, backward * 1e3, speed))
    return rows


def torch_epoch(x: np.ndarray, y: np.ndarray, batch: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )  # fmt: skip
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    print(machine_info())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.samples, 28 * 28)).astype(DTYPE)
    y = rng.integers(0, 10, args.samples)
    print(f"float32 GEMM peak (1024^3, current threads): {gemm_peak():.0f} GFLOP/s")
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
    torch_seconds = torch_epoch(x, y, args.batch_size)
    if torch_seconds is None:
        print("PyTorch: not installed here; skipped")
    else:
        print(f"PyTorch CPU: {torch_seconds:.1f} s ({args.samples / torch_seconds:,.0f} samples/s)")
    print(f"\nper layer, batch {args.batch_size} (best of 5):")
    print("| layer | forward ms | backward ms | GFLOP/s (fwd+bwd) |\n|---|---|---|---|")
    for name, forward, backward, speed in per_layer(model, x[: args.batch_size]):
        rate = "" if np.isnan(speed) else f"{speed:.1f}"
        print(f"| {name} | {forward:.2f} | {backward:.2f} | {rate} |")


if __name__ == "__main__":
    main()
