"""2-D convolution as im2col (filled by one slice copy per kernel offset) and one matrix product.

Images are batch-first, channels first, everywhere inside a network:
``x`` has shape ``(n_samples, channels, height, width)``. Data arrive as flat rows and a
``Reshape`` layer (``glassnet.nn.shape``) turns them into images at the network's edge.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.errors import ConfigError
from glassnet.nn.layers import Layer, Param


def output_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """Positions a ``kernel`` takes along an axis of ``size`` (after ``padding`` each side)."""
    return (size + 2 * padding - kernel) // stride + 1


def taps(offset: int, stride: int, count: int) -> slice:
    """The input rows (or columns) that kernel ``offset`` meets at ``count`` output positions."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)


def _positive(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"Conv2D {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class Conv2D(Layer):
    """Cross-correlation of ``(n, in_channels, h, w)`` images with ``out_channels`` square
    kernels: ``y[n, o, i, j] = b[o] + sum_{c,u,v} W[o, c, u, v] * x_pad[n, c, s*i + u, s*j + v]``.

    ``W`` has shape ``(out_channels, in_channels, kernel_size, kernel_size)``; ``padding``
    zeros are added on each side, ``stride`` steps between windows. ``init="he"`` (default)
    draws W normal with std sqrt(2 / fan_in), ``"glorot"`` uniform in
    +-sqrt(6 / (fan_in + fan_out)), fan = channels * kernel_size**2. Biases start at zero.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        *,
        stride: int = 1,
        padding: int = 0,
        init: str = "he",
        rng: np.random.Generator | None = None,
        dtype: Any = np.float64,
    ) -> None:
        self.in_channels = _positive("in_channels", in_channels)
        self.out_channels = _positive("out_channels", out_channels)
        self.kernel_size = _positive("kernel_size", kernel_size)
        self.stride = _positive("stride", stride)
        self.padding = _positive("padding", padding, minimum=0)
        self.init = init
        shape = (self.out_channels, self.in_channels, self.kernel_size, self.kernel_size)
        fan_in = self.in_channels * self.kernel_size**2
        fan_out = self.out_channels * self.kernel_size**2
        if init not in ("he", "glorot"):
            raise ConfigError(f"unknown init {init!r}; use 'he' or 'glorot'")
        if rng is None:
            weight = np.zeros(shape)
        elif init == "he":
            weight = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
        else:
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            weight = rng.uniform(-limit, limit, shape)
        self.weight = Param.of(weight.astype(dtype), decay=True)
        self.bias = Param.of(np.zeros(self.out_channels, dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        n, channels, height, width = x.shape
        k, s, p = self.kernel_size, self.stride, self.padding
        out_h, out_w = output_size(height, k, s, p), output_size(width, k, s, p)
        # Channel-major (channels, n, h, w), the im2col rows' order; one copy (a free view
        # when x came out of a layer in that layout and needs no padding).
        by_channel = x.transpose(1, 0, 2, 3)
        if p:
            padded = np.zeros((channels, n, height + 2 * p, width + 2 * p), dtype=x.dtype)
            padded[:, :, p : p + height, p : p + width] = by_channel
            by_channel = padded
        # im2col, channel-major: row (c, u, v) (the order of W's axes) holds input pixel
        # (c, s*i + u, s*j + v) for every sample and output position (n, i, j). It is filled
        # by one slice copy per kernel offset, each running along whole image rows: measured
        # 2x faster than copying a 6-D sliding-window view, whose innermost runs are k long.
        columns = np.empty((channels, k * k, n, out_h, out_w), dtype=x.dtype)
        for u in range(k):
            for v in range(k):
                columns[:, u * k + v] = by_channel[:, :, taps(u, s, out_h), taps(v, s, out_w)]
        self.columns = columns.reshape(channels * k * k, n * out_h * out_w)
        self.padded_shape = (n, channels, height + 2 * p, width + 2 * p)
        y = self.weight.value.reshape(self.out_channels, -1) @ self.columns
        y += self.bias.value[:, None]
        # (out_channels, n, ...) in memory, handed out batch-first as a transposed view.
        return y.reshape(self.out_channels, n, out_h, out_w).transpose(1, 0, 2, 3)

    def backward(self, grad_y: np.ndarray, need_grad_x: bool = True) -> np.ndarray | None:
        n, _, out_h, out_w = grad_y.shape
        # (out_channels, n * out_h * out_w): the columns line up with self.columns'. Free
        # when grad_y kept the layout of this layer's output (elementwise layers do).
        grad_rows = grad_y.transpose(1, 0, 2, 3).reshape(self.out_channels, -1)
        weight_grad = self.weight.grad.reshape(self.out_channels, -1)
        np.matmul(grad_rows, self.columns.T, out=weight_grad)
        np.sum(grad_rows, axis=1, out=self.bias.grad)
        if not need_grad_x:
            return None
        k, s, p = self.kernel_size, self.stride, self.padding
        channels, padded_h, padded_w = self.padded_shape[1:]
        grad_columns = self.weight.value.reshape(self.out_channels, -1).T @ grad_rows
        grad_columns = grad_columns.reshape(channels, k * k, n, out_h, out_w)
        # col2im: each kernel offset's slice-add (not np.add.at, measured 3.7x slower).
        grad_padded = np.zeros((channels, n, padded_h, padded_w), dtype=grad_y.dtype)
        for u in range(k):
            for v in range(k):
                grad_padded[:, :, taps(u, s, out_h), taps(v, s, out_w)] += grad_columns[
                    :, u * k + v
                ]
        grad_x = grad_padded.transpose(1, 0, 2, 3)
        return grad_x[:, :, p : padded_h - p, p : padded_w - p] if p else grad_x

    def parameters(self) -> list[Param]:
        return [self.weight, self.bias]

    def state(self) -> dict[str, np.ndarray]:
        return {"weight": self.weight.value, "bias": self.bias.value}

    def config(self) -> dict[str, Any]:
        return {
            "type": "Conv2D",
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "init": self.init,
        }

    @classmethod
    def from_config(
        cls, settings: dict[str, Any], *, dtype: Any = np.float64, rng: Any = None
    ) -> Layer:
        return cls(**settings, dtype=dtype)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) != 3 or shape[0] != self.in_channels:
            raise ConfigError(
                f"Conv2D takes ({self.in_channels}, height, width) images, but gets shape "
                f"{shape}; give the network an input shape (a Reshape layer) that matches"
            )
        out_h, out_w = (
            output_size(size, self.kernel_size, self.stride, self.padding) for size in shape[1:]
        )
        if out_h < 1 or out_w < 1:
            raise ConfigError(
                f"Conv2D kernel {self.kernel_size} does not fit images of {shape[1]}x{shape[2]} "
                f"(padding {self.padding}); use a smaller kernel or more padding"
            )
        return (self.out_channels, out_h, out_w)
