"""Batch normalization for dense ``(n, features)`` and image ``(n, channels, h, w)`` inputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.errors import ConfigError
from glassnet.nn.layers import Layer, Param


class BatchNorm(Layer):
    """``y = weight * (x - mean) / sqrt(var + eps) + bias`` per feature (dense) or channel
    (images, statistics over the batch and all positions).

    Training mode normalizes by the batch's own mean and (biased) variance and updates the
    running statistics: ``running = (1 - momentum) * running + momentum * batch``, the
    variance unbiased (PyTorch's convention). Evaluation mode uses the running statistics.
    ``weight`` starts at 1, ``bias`` at 0; neither gets L2.
    """

    def __init__(
        self,
        num_features: int,
        *,
        momentum: float = 0.1,
        eps: float = 1e-5,
        dtype: Any = np.float64,
    ) -> None:
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)):
            raise ConfigError(f"BatchNorm num_features must be an integer, got {num_features!r}")
        if num_features < 1:
            raise ConfigError(f"BatchNorm num_features must be positive, got {num_features}")
        if not 0.0 < float(momentum) <= 1.0 or not float(eps) > 0.0:
            raise ConfigError(
                f"BatchNorm needs momentum in (0, 1] and eps > 0, got {momentum}, {eps}"
            )
        self.num_features, self.momentum, self.eps = int(num_features), float(momentum), float(eps)
        self.weight = Param.of(np.ones(self.num_features, dtype=dtype))
        self.bias = Param.of(np.zeros(self.num_features, dtype=dtype))
        self.running_mean = np.zeros(self.num_features, dtype=dtype)
        self.running_var = np.ones(self.num_features, dtype=dtype)

    def _broadcast_shape(self, x: np.ndarray) -> tuple[int, ...]:
        """The shape that broadcasts a per-feature vector against ``x``."""
        return (1, self.num_features) + (1,) * (x.ndim - 2)

    def _by_feature(self, x: np.ndarray) -> tuple[np.ndarray, int]:
        """``x`` as ``(features, values)`` rows and the axis to reduce: images become channel
        rows, free for the channel-major arrays Conv2D hands out (a copy otherwise); NumPy's
        reductions over axes (0, 2, 3) of those were measured several times slower."""
        if x.ndim == 2:
            return x, 0
        return x.swapaxes(0, 1).reshape(self.num_features, -1), 1

    cached = ("inv_std", "normalized", "batch_statistics")

    def forward(self, x: np.ndarray) -> np.ndarray:
        shape = self._broadcast_shape(x)
        if self.training:
            rows, axis = self._by_feature(x)
            mean = rows.mean(axis=axis)
            var = rows.var(axis=axis)
            count = x.size // self.num_features
            # The running statistics are updated in place: state_dict() hands out these arrays.
            self.running_mean *= 1.0 - self.momentum
            self.running_mean += self.momentum * mean
            self.running_var *= 1.0 - self.momentum
            self.running_var += self.momentum * var * (count / max(count - 1, 1))
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype)
        normalized = (x - mean.reshape(shape)) * inv_std.reshape(shape)
        if self.keeps_for_backward:
            self.inv_std, self.normalized = inv_std, normalized
            self.batch_statistics = self.training
        return normalized * self.weight.value.reshape(shape) + self.bias.value.reshape(shape)

    def backward(self, grad_y: np.ndarray, need_grad_x: bool = True) -> np.ndarray | None:
        shape = self._broadcast_shape(grad_y)
        rows, axis = self._by_feature(grad_y)
        self.bias.grad[...] = rows.sum(axis=axis)
        rows, axis = self._by_feature(grad_y * self.normalized)
        self.weight.grad[...] = rows.sum(axis=axis)
        if not need_grad_x:
            return None
        scale = (self.weight.value * self.inv_std).reshape(shape)
        if not self.batch_statistics:  # fixed statistics: an affine map per feature
            return grad_y * scale
        # The batch mean and variance depend on every input: their gradients subtract the
        # mean gradient and its projection on the normalized inputs.
        count = grad_y.size // self.num_features
        mean_grad = (self.bias.grad / count).reshape(shape)
        mean_projection = (self.weight.grad / count).reshape(shape)
        return (grad_y - mean_grad - self.normalized * mean_projection) * scale

    def parameters(self) -> list[Param]:
        return [self.weight, self.bias]

    def state(self) -> dict[str, np.ndarray]:
        return {
            "weight": self.weight.value,
            "bias": self.bias.value,
            "running_mean": self.running_mean,
            "running_var": self.running_var,
        }

    def config(self) -> dict[str, Any]:
        return {
            "type": "BatchNorm",
            "num_features": self.num_features,
            "momentum": self.momentum,
            "eps": self.eps,
        }

    @classmethod
    def from_config(
        cls, settings: dict[str, Any], *, dtype: Any = np.float64, rng: Any = None
    ) -> Layer:
        return cls(**settings, dtype=dtype)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) not in (1, 3) or shape[0] != self.num_features:
            raise ConfigError(
                f"BatchNorm({self.num_features}) takes ({self.num_features},) features or "
                f"({self.num_features}, height, width) images, but gets shape {shape}"
            )
        return shape
