"""Pooling over image windows: max, average, and global average (images ``(n, c, h, w)``).

Windows that would run past the bottom or right edge are dropped (no padding), as in
PyTorch: 7x7 images pooled 2x2 give 3x3.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.errors import ConfigError
from glassnet.nn.conv import add_windows, output_size, windows
from glassnet.nn.layers import Layer


class _Pool2D(Layer):
    """Shared settings: square ``kernel_size`` windows, ``stride`` apart (default: the kernel)."""

    def __init__(self, kernel_size: int = 2, stride: int | None = None) -> None:
        stride = kernel_size if stride is None else stride
        for name, value in (("kernel_size", kernel_size), ("stride", stride)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(
                    f"{type(self).__name__} {name} must be a positive integer, got {value!r}"
                )
        self.kernel_size, self.stride = int(kernel_size), int(stride)

    def _windows(self, x: np.ndarray) -> np.ndarray:
        self.input_shape = x.shape
        return windows(x, self.kernel_size, self.stride)

    def config(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "kernel_size": self.kernel_size, "stride": self.stride}

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) != 3 or min(shape[1:]) < self.kernel_size:
            raise ConfigError(
                f"{type(self).__name__}({self.kernel_size}) takes (channels, height, width) "
                f"images of at least {self.kernel_size}x{self.kernel_size}, but gets shape {shape}"
            )
        height, width = (output_size(size, self.kernel_size, self.stride) for size in shape[1:])
        return (shape[0], height, width)


class MaxPool2D(_Pool2D):
    """The largest value of each window; its gradient goes to that one input (the first in
    row-major order when several are equal)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        view = self._windows(x)
        n, c, out_h, out_w, k, _ = view.shape
        flat = view.reshape(n, c, out_h, out_w, k * k)
        self.argmax = flat.argmax(axis=-1)
        return np.take_along_axis(flat, self.argmax[..., None], axis=-1)[..., 0]

    def backward(self, grad_y: np.ndarray, need_grad_x: bool = True) -> np.ndarray:
        k = self.kernel_size
        # Each window's gradient sits at its argmax and is zero elsewhere in the window.
        offsets = np.arange(k * k).reshape(k, k)
        grad_windows = (self.argmax[..., None, None] == offsets) * grad_y[..., None, None]
        return add_windows(grad_windows, self.input_shape, self.stride)


class AvgPool2D(_Pool2D):
    """The mean of each window."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self._windows(x).mean(axis=(-2, -1))

    def backward(self, grad_y: np.ndarray, need_grad_x: bool = True) -> np.ndarray:
        k = self.kernel_size
        share = grad_y / (k * k)
        grad_windows = np.broadcast_to(share[..., None, None], (*share.shape, k, k))
        return add_windows(grad_windows, self.input_shape, self.stride)


class GlobalAvgPool2D(Layer):
    """The mean of each channel over all positions: ``(n, c, h, w) -> (n, c)``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.input_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, grad_y: np.ndarray, need_grad_x: bool = True) -> np.ndarray:
        n, c, height, width = self.input_shape
        share = grad_y / (height * width)
        return np.broadcast_to(share[:, :, None, None], self.input_shape).copy()

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) != 3:
            raise ConfigError(
                f"GlobalAvgPool2D takes (channels, height, width) images, but gets shape {shape}"
            )
        return (shape[0],)
