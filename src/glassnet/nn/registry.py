"""Every layer type a model config names, and ``from_config``, which builds a network from one.

This module sits above the layer modules: it imports them all and none imports it, so the
layers form no import circle. The keys are the class names that model files store: they must
never change (a renamed class keeps its old name here).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.errors import ConfigError
from glassnet.nn.conv import Conv2D
from glassnet.nn.embeddings import PeriodicEmbedding
from glassnet.nn.layers import (
    Dropout,
    Identity,
    Layer,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from glassnet.nn.normalization import BatchNorm
from glassnet.nn.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from glassnet.nn.shape import Flatten, Reshape

LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        Linear,
        Sigmoid,
        Tanh,
        ReLU,
        LeakyReLU,
        Identity,
        Dropout,
        Conv2D,
        MaxPool2D,
        AvgPool2D,
        GlobalAvgPool2D,
        BatchNorm,
        Flatten,
        Reshape,
        PeriodicEmbedding,  # numeric table columns (issue 24)
    )
}


def from_config(config: dict[str, Any], *, dtype: Any = np.float64, rng=None) -> Sequential:
    """Rebuild a ``Sequential`` (parameters zeroed) from ``Sequential.config()`` output."""
    if not isinstance(config, dict) or config.get("type") != "Sequential":
        raise ConfigError("model config must describe a Sequential")
    layers: list[Layer] = []
    for spec in config.get("layers", []):
        if not isinstance(spec, dict):
            raise ConfigError(f"a layer description must be a table, got {spec!r}")
        spec = dict(spec)
        kind = spec.pop("type", None)
        if kind not in LAYER_TYPES:
            raise ConfigError(f"unknown layer type {kind!r} in model config")
        try:
            layers.append(LAYER_TYPES[kind].from_config(spec, dtype=dtype, rng=rng))
        except TypeError as exc:
            raise ConfigError(f"bad settings for layer {kind}: {exc}") from None
    return Sequential(*layers)
