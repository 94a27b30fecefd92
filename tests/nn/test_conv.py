"""Conv2D against a naive explicit-loop convolution (the oracle, kept here) and finite
differences, with stride and padding."""

import numpy as np
import pytest

from glassnet import ConfigError, gradcheck
from glassnet.nn.conv import Conv2D


def naive_conv(x, weight, bias, stride, padding):
    """y[n, o, i, j] = b[o] + sum_{c,u,v} W[o, c, u, v] * x_pad[n, c, s*i + u, s*j + v]."""
    n, channels, height, width = x.shape
    out_channels, _, k, _ = weight.shape
    padded = np.zeros((n, channels, height + 2 * padding, width + 2 * padding))
    padded[:, :, padding : padding + height, padding : padding + width] = x
    out_h = (height + 2 * padding - k) // stride + 1
    out_w = (width + 2 * padding - k) // stride + 1
    y = np.zeros((n, out_channels, out_h, out_w))
    for s in range(n):
        for o in range(out_channels):
            for i in range(out_h):
                for j in range(out_w):
                    total = bias[o]
                    for c in range(channels):
                        for u in range(k):
                            for v in range(k):
                                total += (
                                    weight[o, c, u, v]
                                    * padded[s, c, stride * i + u, stride * j + v]
                                )
                    y[s, o, i, j] = total
    return y


def naive_conv_backward(x, weight, grad_y, stride, padding):
    """The gradients of sum(y * grad_y) by the same loops, accumulated one term at a time."""
    n, channels, height, width = x.shape
    out_channels, _, k, _ = weight.shape
    padded = np.zeros((n, channels, height + 2 * padding, width + 2 * padding))
    padded[:, :, padding : padding + height, padding : padding + width] = x
    grad_padded = np.zeros_like(padded)
    grad_weight = np.zeros_like(weight)
    _, _, out_h, out_w = grad_y.shape
    for s in range(n):
        for o in range(out_channels):
            for i in range(out_h):
                for j in range(out_w):
                    g = grad_y[s, o, i, j]
                    for c in range(channels):
                        for u in range(k):
                            for v in range(k):
                                row, col = stride * i + u, stride * j + v
                                grad_weight[o, c, u, v] += g * padded[s, c, row, col]
                                grad_padded[s, c, row, col] += g * weight[o, c, u, v]
    grad_bias = grad_y.sum(axis=(0, 2, 3))
    grad_x = grad_padded[:, :, padding : padding + height, padding : padding + width]
    return grad_x, grad_weight, grad_bias


CASES = [  # (in_channels, out_channels, kernel, stride, padding, height, width)
    (1, 2, 3, 1, 0, 5, 5),
    (2, 3, 3, 1, 1, 4, 5),
    (2, 2, 3, 2, 1, 5, 6),
    (3, 2, 2, 2, 0, 5, 5),  # the last row and column are never covered
    (1, 1, 1, 1, 0, 3, 3),
    (2, 4, 5, 3, 2, 7, 6),
    # Stride 1 with several channels and short rows takes the "wide" path (whole padded grid):
    (3, 2, 2, 1, 0, 4, 6),
    (2, 3, 5, 1, 2, 6, 7),
    (2, 2, 3, 1, 1, 3, 12),  # rows too long for it: the strided path at stride 1
]


