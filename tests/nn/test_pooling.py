"""Pooling layers against naive window loops (the oracle, kept here) and finite differences."""

import numpy as np
import pytest

from glassnet import ConfigError, gradcheck
from glassnet.nn.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D


def naive_pool(x, kernel, stride, reduce):
    """Loop over every output position and reduce its window; also return, per window,
    the gradient of the output with respect to each window entry."""
    n, c, height, width = x.shape
    out_h, out_w = (height - kernel) // stride + 1, (width - kernel) // stride + 1
    y = np.zeros((n, c, out_h, out_w))
    for s in range(n):
        for ch in range(c):
            for i in range(out_h):
                for j in range(out_w):
                    window = x[
                        s, ch, stride * i : stride * i + kernel, stride * j : stride * j + kernel
                    ]
                    y[s, ch, i, j] = reduce(window)
    return y


def naive_pool_backward(x, grad_y, kernel, stride, kind):
    grad_x = np.zeros_like(x)
    n, c, out_h, out_w = grad_y.shape
    for s in range(n):
        for ch in range(c):
            for i in range(out_h):
                for j in range(out_w):
                    rows, cols = stride * i, stride * j
                    window = x[s, ch, rows : rows + kernel, cols : cols + kernel]
                    if kind == "max":
                        u, v = np.unravel_index(np.argmax(window), window.shape)
                        grad_x[s, ch, rows + u, cols + v] += grad_y[s, ch, i, j]
                    else:
                        grad_x[s, ch, rows : rows + kernel, cols : cols + kernel] += (
                            grad_y[s, ch, i, j] / kernel**2
                        )
    return grad_x


CASES = [  # (kernel, stride, height, width)
    (2, 2, 4, 4),
    (2, 2, 5, 7),  # the last row / column are dropped
    (3, 2, 7, 7),  # overlapping windows
    (2, 1, 4, 5),
    (3, 3, 6, 6),
    (2, 3, 7, 8),  # gaps between windows: those inputs get no gradient
]
POOLS = {"max": (MaxPool2D, np.max), "avg": (AvgPool2D, np.mean)}


@pytest.mark.parametrize("kind", sorted(POOLS))
@pytest.mark.parametrize("case", CASES)
def test_pooling_matches_naive_loops(kind, case, rng):
    kernel, stride, height, width = case
    cls, reduce = POOLS[kind]
    layer = cls(kernel, stride)
    x = rng.standard_normal((2, 3, height, width))
    y = layer.forward(x)
    np.testing.assert_allclose(y, naive_pool(x, kernel, stride, reduce), rtol=1e-12)
    assert y.shape[1:] == layer.output_shape(x.shape[1:])
    grad_y = rng.standard_normal(y.shape)
    want = naive_pool_backward(x, grad_y, kernel, stride, kind)
    np.testing.assert_allclose(layer.backward(grad_y), want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", sorted(POOLS))
@pytest.mark.parametrize("case", CASES)
def test_pooling_passes_gradcheck_in_float64(kind, case, rng):
    kernel, stride, height, width = case
    layer = POOLS[kind][0](kernel, stride)
    result = gradcheck(layer, rng.standard_normal((2, 2, height, width)))
    assert result.max_error < 1e-7, result.errors


def test_max_pool_sends_a_tied_gradient_to_the_first_maximum_only():
    x = np.ones((1, 1, 2, 2))
    layer = MaxPool2D(2)
    layer.forward(x)
    np.testing.assert_array_equal(layer.backward(np.full((1, 1, 1, 1), 3.0)), [[[[3, 0], [0, 0]]]])


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_max_pool_with_many_ties_matches_the_naive_first_maximum(case, dtype, rng):
    # Values 0..2 (as after a ReLU): most windows hold their maximum more than once.
    kernel, stride, height, width = case
    x = rng.integers(0, 3, (3, 2, height, width)).astype(dtype)
    layer = MaxPool2D(kernel, stride)
    y = layer.forward(x)
    np.testing.assert_array_equal(y, naive_pool(x, kernel, stride, np.max))
    grad_y = rng.standard_normal(y.shape).astype(dtype)
    want = naive_pool_backward(x, grad_y, kernel, stride, "max")
    np.testing.assert_allclose(layer.backward(grad_y), want, rtol=1e-6)


def test_global_average_pooling_matches_the_mean_and_passes_gradcheck(rng):
    x = rng.standard_normal((3, 4, 5, 2))
    layer = GlobalAvgPool2D()
    np.testing.assert_allclose(layer.forward(x), x.mean(axis=(2, 3)))
    assert layer.output_shape((4, 5, 2)) == (4,)
    grad_x = layer.backward(np.ones((3, 4)))
    np.testing.assert_allclose(grad_x, np.full(x.shape, 1 / 10))
    assert gradcheck(layer, x).max_error < 1e-7


def test_pooling_keeps_float32(rng):
    x = rng.standard_normal((2, 2, 4, 4)).astype(np.float32)
    for layer in (MaxPool2D(2), AvgPool2D(2), GlobalAvgPool2D()):
        y = layer.forward(x)
        assert y.dtype == np.float32
        assert layer.backward(np.ones_like(y)).dtype == np.float32


def test_bad_pooling_settings_and_shapes_are_config_errors():
    with pytest.raises(ConfigError, match="kernel_size"):
        MaxPool2D(0)
    with pytest.raises(ConfigError, match="stride"):
        AvgPool2D(2, stride=1.5)
    with pytest.raises(ConfigError, match="at least 3x3"):
        MaxPool2D(3).output_shape((1, 2, 8))
    with pytest.raises(ConfigError, match="images"):
        GlobalAvgPool2D().output_shape((10,))


def test_max_pool_takes_any_memory_layout_and_hands_back_the_inputs(rng):
    # Conv2D hands out channel-major arrays, a Flatten's gradient comes batch-major.
    x = np.ascontiguousarray(rng.standard_normal((3, 2, 6, 6)).transpose(1, 0, 2, 3))
    x = x.transpose(1, 0, 2, 3)  # (n, c, h, w) with channels outermost in memory
    layer = MaxPool2D(2)
    y = layer.forward(x)
    np.testing.assert_array_equal(y, naive_pool(x, 2, 2, np.max))
    grad_y = rng.standard_normal(y.shape)  # batch-major
    grad_x = layer.backward(grad_y)
    np.testing.assert_array_equal(grad_x, naive_pool_backward(x, grad_y, 2, 2, "max"))
    assert grad_x.transpose(1, 0, 2, 3).flags.c_contiguous  # laid out as x is
