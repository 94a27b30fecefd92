"""Numerical safety: every layer and loss stays finite, in its own dtype and without warnings,
for inputs of +-1e4 in float32 and float64."""

import warnings

import numpy as np
import pytest

from glassnet import (
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    MeanSquaredError,
    ReLU,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    mlp,
    softmax,
)

DTYPES = [np.float32, np.float64]
EXTREMES = [[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, 1e4], [-1e4, 1e-4, -1e-4]]
LAYERS = {
    "sigmoid": lambda dtype: Sigmoid(),
    "tanh": lambda dtype: Tanh(),
    "relu": lambda dtype: ReLU(),
    "leaky_relu": lambda dtype: LeakyReLU(0.1),
    "identity": lambda dtype: Identity(),
    "dropout": lambda dtype: Dropout(0.5, rng=np.random.default_rng(0)),
    "linear": lambda dtype: Linear(3, 2, rng=np.random.default_rng(0), dtype=dtype),
}


def extremes(dtype):
    return np.array(EXTREMES, dtype=dtype)


@pytest.fixture(autouse=True)
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layers_stay_finite_and_keep_their_dtype(name, dtype):
    layer = LAYERS[name](dtype)
    y = layer.forward(extremes(dtype))
    grad_x = layer.backward(np.ones_like(y))
    assert y.dtype == dtype and grad_x.dtype == dtype
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(grad_x))


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_saturates_to_exact_limits(dtype):
    y = Sigmoid().forward(np.array([[-1e4, 1e4, 0.0]], dtype=dtype))
    np.testing.assert_array_equal(y, np.array([[0.0, 1.0, 0.5]], dtype=dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_of_huge_logits_is_a_distribution(dtype):
    probs = softmax(extremes(dtype))
    assert probs.dtype == dtype and np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(probs[0], [1.0, 0.0, 0.0], atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_of_huge_logits_is_finite(dtype):
    loss = SoftmaxCrossEntropy()
    value = loss.forward(extremes(dtype), np.array([1, 0, 2, 1]))
    grad = loss.backward()
    assert np.isfinite(value) and grad.dtype == dtype and np.all(np.isfinite(grad))
    # Row 0 puts 1e4 on class 0, the target is 1: a cost of 2e4, computed without overflow.
    assert value > 1e3


@pytest.mark.parametrize("dtype", DTYPES)
def test_mean_squared_error_of_huge_outputs_is_finite(dtype):
    loss = MeanSquaredError()
    value = loss.forward(extremes(dtype), -extremes(dtype))
    grad = loss.backward()
    assert np.isfinite(value) and grad.dtype == dtype and np.all(np.isfinite(grad))


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_whole_sigmoid_model_on_huge_inputs(dtype):
    """The seed network's sigmoid-then-softmax stack, fed saturating inputs, trains one step."""
    net = mlp(
        [3, 4, 3],
        activation_name="sigmoid",
        output_activation="sigmoid",
        rng=np.random.default_rng(0),
        dtype=dtype,
    )
    x = extremes(dtype)
    loss = SoftmaxCrossEntropy()
    value = loss.forward(net.forward(x), np.array([0, 1, 2, 0]))
    net.backward(loss.backward())
    assert np.isfinite(value)
    assert all(np.all(np.isfinite(p.grad)) and p.grad.dtype == dtype for p in net.parameters())