@pytest.mark.parametrize("case", CASES)
def test_conv_matches_naive_loops_forward_and_backward(case, rng):
    c_in, c_out, k, stride, padding, height, width = case
    layer = Conv2D(c_in, c_out, k, stride=stride, padding=padding, rng=rng)
    layer.bias.value[:] = rng.standard_normal(c_out)
    x = rng.standard_normal((3, c_in, height, width))
    y = layer.forward(x)
    expected = naive_conv(x, layer.weight.value, layer.bias.value, stride, padding)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    assert y.shape == (3, *layer.output_shape((c_in, height, width)))

    grad_y = rng.standard_normal(y.shape)
    grad_x = layer.backward(grad_y)
    want_x, want_w, want_b = naive_conv_backward(x, layer.weight.value, grad_y, stride, padding)
    np.testing.assert_allclose(grad_x, want_x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, want_w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, want_b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_conv_passes_gradcheck_in_float64(case, rng):
    c_in, c_out, k, stride, padding, height, width = case
    layer = Conv2D(c_in, c_out, k, stride=stride, padding=padding, rng=rng)
    result = gradcheck(layer, rng.standard_normal((2, c_in, height, width)))
    assert result.max_error < 1e-7, result.errors


def test_conv_float32_keeps_its_dtype_and_agrees_with_float64(rng):
    wide = Conv2D(2, 3, 3, padding=1, rng=np.random.default_rng(1))
    narrow = Conv2D(2, 3, 3, padding=1, rng=np.random.default_rng(1), dtype=np.float32)
    x = rng.standard_normal((4, 2, 6, 6))
    y = narrow.forward(x.astype(np.float32))
    assert y.dtype == np.float32 and narrow.weight.value.dtype == np.float32
    np.testing.assert_allclose(y, wide.forward(x), rtol=1e-4, atol=1e-5)
    grad_y = rng.standard_normal(y.shape)
    grad_x = narrow.backward(grad_y.astype(np.float32))
    assert grad_x.dtype == np.float32 and narrow.weight.grad.dtype == np.float32
    np.testing.assert_allclose(grad_x, wide.backward(grad_y), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(narrow.weight.grad, wide.weight.grad, rtol=1e-4, atol=1e-4)
    assert gradcheck(narrow, x.astype(np.float32)[:2]).passed


def test_the_wide_path_is_taken_where_its_cases_say(rng):
    for (c_in, _, k, stride, padding, height, width), wide in zip(
        CASES, [False, True, False, False, False, False, True, True, False], strict=True
    ):
        layer = Conv2D(c_in, 2, k, stride=stride, padding=padding, rng=rng)
        layer.forward(rng.standard_normal((1, c_in, height, width)))
        assert layer.wide == wide


@pytest.mark.parametrize("case", [CASES[1], CASES[2], CASES[6]])
def test_conv_gives_the_same_for_any_memory_layout_of_its_input(case, rng):
    c_in, c_out, k, stride, padding, height, width = case
    x = rng.standard_normal((3, c_in, height, width))
    grad_y = None
    results = []
    for layout in ("batch-major", "channel-major", "a strided view"):
        if layout == "channel-major":  # as a Conv2D + ReLU below hands it on
            inputs = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
        elif layout == "a strided view":
            inputs = np.repeat(x, 2, axis=3)[..., ::2]
        else:
            inputs = x
        layer = Conv2D(c_in, c_out, k, stride=stride, padding=padding, rng=np.random.default_rng(3))
        y = layer.forward(inputs)
        grad_y = rng.standard_normal(y.shape) if grad_y is None else grad_y
        results.append((y, layer.backward(grad_y), layer.weight.grad.copy()))
    for y, grad_x, grad_w in results[1:]:
        np.testing.assert_allclose(y, results[0][0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(grad_x, results[0][1], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(grad_w, results[0][2], rtol=1e-12, atol=1e-12)


def test_conv_skips_the_input_gradient_when_not_needed(rng):
    layer = Conv2D(1, 2, 3, rng=rng)
    y = layer.forward(rng.standard_normal((2, 1, 4, 4)))
    assert layer.backward(np.ones_like(y), need_grad_x=False) is None
    assert np.any(layer.weight.grad != 0)


def test_conv_init_scales_with_fan_in(rng):
    he = Conv2D(8, 64, 3, rng=rng).weight.value
    assert he.std() == pytest.approx(np.sqrt(2 / (8 * 9)), rel=0.05)
    glorot = Conv2D(8, 64, 3, init="glorot", rng=rng).weight.value
    assert np.abs(glorot).max() <= np.sqrt(6 / (8 * 9 + 64 * 9))


@pytest.mark.parametrize(
    "settings",
    [
        {"in_channels": 0, "out_channels": 2},
        {"in_channels": 1, "out_channels": 2, "kernel_size": 2.5},
        {"in_channels": 1, "out_channels": 2, "padding": -1},
        {"in_channels": 1, "out_channels": 2, "stride": True},
        {"in_channels": 1, "out_channels": 2, "init": "zeros"},
    ],
)
def test_bad_conv_settings_are_config_errors(settings):
    with pytest.raises(ConfigError):
        Conv2D(**settings)


def test_conv_output_shape_refuses_inputs_it_cannot_take():
    layer = Conv2D(2, 4, 5)
    assert layer.output_shape((2, 8, 8)) == (4, 4, 4)
    with pytest.raises(ConfigError, match="channels|takes"):
        layer.output_shape((3, 8, 8))
    with pytest.raises(ConfigError, match="does not fit"):
        layer.output_shape((2, 4, 4))
