"""Sigmoid's forward values are those of ``1 / (1 + exp(-x))`` bit for bit: `glassnet run
--seed 0` reproduces its published numbers only if no rewrite for speed rounds differently."""

import numpy as np
import pytest

from glassnet.nn.layers import Sigmoid


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_rounds_as_the_plain_formula(dtype):
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            rng.normal(0.0, 4.0, 20_000),
            rng.uniform(-120.0, 120.0, 20_000),
            [0.0, -0.0, 1e-30, -1e-30, 88.7, -88.7, 89.0, -89.0, 710.0, -710.0, 1e4, -1e4],
        ]
    ).astype(dtype)
    with np.errstate(over="ignore"):
        expected = np.reciprocal(1.0 + np.exp(-x))
    got = Sigmoid().forward(x.reshape(-1, 4)).ravel()
    assert got.dtype == dtype
    assert np.array_equal(got.view(f"u{got.itemsize}"), expected.view(f"u{got.itemsize}"))
