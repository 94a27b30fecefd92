"""Pooling over image windows: max, average, and global average (images ``(n, c, h, w)``).

Windows that would run past the bottom or right edge are dropped (no padding), as in
PyTorch: 7x7 images pooled 2x2 give 3x3.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.errors import ConfigError
from glassnet.nn.conv import output_size, taps
from glassnet.nn.layers import Layer


class _Pool2D(Layer):
    """Shared settings: square ``kernel_size`` windows, ``stride`` apart (default: the kernel).

    Both pools loop over the k*k kernel offsets, each step one elementwise operation on a
    strided slice of the whole batch: measured ~30x faster at 28x28 than reducing a
    window view (NumPy's reductions over small, non-contiguous axes are slow).
    """

    def __init__(self, kernel_size: int = 2, stride: int | None = None) -> None:
        stride = kernel_size if stride is None else stride
        for name, value in (("kernel_size", kernel_size), ("stride", stride)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(
                    f"{type(self).__name__} {name} must be a positive integer, got {value!r}"
                )
        self.kernel_size, self.stride = int(kernel_size), int(stride)

    def _offsets(self, shape: tuple[int, ...]) -> list[tuple[int, tuple[Any, ...]]]:
        """(offset index u*k + v, the input slice that offset covers) for every offset."""
        k, s = self.kernel_size, self.stride
        out_h, out_w = output_size(shape[2], k, s), output_size(shape[3], k, s)
        return [
            (u * k + v, (slice(None), slice(None), taps(u, s, out_h), taps(v, s, out_w)))
            for u in range(k)
            for v in range(k)
        ]

    def _gradient_buffer(self, dtype: Any) -> tuple[np.ndarray, bool]:
        """The input gradient's array, and whether windows overlap (stride < kernel). Without
        overlap each input gets at most one value: uninitialised memory is enough when the
        windows tile the whole image."""
        k, s = self.kernel_size, self.stride
        height, width = self.input_shape[2:]
        tiled = s == k and height % k == 0 and width % k == 0
        # Laid out in memory as the input was (Conv2D hands out channel-major images), so
        # the layers below get their gradient in the layout their own arrays have.
        order = self.input_order
        stored = (np.empty if tiled else np.zeros)(
            [self.input_shape[axis] for axis in order], dtype=dtype
        )
        return stored.transpose(np.argsort(order)), s < k

    def _remember_input(self, x: np.ndarray) -> None:
        """The input's shape and memory order (for the gradient's layout), when kept."""
        if self.keeps_for_backward:
            self.input_shape = x.shape
            self.input_order = _axis_order(x)

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


def _axis_order(x: np.ndarray) -> tuple[int, ...]:
    """``x``'s axes from the largest stride down: its layout in memory."""
    return tuple(int(axis) for axis in np.argsort([-stride for stride in x.strides], kind="stable"))


def _copy_like(reference: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``x`` copied into an array laid out in memory as ``reference`` is."""
    copy = np.empty_like(reference, dtype=x.dtype)
    copy[...] = x
    return copy


class MaxPool2D(_Pool2D):
    """The largest value of each window; its gradient goes to that one input (the first in
    row-major order when several are equal)."""

    cached = ("input_shape", "input_order", "argmax")

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._remember_input(x)
        windows = [x[where] for _, where in self._offsets(x.shape)]
        y = np.maximum(windows[0], windows[1]) if len(windows) > 1 else np.copy(windows[0])
        for window in windows[2:]:
            np.maximum(y, window, out=y)
        if not self.keeps_for_backward:
            return y  # inference: no gradient will be routed, so no argmax either
        # The first offset that holds each window's maximum, by the recursion
        # first(i) = 0 if window i holds it, else 1 + first(i + 1), run from the last offset:
        # whole-array arithmetic, measured ~7x faster than copyto(..., where=) per offset.
        # In y's memory layout (zeros_like): mixing layouts in one operation was 2-5x slower.
        self.argmax = np.zeros_like(y, dtype=np.uint8 if len(windows) < 256 else np.int32)
        not_max = np.empty_like(y, dtype=bool)
        for window in windows[-2::-1]:
            self.argmax += 1
            np.not_equal(window, y, out=not_max)
            self.argmax *= not_max
        return y

    def backward(self, grad_y: np.ndarray, need_grad_x: bool = True) -> np.ndarray:
        grad_x, overlapping = self._gradient_buffer(grad_y.dtype)
        if _axis_order(grad_y) != _axis_order(self.argmax):
            # One copy into argmax's layout (a Flatten's gradient arrives batch-major):
            # the k*k operations below each mixing two layouts were measured slower.
            grad_y = _copy_like(self.argmax, grad_y)
        for index, where in self._offsets(self.input_shape):
            if overlapping:
                grad_x[where] += np.where(self.argmax == index, grad_y, 0)
            else:  # each input sits in one window at most: assign, no zeros to add to
                np.multiply(self.argmax == index, grad_y, out=grad_x[where])
        return grad_x


class AvgPool2D(_Pool2D):
    """The mean of each window."""

    cached = ("input_shape", "input_order")

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._remember_input(x)
        offsets = self._offsets(x.shape)
        y = np.copy(x[offsets[0][1]])  # order "K": in x's memory layout
        for _, where in offsets[1:]:
            y += x[where]
        y /= self.kernel_size**2
        return y

    def backward(self, grad_y: np.ndarray, need_grad_x: bool = True) -> np.ndarray:
        share = grad_y / self.kernel_size**2
        grad_x, overlapping = self._gradient_buffer(grad_y.dtype)
        for _, where in self._offsets(self.input_shape):
            if overlapping:
                grad_x[where] += share
            else:
                grad_x[where] = share
        return grad_x


class GlobalAvgPool2D(Layer):
    """The mean of each channel over all positions: ``(n, c, h, w) -> (n, c)``."""

    cached = ("input_shape",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.keeps_for_backward:
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
