"""How much memory a training needs, estimated before it starts and refused when the machine
has less (a ``ConfigError`` giving the estimate), so a typo such as
``hidden_layer_sizes = [100000000]`` fails in a second with one line instead of a
MemoryError after the run folder is claimed.

The estimate counts what the fit loop keeps alive at once, each in the training's dtype:

- per parameter: its value, its gradient, the optimizer's state (momentum: 1, Adam: 2,
  others: 2) and one copy of the best weights (early stopping, resume);
- per row of a batch (the whole training set when ``batch_size`` is None): each layer's
  output, pre-activation and gradient;
- the training rows themselves, twice (as given, and as the network's dtype).

Networks trained side by side (an ensemble, parallel sweep trials) multiply the network
and batch parts. It is an estimate, good to a small factor: what it guards against is
settings that are off by orders of magnitude.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from glassnet.errors import ConfigError
from glassnet.resources import available_bytes

# Arrays kept per parameter besides its value and gradient.
OPTIMIZER_STATE = {"sgd": 1, "adam": 2}
# Arrays kept per unit of a layer for each row of a batch (output, pre-activation, gradient).
PER_UNIT = 3
# Fraction of the available memory a training may plan to use.
USABLE_SHARE = 0.9


def estimate_bytes(
    layer_sizes: Sequence[int],
    *,
    n_rows: int,
    batch_size: int | None = None,
    dtype: str | np.dtype = "float64",
    optimizer: str = "sgd",
    parallel: int = 1,
) -> dict[str, int]:
    """The estimate, by part (``parameters``, ``batches``, ``data``, ``total``), for a
    fully connected network of ``layer_sizes`` (inputs first, outputs last) trained on
    ``n_rows`` rows, ``parallel`` networks at once. Python integers: no overflow."""
    sizes = [int(size) for size in layer_sizes]
    itemsize = np.dtype(dtype).itemsize
    parameters = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    per_parameter = 3 + OPTIMIZER_STATE.get(optimizer, 2)
    batch = n_rows if batch_size is None else min(int(batch_size), n_rows)
    parts = {
        "parameters": parallel * parameters * per_parameter * itemsize,
        "batches": parallel * batch * PER_UNIT * sum(sizes) * itemsize,
        "data": 2 * n_rows * sizes[0] * itemsize if sizes else 0,
    }
    parts["total"] = sum(parts.values())
    return parts


def check_memory(
    layer_sizes: Sequence[int],
    *,
    n_rows: int,
    batch_size: int | None = None,
    dtype: str | np.dtype = "float64",
    optimizer: str = "sgd",
    parallel: int = 1,
    available: int | None = None,
) -> dict[str, int]:
    """``estimate_bytes(...)``, refused with a ConfigError giving the estimate when it is
    more than ``USABLE_SHARE`` of ``available`` (default: ``available_bytes()``; no check
    when that is unknown). Returns the estimate."""
    parts = estimate_bytes(
        layer_sizes,
        n_rows=n_rows,
        batch_size=batch_size,
        dtype=dtype,
        optimizer=optimizer,
        parallel=parallel,
    )
    available = available_bytes() if available is None else available
    if available is not None and parts["total"] > USABLE_SHARE * available:
        detail = ", ".join(
            f"{name} {size_text(size)}" for name, size in parts.items() if name != "total"
        )
        raise ConfigError(
            f"this training needs about {size_text(parts['total'])} of memory ({detail}) but "
            f"{size_text(available)} is available; use smaller hidden_layer_sizes, a "
            "batch_size, dtype = 'float32' or fewer parallel jobs"
        )
    return parts


def check_config_memory(
    config: object,
    *,
    n_features: int,
    n_outputs: int,
    n_rows: int,
    parallel: int = 1,
    available: int | None = None,
) -> dict[str, int]:
    """``check_memory`` for a ``TrainConfig`` (its hidden_layer_sizes, batch_size, dtype and
    optimizer) on ``n_rows`` rows of ``n_features`` inputs and ``n_outputs`` outputs. A
    network given layer by layer (``layers``) is counted by its Linear layers' widths."""
    hidden = list(getattr(config, "hidden_layer_sizes", ()))
    layers = getattr(config, "layers", None)
    if layers:
        hidden = [
            int(spec.get("out_features", spec.get("units", 0)))
            for spec in layers
            if isinstance(spec, dict) and str(spec.get("type", "")).lower() in ("linear", "dense")
        ]
    return check_memory(
        [n_features, *hidden, n_outputs],
        n_rows=n_rows,
        batch_size=getattr(config, "batch_size", None),
        dtype=str(getattr(config, "dtype", "float64")),
        optimizer=str(getattr(config, "optimizer", "sgd")),
        parallel=parallel,
        available=available,
    )


def size_text(n_bytes: int) -> str:
    """``n_bytes`` in words: ``3.2 GiB``, ``512 KiB``."""
    value = float(n_bytes)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError  # pragma: no cover
