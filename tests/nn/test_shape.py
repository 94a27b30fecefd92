"""Reshape and Flatten, and a whole small CNN checked end to end."""

import numpy as np
import pytest

from glassnet import ConfigError, gradcheck
from glassnet.nn.conv import Conv2D
from glassnet.nn.layers import Linear, ReLU, Sequential
from glassnet.nn.losses import SoftmaxCrossEntropy
from glassnet.nn.normalization import BatchNorm
from glassnet.nn.pooling import AvgPool2D, MaxPool2D
from glassnet.nn.registry import from_config
from glassnet.nn.shape import Flatten, Reshape


def small_cnn(rng):
    return Sequential(
        Reshape((1, 6, 6)),
        Conv2D(1, 3, 3, padding=1, rng=rng),
        ReLU(),
        # After the ReLU: a batch norm right after a conv cancels the conv's bias, whose
        # gradient is then exactly zero and cannot be gradient-checked by relative error.
        BatchNorm(3),
        MaxPool2D(2),
        Conv2D(3, 4, 2, rng=rng),
        AvgPool2D(2),
        Flatten(),
        Linear(4, 5, rng=rng),
    )


def test_reshape_and_flatten_round_trip_rows(rng):
    x = rng.standard_normal((3, 12))
    reshape, flatten = Reshape([3, 2, 2]), Flatten()
    images = reshape.forward(x)
    assert images.shape == (3, 3, 2, 2) and reshape.in_features == 12
    np.testing.assert_array_equal(flatten.forward(images), x)
    np.testing.assert_array_equal(reshape.backward(flatten.backward(x)), x)
    with pytest.raises(ConfigError, match="needs 12"):
        reshape.output_shape((10,))
    with pytest.raises(ConfigError, match="positive"):
        Reshape([1, 0])


def test_a_small_cnn_with_its_loss_passes_gradcheck(rng):
    model = small_cnn(rng)
    x = rng.standard_normal((4, 36))
    y = np.array([0, 1, 4, 2])
    result = gradcheck(model, x, y, loss=SoftmaxCrossEntropy(), l2=0.3)
    assert result.max_error < 1e-6, result.errors


def test_cnn_config_and_state_round_trip(rng):
    model = small_cnn(rng)
    model.forward(rng.standard_normal((5, 36)))  # moves the batch-norm running statistics
    rebuilt = from_config(model.config())
    assert rebuilt.config() == model.config()
    rebuilt.load_state_dict(model.state_dict())
    assert "3.running_var" in model.state_dict()
    x = rng.standard_normal((3, 36))
    np.testing.assert_array_equal(rebuilt.eval().forward(x), model.eval().forward(x))
    assert model.output_shape((36,)) == (5,) and model.in_features == 36


def test_backward_stops_below_the_first_layer_that_learns(rng):
    model = small_cnn(rng)
    model.forward(rng.standard_normal((2, 36)))
    assert model.backward(np.ones((2, 5)), need_grad_x=False) is None
    assert model.backward(np.ones((2, 5)), need_grad_x=True).shape == (2, 36)


def test_shape_mismatches_are_named():
    model = Sequential(Reshape((1, 8, 8)), Conv2D(1, 2, 3), Linear(72, 10))
    with pytest.raises(ConfigError, match="Flatten"):
        model.output_shape((64,))
    with pytest.raises(ConfigError, match="unknown layer type"):
        from_config({"type": "Sequential", "layers": [{"type": "Conv3D"}]})
    with pytest.raises(ConfigError, match="bad settings for layer Conv2D"):
        from_config({"type": "Sequential", "layers": [{"type": "Conv2D", "in_channel": 1}]})
