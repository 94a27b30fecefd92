"""Layers that only change the shape of each sample: ``Reshape`` at a network's input edge
(flat rows -> images), ``Flatten`` between image layers and dense ones."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassnet.errors import ConfigError
from glassnet.nn.layers import Layer


class Reshape(Layer):
    """``(n, prod(shape)) -> (n, *shape)``, e.g. flat 64-pixel digits to ``(n, 1, 8, 8)``.

    As a network's first layer it states the input: ``in_features = prod(shape)``.
    """

    def __init__(self, shape: tuple[int, ...] | list[int]) -> None:
        if (
            not isinstance(shape, (list, tuple))
            or not shape
            or not all(
                isinstance(size, (int, np.integer)) and not isinstance(size, bool) and size >= 1
                for size in shape
            )
        ):
            raise ConfigError(f"Reshape needs a list of positive sizes, got {shape!r}")
        self.shape = tuple(int(size) for size in shape)
        self.in_features = math.prod(self.shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), *self.shape)

    def backward(self, grad_y: np.ndarray, need_grad_x: bool = True) -> np.ndarray:
        return grad_y.reshape(len(grad_y), self.in_features)

    def config(self) -> dict[str, Any]:
        return {"type": "Reshape", "shape": list(self.shape)}

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if math.prod(shape) != self.in_features:
            raise ConfigError(
                f"Reshape to {self.shape} needs {self.in_features} values per sample, "
                f"but gets shape {shape}"
            )
        return self.shape


class Flatten(Layer):
    """``(n, d1, d2, ...) -> (n, d1 * d2 * ...)``, in C order."""

    cached = ("input_shape",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.keeps_for_backward:
            self.input_shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, grad_y: np.ndarray, need_grad_x: bool = True) -> np.ndarray:
        return grad_y.reshape(self.input_shape)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (math.prod(shape),)
