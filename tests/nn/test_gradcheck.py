import numpy as np
import pytest

import glassnet.nn.objective
from glassnet import (
    Linear,
    MeanSquaredError,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    gradcheck,
    mlp,
)


@pytest.mark.parametrize("l2", [0.0, 0.8])
def test_whole_three_layer_model_with_l2(l2, rng):
    model = mlp([6, 5, 4, 3], activation_name="sigmoid", output_activation="sigmoid", rng=rng)
    x, y = rng.standard_normal((8, 6)), rng.integers(0, 3, 8)
    result = gradcheck(model, x, y, loss=SoftmaxCrossEntropy(), l2=l2)
    assert result.max_error < 1e-6, result.errors
    assert set(result.errors) == {"input"} | {f"param{i}" for i in range(6)}


def test_regression_model_with_l2(rng):
    model = mlp([4, 6, 2], activation_name="tanh", rng=rng)
    x, y = rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    assert gradcheck(model, x, y, loss=MeanSquaredError(), l2=2.0).max_error < 1e-6


def test_a_missing_l2_gradient_is_caught(rng, monkeypatch):
    """A model whose objective has L2 but whose weight gradient ignores it must fail."""
    model = Sequential(Linear(4, 3, rng=rng), Sigmoid())
    x, y = rng.standard_normal((5, 4)), rng.integers(0, 3, 5)
    good = gradcheck(model, x, y, loss=SoftmaxCrossEntropy(), l2=5.0)
    assert good.passed

    def value_only(params, l2, n_samples):
        return 0.5 * l2 / n_samples * sum(float(np.sum(p.value**2)) for p in params if p.decay)

    monkeypatch.setattr(glassnet.nn.objective, "l2_penalty", value_only)
    bad = gradcheck(model, x, y, loss=SoftmaxCrossEntropy(), l2=5.0)
    assert not bad.passed
    assert bad.worst == "param0"


def test_result_reports_the_worst_array(rng):
    result = gradcheck(Linear(3, 2, rng=rng), rng.standard_normal((4, 3)))
    assert result.worst in result.errors
    assert result.max_error == max(result.errors.values())
    assert bool(result) is True


def test_integer_inputs_are_checked_in_floating_point(rng):
    """Raw pixel counts (0..16, an integer array) are a normal input: the check perturbs a
    float copy, since a step of 1e-6 on an integer rounds away."""
    model = mlp([4, 5, 3], activation_name="tanh", rng=rng)
    pixels = rng.integers(0, 17, (6, 4))
    labels = rng.integers(0, 3, 6)
    result = gradcheck(model, pixels, labels, loss=SoftmaxCrossEntropy())
    assert result.passed, result.errors
    assert result.tolerance == 1e-6
    as_float = gradcheck(model, pixels.astype(np.float64), labels, loss=SoftmaxCrossEntropy())
    assert result.errors == pytest.approx(as_float.errors, abs=1e-9)
    layer_alone = gradcheck(Sigmoid(), pixels - 8)
    assert layer_alone.passed, layer_alone.errors
