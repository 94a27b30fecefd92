"""2-D convolution as im2col (filled by one copy per kernel offset) and one matrix product.

Images are batch-first, channels first, everywhere inside a network:
``x`` has shape ``(n_samples, channels, height, width)``. Data arrive as flat rows and a
``Reshape`` layer (``glassnet.nn.shape``) turns them into images at the network's edge.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.errors import ConfigError
from glassnet.nn.layers import Layer, Param

# The widest padded image (pixels) that Conv2D convolves on the whole grid (see forward).
WIDE_MAX_WIDTH = 12


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

    cached = ("columns", "padded_shape", "wide")

    def forward(self, x: np.ndarray) -> np.ndarray:
        n, channels, height, width = x.shape
        k, s, p = self.kernel_size, self.stride, self.padding
        out_h, out_w = output_size(height, k, s, p), output_size(width, k, s, p)
        padded_h, padded_w = height + 2 * p, width + 2 * p
        # Channel-major (channels, n, h, w), the im2col rows' order; one copy (a free view
        # when x came out of a layer in that layout and needs no padding).
        by_channel = x.transpose(1, 0, 2, 3)
        if p:
            padded = np.zeros((channels, n, padded_h, padded_w), dtype=x.dtype)
            padded[:, :, p : p + height, p : p + width] = by_channel
            by_channel = padded
        padded_shape = (n, channels, padded_h, padded_w)
        # Short image rows make the per-row copies of im2col slow: at stride 1 those layers
        # compute on the whole padded grid instead ("wide", see _wide_columns). Measured,
        # fwd+bwd, float32: 1.8x faster at 8x8, 1.3x at 4x4, 0.9x at 14x14, and slower for one
        # input channel (whose im2col is small anyway).
        wide = s == 1 and channels > 1 and padded_w <= WIDE_MAX_WIDTH
        if wide:
            columns = _wide_columns(by_channel, k)
            grid_h, grid_w = padded_h, padded_w
        else:
            columns = _strided_columns(by_channel, k, s, out_h, out_w)
            grid_h, grid_w = out_h, out_w
        if self.keeps_for_backward:
            self.columns, self.padded_shape, self.wide = columns, padded_shape, wide
        y = self.weight.value.reshape(self.out_channels, -1) @ columns
        y += self.bias.value[:, None]
        if wide:  # compacted: the layers above run faster on contiguous arrays
            y = np.ascontiguousarray(
                y.reshape(self.out_channels, n, grid_h, grid_w)[..., :out_h, :out_w]
            )
        y = y.reshape(self.out_channels, n, out_h, out_w)
        # (out_channels, n, ...) in memory, handed out batch-first as a transposed view.
        return y.transpose(1, 0, 2, 3)

    def backward(self, grad_y: np.ndarray, need_grad_x: bool = True) -> np.ndarray | None:
        n, _, out_h, out_w = grad_y.shape
        k, p = self.kernel_size, self.padding
        channels, padded_h, padded_w = self.padded_shape[1:]
        # (out_channels, positions), lined up with self.columns. Free when grad_y kept the
        # layout of this layer's output (elementwise layers do) and the columns are strided.
        by_channel = grad_y.transpose(1, 0, 2, 3)
        grad_grid = None
        if self.stride == 1 and (self.wide or need_grad_x):  # zero where no output sits
            grad_grid = np.zeros((self.out_channels, n, padded_h, padded_w), dtype=grad_y.dtype)
            grad_grid[:, :, :out_h, :out_w] = by_channel
        grad_rows = (grad_grid if self.wide else by_channel).reshape(self.out_channels, -1)
        weight_grad = self.weight.grad.reshape(self.out_channels, -1)
        np.matmul(grad_rows, self.columns.T, out=weight_grad)
        np.sum(grad_rows, axis=1, out=self.bias.grad)
        if not need_grad_x:
            return None
        weight_t = self.weight.value.reshape(self.out_channels, -1).T
        if grad_grid is not None:
            # Stride 1, whatever the forward's columns: col2im on the whole grid, one
            # contiguous add per offset: the backward measured 1.14x faster at 14x14 than with
            # short-row adds, for (H * W) / (out_h * out_w) more multiply-adds in this product.
            grad_columns = weight_t @ grad_grid.reshape(self.out_channels, -1)
            grad_padded = _wide_col2im(grad_columns, channels, k, padded_w)
        else:
            grad_columns = weight_t @ grad_rows
            grad_padded = _strided_col2im(grad_columns, self.padded_shape, k, self.stride)
        grad_x = grad_padded.reshape(channels, n, padded_h, padded_w).transpose(1, 0, 2, 3)
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


# im2col and its transpose (col2im), both channel-major: row (c, u, v) of the columns (the
# order of W's axes) holds input pixel (c, s*i + u, s*j + v) for every sample and output
# position (n, i, j); col2im adds each row back where it came from (slice-adds per kernel
# offset, not np.add.at: measured 3.7x slower).


def _strided_columns(
    by_channel: np.ndarray, k: int, stride: int, out_h: int, out_w: int
) -> np.ndarray:
    """``(c * k * k, n * out_h * out_w)`` columns of padded ``(c, n, H, W)`` images, by one
    slice copy per kernel offset. Copying a ``sliding_window_view`` transposed to this order
    in one call measured the same (14.0 vs 15.0 ms, 128 x 16 x 28 x 28, float32); copying it
    in its own order, innermost runs k long, was 2x slower."""
    channels, n = by_channel.shape[:2]
    columns = np.empty((channels, k * k, n, out_h, out_w), dtype=by_channel.dtype)
    for u in range(k):
        for v in range(k):
            columns[:, u * k + v] = by_channel[:, :, taps(u, stride, out_h), taps(v, stride, out_w)]
    return columns.reshape(channels * k * k, n * out_h * out_w)


def _strided_col2im(
    grad_columns: np.ndarray, padded_shape: tuple[int, ...], k: int, stride: int
) -> np.ndarray:
    """The padded input gradient ``(c, n, H, W)`` from the columns' gradient."""
    n, channels, padded_h, padded_w = padded_shape
    out_h, out_w = output_size(padded_h, k, stride), output_size(padded_w, k, stride)
    grad_columns = grad_columns.reshape(channels, k * k, n, out_h, out_w)
    grad_padded = np.zeros((channels, n, padded_h, padded_w), dtype=grad_columns.dtype)
    for u in range(k):
        for v in range(k):
            where = (slice(None), slice(None), taps(u, stride, out_h), taps(v, stride, out_w))
            grad_padded[where] += grad_columns[:, u * k + v]
    return grad_padded


