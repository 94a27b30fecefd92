"""BatchNorm against a per-feature loop written from the definition, and finite differences."""

import numpy as np
import pytest

from glassnet import ConfigError, gradcheck
from glassnet.nn.normalization import BatchNorm


def naive_batch_norm(x, weight, bias, eps):
    """Normalize each feature (dense) or channel (images) with its batch mean and biased
    variance, one feature at a time."""
    y = np.empty_like(x)
    for f in range(x.shape[1]):
        values = x[:, f]
        mean = values.sum() / values.size
        var = ((values - mean) ** 2).sum() / values.size
        y[:, f] = weight[f] * (values - mean) / np.sqrt(var + eps) + bias[f]
    return y


def scrambled(layer, rng):
    layer.weight.value[:] = rng.standard_normal(layer.num_features)
    layer.bias.value[:] = rng.standard_normal(layer.num_features)
    return layer


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2, 5)])
def test_training_mode_normalizes_by_the_batch_like_the_naive_loop(shape, rng):
    layer = scrambled(BatchNorm(3, eps=1e-3), rng)
    x = rng.normal(2.0, 3.0, shape)
    np.testing.assert_allclose(
        layer.forward(x), naive_batch_norm(x, layer.weight.value, layer.bias.value, 1e-3)
    )


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2, 5)])
def test_batch_norm_passes_gradcheck_in_training_and_eval_mode(shape, rng):
    layer = scrambled(BatchNorm(3), rng)
    x = rng.normal(1.0, 2.0, shape)
    result = gradcheck(layer, x)
    assert result.max_error < 1e-6, result.errors
    layer.running_mean[:] = rng.standard_normal(3)
    layer.running_var[:] = rng.uniform(0.5, 2.0, 3)
    layer.training = False
    result = gradcheck(layer, x)
    assert result.max_error < 1e-7, result.errors


def test_running_statistics_follow_the_momentum_rule_and_eval_uses_them(rng):
    layer = BatchNorm(2, momentum=0.25)
    batches = [rng.normal(5.0, 2.0, (8, 2, 3, 3)) for _ in range(3)]
    mean, var = np.zeros(2), np.ones(2)
    for batch in batches:
        layer.forward(batch)
        per_channel = batch.transpose(1, 0, 2, 3).reshape(2, -1)
        mean = 0.75 * mean + 0.25 * per_channel.mean(axis=1)
        var = 0.75 * var + 0.25 * per_channel.var(axis=1, ddof=1)  # unbiased, as PyTorch
    np.testing.assert_allclose(layer.running_mean, mean)
    np.testing.assert_allclose(layer.running_var, var)
    layer.training = False
    x = rng.standard_normal((2, 2, 3, 3))
    expected = (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + layer.eps)
    np.testing.assert_allclose(layer.forward(x), expected)
    before = layer.running_mean.copy()
    layer.forward(x)
    np.testing.assert_array_equal(layer.running_mean, before)  # eval leaves them alone


def test_state_holds_running_statistics_and_only_weights_are_parameters(rng):
    layer = BatchNorm(4)
    assert set(layer.state()) == {"weight", "bias", "running_mean", "running_var"}
    assert [p.value for p in layer.parameters()] == [layer.weight.value, layer.bias.value]
    assert not any(p.decay for p in layer.parameters())
    layer.forward(rng.standard_normal((5, 4)))
    assert layer.state()["running_mean"] is layer.running_mean  # updated in place


def test_batch_norm_float32(rng):
    layer = BatchNorm(3, dtype=np.float32)
    x = rng.standard_normal((5, 3, 2, 2)).astype(np.float32)
    y = layer.forward(x)
    assert y.dtype == np.float32 and layer.running_var.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32
    assert gradcheck(layer, x).passed


def test_bad_batch_norm_settings_and_shapes_are_config_errors():
    for settings in ({"num_features": 0}, {"num_features": 2, "momentum": 0.0}):
        with pytest.raises(ConfigError):
            BatchNorm(**settings)
    with pytest.raises(ConfigError, match="takes"):
        BatchNorm(3).output_shape((4, 8, 8))
