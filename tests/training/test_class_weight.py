"""class_weight = "balanced": scikit-learn's weights, an exact gradient, and a rare class that
an unweighted network never predicts gets found."""

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from glassnet.errors import ConfigError
from glassnet.nn.layers import mlp
from glassnet.nn.losses import SoftmaxCrossEntropy
from glassnet.nn.objective import loss_and_gradients
from glassnet.training.config import TrainConfig, balanced_weights, fit_from_config


def test_balanced_weights_are_scikit_learns():
    y = np.array([0, 0, 0, 0, 0, 0, 1, 2, 2, 0])
    expected = compute_class_weight("balanced", classes=np.arange(3), y=y)
    np.testing.assert_allclose(balanced_weights(y, 3), expected[y])
    assert balanced_weights(y, 3).mean() == pytest.approx(1.0)
    # A class of the model with no training row takes no part: the others share the weight.
    np.testing.assert_allclose(balanced_weights(np.array([0, 0, 2]), 3), [0.75, 0.75, 1.5])


def test_the_weighted_cross_entropy_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 3)), np.array([0] * 9 + [1, 2, 2])
    model = mlp([3, 5, 3], activation_name="tanh", rng=rng)
    loss, weight = SoftmaxCrossEntropy(), balanced_weights(y, 3)
    loss_and_gradients(model, loss, x, y, sample_weight=weight)
    for param in model.parameters():
        analytic = param.grad.copy()
        numeric = np.zeros_like(analytic)
        for index in np.ndindex(param.value.shape):
            saved = param.value[index]
            values = []
            for step in (1e-6, -1e-6):
                param.value[index] = saved + step
                values.append(loss.forward(model.forward(x), y, weight))
            param.value[index] = saved
            numeric[index] = (values[0] - values[1]) / 2e-6
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)
    unweighted = SoftmaxCrossEntropy().forward(model.forward(x), y)
    assert loss.forward(model.forward(x), y, weight) != pytest.approx(unweighted)


def rare_class_data(seed=0, n=1200):
    """6% positives, weakly separated: the unweighted network answers the majority."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.06).astype(np.int64)
    x = rng.normal(size=(n, 4)) + 0.8 * y[:, None] * np.array([1.0, -1.0, 0.0, 0.0])
    return x, y


def test_balanced_weights_make_the_network_find_the_rare_class():
    x, y = rare_class_data()
    found = {}
    for weight in (None, "balanced"):
        config = TrainConfig(
            hidden_layer_sizes=(8,),
            activation="relu",
            optimizer="adam",
            lr=0.01,
            epochs=30,
            batch_size=64,
            class_weight=weight,
        )
        model, _ = fit_from_config(config, (x, y), None, n_outputs=2, rng=np.random.default_rng(1))
        found[weight] = int(np.sum(model.forward(x).argmax(axis=1)[y == 1] == 1))
    assert found[None] <= 5 < 30 <= found["balanced"]


def test_class_weight_is_checked():
    with pytest.raises(ConfigError, match="class_weight"):
        TrainConfig(class_weight="equal")
    with pytest.raises(ConfigError, match="needs loss = 'cross_entropy'"):
        TrainConfig(class_weight="balanced", loss="mse")
