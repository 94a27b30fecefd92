"""Networks described as data: a list of layer tables (a preset's ``layers = [...]``) becomes a
``Sequential``, each layer's input size read off the previous layer's output.

    layers = [
      {type = "conv2d", channels = 32, kernel_size = 3, padding = 1},
      {type = "batchnorm"}, {type = "relu"}, {type = "maxpool2d", kernel_size = 2},
      {type = "flatten"}, {type = "linear", units = 128}, {type = "relu"},
    ]

Inputs arrive as flat rows; a ``Reshape`` to ``input_shape`` (channels, height, width) goes
first when any layer needs images. The output ``Linear`` (one unit per class or target) is
added at the end, as ``hidden_layer_sizes`` leaves it out too.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassnet.errors import ConfigError
from glassnet.nn.conv import Conv2D
from glassnet.nn.layers import ACTIVATIONS, Dropout, Layer, LeakyReLU, Linear, Sequential
from glassnet.nn.normalization import BatchNorm
from glassnet.nn.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from glassnet.nn.shape import Flatten, Reshape

# Each layer type and the settings it accepts (beyond "type"); sizes coming in are inferred.
SETTINGS: dict[str, tuple[str, ...]] = {
    "conv2d": ("channels", "kernel_size", "stride", "padding", "init"),
    "maxpool2d": ("kernel_size", "stride"),
    "avgpool2d": ("kernel_size", "stride"),
    "global_avg_pool2d": (),
    "batchnorm": ("momentum", "eps"),
    "flatten": (),
    "linear": ("units", "init"),
    "dropout": ("p",),
    "leaky_relu": ("negative_slope",),
    **{name: () for name in ACTIVATIONS if name != "leaky_relu"},
}
IMAGE_LAYERS = ("conv2d", "maxpool2d", "avgpool2d", "global_avg_pool2d")


def check_layers(layers: Any) -> list[dict[str, Any]]:
    """``layers`` as a list of tables with known types and settings, or a ConfigError."""
    if not isinstance(layers, (list, tuple)) or not layers:
        raise ConfigError(
            f"layers must be a non-empty list of tables like {{type = 'conv2d', ...}}, "
            f"got {layers!r}"
        )
    checked = []
    for index, spec in enumerate(layers):
        if not isinstance(spec, dict) or spec.get("type") not in SETTINGS:
            raise ConfigError(f"layer {index} ({spec!r}) needs a type, one of {sorted(SETTINGS)}")
        unknown = sorted(set(spec) - {"type", *SETTINGS[spec["type"]]})
        if unknown:
            raise ConfigError(
                f"layer {index} ({spec['type']}): unknown setting(s) {unknown}; "
                f"known: {list(SETTINGS[spec['type']])}"
            )
        if spec["type"] in ("conv2d", "linear") and not _count(
            spec.get("channels", spec.get("units"))
        ):
            size = "channels" if spec["type"] == "conv2d" else "units"
            raise ConfigError(f"layer {index} ({spec['type']}) needs {size} = a positive integer")
        checked.append(dict(spec))
    return checked


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def input_shape_for(
    layers: list[dict[str, Any]], input_shape: tuple[int, ...] | None, n_features: int
) -> tuple[int, ...] | None:
    """The (channels, height, width) the network reshapes its input rows to, or None when
    no layer needs images. Without an ``input_shape`` a square one-channel image is assumed."""
    if input_shape is None and not any(spec["type"] in IMAGE_LAYERS for spec in layers):
        return None
    if input_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ConfigError(
                f"{n_features} input features are not a square image: set input_shape = "
                "[channels, height, width] in [train]"
            )
        return (1, side, side)
    if math.prod(input_shape) != n_features:
        raise ConfigError(
            f"input_shape {list(input_shape)} holds {math.prod(input_shape)} values, but the "
            f"data have {n_features} features per row"
        )
    return tuple(input_shape)


def build_network(
    layers: list[dict[str, Any]],
    n_features: int,
    n_outputs: int,
    *,
    input_shape: tuple[int, ...] | None = None,
    output_activation: str = "identity",
    rng: np.random.Generator | None,
    dtype: Any = np.float64,
) -> Sequential:
    """The ``Sequential`` that ``layers`` describes for ``n_features`` inputs and
    ``n_outputs`` outputs, initialised from ``rng``."""
    image = input_shape_for(layers, input_shape, n_features)
    built: list[Layer] = [] if image is None else [Reshape(image)]
    shape: tuple[int, ...] = (n_features,) if image is None else image
    output_spec = {"type": "linear", "units": n_outputs}
    for index, spec in enumerate([*layers, output_spec]):
        try:
            layer = _layer(spec, shape, rng, dtype)
            shape = layer.output_shape(shape)
        except ConfigError as exc:
            where = "the output layer" if index == len(layers) else f"layer {index}"
            raise ConfigError(f"{where} ({spec['type']}): {exc}") from None
        built.append(layer)
    if output_activation != "identity":
        built.append(ACTIVATIONS[output_activation]())
    return Sequential(*built)


def _layer(
    spec: dict[str, Any], shape: tuple[int, ...], rng: np.random.Generator | None, dtype: Any
) -> Layer:
    """One layer for inputs of ``shape`` (one sample's)."""
    kind = spec["type"]
    settings = {key: value for key, value in spec.items() if key != "type"}
    if kind == "conv2d":
        if len(shape) != 3:
            raise ConfigError(f"conv2d needs images, but gets shape {shape}")
        return Conv2D(shape[0], settings.pop("channels"), **settings, rng=rng, dtype=dtype)
    if kind == "linear":
        if len(shape) != 1:
            raise ConfigError(f"linear needs flat inputs, but gets shape {shape}; add a flatten")
        return Linear(
            shape[0], settings["units"], init=settings.get("init", "he"), rng=rng, dtype=dtype
        )
    if kind == "batchnorm":
        return BatchNorm(shape[0], **settings, dtype=dtype)
    if kind == "dropout":
        return Dropout(**settings, rng=rng)
    if kind == "leaky_relu":
        return LeakyReLU(**settings)
    simple = {
        "maxpool2d": MaxPool2D,
        "avgpool2d": AvgPool2D,
        "global_avg_pool2d": GlobalAvgPool2D,
        "flatten": Flatten,
    }
    if kind in simple:
        return simple[kind](**settings)
    return ACTIVATIONS[kind]()