def _wide_columns(by_channel: np.ndarray, k: int) -> np.ndarray:
    """Stride-1 columns ``(c * k * k, n * H * W)`` of contiguous padded ``(c, n, H, W)``
    images, one column per position of the whole padded grid.

    Read as one flat run per channel, kernel offset (u, v) is the shift by u * W + v: output
    position (i, j) of every image reads the right pixels, and the positions that are no
    output (i >= out_h or j >= out_w) read neighbours' pixels and are cut away after the
    product. Each offset is then one long contiguous copy instead of short image-row runs:
    measured ~3x faster on 8x8 images, for (H * W) / (out_h * out_w) more multiply-adds
    (1.56x for 8x8 with padding 1, 1.15x for 28x28)."""
    channels, n, padded_h, padded_w = by_channel.shape
    flat = by_channel.reshape(channels, -1)
    total = flat.shape[1]
    columns = np.empty((channels, k * k, total), dtype=flat.dtype)
    for u in range(k):
        for v in range(k):
            shift = u * padded_w + v
            columns[:, u * k + v, : total - shift] = flat[:, shift:]
            columns[:, u * k + v, total - shift :] = 0  # past the last image: no output
    return columns.reshape(channels * k * k, total)


def _wide_col2im(grad_columns: np.ndarray, channels: int, k: int, padded_w: int) -> np.ndarray:
    """The padded input gradient ``(c, n * H * W)`` from wide columns' gradient, which is zero
    at the grid positions that are no output: each offset is one shifted contiguous add, and
    the nonzero entries never cross from one image into the next (i + u <= H - 1)."""
    total = grad_columns.shape[1]
    grad_columns = grad_columns.reshape(channels, k * k, total)
    grad_padded = np.zeros((channels, total), dtype=grad_columns.dtype)
    for u in range(k):
        for v in range(k):
            shift = u * padded_w + v
            grad_padded[:, shift:] += grad_columns[:, u * k + v, : total - shift]
    return grad_padded
