"""Periodic embeddings of numeric inputs (PLR: periodic, linear, ReLU; Gorishniy et al. 2022,
"On Embeddings for Numerical Features in Tabular Deep Learning", and RealMLP, Holzmüller et
al. 2024): each of the first ``n_embedded`` input columns becomes ``size`` features, the
columns after them pass through unchanged.

For column ``j`` of a batch ``x`` (n, n_features), with learned ``frequencies`` (n_embedded,
n_frequencies), ``weight`` (n_embedded, 2 * n_frequencies, size) and ``bias`` (n_embedded,
size):

    z[n, j, f]   = 2 pi * frequencies[j, f] * x[n, j]
    v[n, j]      = [sin z[n, j, :], cos z[n, j, :]]                  (2 * n_frequencies,)
    e[n, j]      = relu(v[n, j] @ weight[j] + bias[j])                (size,)
    y[n]         = [e[n, 0], ..., e[n, n_embedded - 1], x[n, n_embedded:]]

A trees-like trick for a smooth network: the sines let the next layer cut a column's range
into many pieces, which plain inputs make it learn slowly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.errors import ConfigError
from glassnet.nn.layers import Layer, Param

TWO_PI = 2.0 * np.pi


class PeriodicEmbedding(Layer):
    """PLR embeddings of the first ``n_embedded`` of ``in_features`` columns (module
    docstring). ``sigma`` is the scale of the initial frequencies (normal, std ``sigma``);
    weights start He-normal over the 2 * n_frequencies sines and cosines, biases at zero."""

    def __init__(
        self,
        in_features: int,
        n_embedded: int,
        *,
        n_frequencies: int = 8,
        size: int = 8,
        sigma: float = 0.1,
        rng: np.random.Generator | None = None,
        dtype: Any = np.float64,
    ) -> None:
        numbers = (in_features, n_embedded, n_frequencies, size)
        if any(int(value) != value for value in numbers) or not 1 <= n_embedded <= in_features:
            raise ConfigError(
                f"PeriodicEmbedding needs 1 <= n_embedded <= in_features, got {n_embedded} of "
                f"{in_features}"
            )
        if n_frequencies < 1 or size < 1 or not sigma > 0:
            raise ConfigError("PeriodicEmbedding needs n_frequencies, size and sigma > 0")
        self.in_features, self.n_embedded = int(in_features), int(n_embedded)
        self.n_frequencies, self.size, self.sigma = int(n_frequencies), int(size), float(sigma)
        shape = (self.n_embedded, 2 * self.n_frequencies, self.size)
        if rng is None:
            frequencies = np.zeros((self.n_embedded, self.n_frequencies))
            weight = np.zeros(shape)
        else:
            frequencies = rng.normal(0.0, self.sigma, (self.n_embedded, self.n_frequencies))
            weight = rng.normal(0.0, np.sqrt(2.0 / shape[1]), shape)
        self.frequencies = Param.of(np.asarray(frequencies, dtype=dtype))
        self.weight = Param.of(np.asarray(weight, dtype=dtype), decay=True)
        self.bias = Param.of(np.zeros((self.n_embedded, self.size), dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        m = self.n_embedded
        columns = x[:, :m]
        angle = TWO_PI * columns[:, :, None] * self.frequencies.value  # (n, m, k)
        sines, cosines = np.sin(angle), np.cos(angle)
        periodic = np.concatenate([sines, cosines], axis=2).transpose(1, 0, 2)  # (m, n, 2k)
        hidden = np.matmul(periodic, self.weight.value)  # (m, n, size)
        hidden += self.bias.value[:, None, :]
        active = hidden > 0
        embedded = (hidden * active).transpose(1, 0, 2).reshape(len(x), m * self.size)
        if self.training:  # what backward needs; inference keeps nothing
            self.cache = (columns, sines, cosines, periodic, active)
        return np.concatenate([embedded, x[:, m:]], axis=1)

    def backward(self, grad_y: np.ndarray, need_grad_x: bool = True) -> np.ndarray | None:
        columns, sines, cosines, periodic, active = self.cache
        self.cache = None
        m, k, n = self.n_embedded, self.n_frequencies, len(grad_y)
        grad_hidden = grad_y[:, : m * self.size].reshape(n, m, self.size).transpose(1, 0, 2)
        grad_hidden = grad_hidden * active  # (m, n, size)
        np.matmul(periodic.transpose(0, 2, 1), grad_hidden, out=self.weight.grad)
        self.bias.grad[...] = grad_hidden.sum(axis=1)
        grad_periodic = np.matmul(grad_hidden, self.weight.value.transpose(0, 2, 1))  # (m, n, 2k)
        grad_periodic = grad_periodic.transpose(1, 0, 2)  # (n, m, 2k)
        # d sin(a) = cos(a) da, d cos(a) = -sin(a) da; a = 2 pi f x.
        grad_angle = grad_periodic[:, :, :k] * cosines - grad_periodic[:, :, k:] * sines
        np.sum(grad_angle * columns[:, :, None], axis=0, out=self.frequencies.grad)
        self.frequencies.grad *= TWO_PI
        if not need_grad_x:
            return None
        grad_columns = np.sum(grad_angle * self.frequencies.value, axis=2)
        grad_columns *= TWO_PI
        return np.concatenate([grad_columns, grad_y[:, m * self.size :]], axis=1)

    def parameters(self) -> list[Param]:
        return [self.frequencies, self.weight, self.bias]

    def state(self) -> dict[str, np.ndarray]:
        return {
            "frequencies": self.frequencies.value,
            "weight": self.weight.value,
            "bias": self.bias.value,
        }

    def config(self) -> dict[str, Any]:
        return {
            "type": "PeriodicEmbedding",
            "in_features": self.in_features,
            "n_embedded": self.n_embedded,
            "n_frequencies": self.n_frequencies,
            "size": self.size,
            "sigma": self.sigma,
        }

    @classmethod
    def from_config(
        cls, settings: dict[str, Any], *, dtype: Any = np.float64, rng: Any = None
    ) -> Layer:
        return cls(**settings, dtype=dtype)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if shape != (self.in_features,):
            raise ConfigError(
                f"PeriodicEmbedding takes {self.in_features} features per sample, got {shape}"
            )
        return (self.in_features + self.n_embedded * (self.size - 1),)
