"""PeriodicEmbedding: its forward is the formula of its docstring written as a plain loop, and
its backward matches central differences, alone and inside a network with L2."""

import numpy as np
import pytest

from glassnet.errors import ConfigError
from glassnet.nn.embeddings import PeriodicEmbedding
from glassnet.nn.gradcheck import gradcheck
from glassnet.nn.layers import Linear, ReLU, Sequential
from glassnet.nn.losses import MeanSquaredError
from glassnet.nn.registry import from_config


@pytest.fixture
def rng():
    return np.random.default_rng(3)


def test_forward_is_the_formula_column_by_column(rng):
    layer = PeriodicEmbedding(5, 3, n_frequencies=4, size=6, sigma=0.5, rng=rng)
    layer.bias.value[...] = rng.normal(size=layer.bias.value.shape)
    x = rng.normal(size=(7, 5))
    expected = []
    for row in x:
        parts = []
        for j in range(3):
            angle = 2 * np.pi * layer.frequencies.value[j] * row[j]
            periodic = np.concatenate([np.sin(angle), np.cos(angle)])
            parts.append(np.maximum(periodic @ layer.weight.value[j] + layer.bias.value[j], 0))
        expected.append(np.concatenate([*parts, row[3:]]))
    y = layer.forward(x)
    assert y.shape == (7, layer.output_features(5)) == (7, 3 * 6 + 2)
    np.testing.assert_allclose(y, np.array(expected), rtol=1e-12, atol=1e-12)


def test_backward_matches_finite_differences(rng):
    layer = PeriodicEmbedding(4, 3, n_frequencies=3, size=5, sigma=0.4, rng=rng)
    layer.bias.value[...] = rng.normal(0, 0.5, layer.bias.value.shape)  # some units off
    result = gradcheck(layer, rng.normal(size=(6, 4)), rng=rng)
    assert {"input", "param0", "param1", "param2"} <= set(result.errors)
    assert result.passed, result.errors


def test_a_network_with_embeddings_and_l2_matches_finite_differences(rng):
    model = Sequential(
        PeriodicEmbedding(3, 2, n_frequencies=2, size=4, sigma=0.3, rng=rng),
        Linear(2 * 4 + 1, 6, rng=rng),
        ReLU(),
        Linear(6, 1, rng=rng),
    )
    x, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    assert gradcheck(model, x, y, loss=MeanSquaredError(), l2=0.5).passed


def test_a_wrong_frequency_gradient_is_caught(rng, monkeypatch):
    layer = PeriodicEmbedding(2, 2, n_frequencies=2, size=3, rng=rng)
    backward = PeriodicEmbedding.backward

    def off_by_a_factor(self, grad_y, need_grad_x=True):
        grad_x = backward(self, grad_y, need_grad_x)
        self.frequencies.grad *= 1.01
        return grad_x

    monkeypatch.setattr(PeriodicEmbedding, "backward", off_by_a_factor)
    assert not gradcheck(layer, rng.normal(size=(5, 2)), rng=rng).passed


def test_config_rebuilds_the_layer_and_bad_sizes_are_refused(rng):
    model = Sequential(PeriodicEmbedding(4, 2, n_frequencies=3, size=2, rng=rng), Linear(6, 1))
    again = from_config(model.config())
    again.load_state_dict(model.state_dict())
    x = rng.normal(size=(3, 4))
    np.testing.assert_array_equal(again.eval().forward(x), model.eval().forward(x))
    with pytest.raises(ConfigError, match="n_embedded"):
        PeriodicEmbedding(3, 4)
