"""The training objective: mean loss + L2 over the whole training set's N, and its gradients."""

import numpy as np
import pytest

from glassnet import SoftmaxCrossEntropy, mlp
from glassnet.nn.layers import Sequential
from glassnet.nn.objective import flat_view, loss_and_gradients


def setup(rng):
    model = mlp([3, 4, 2], activation_name="tanh", rng=rng)
    return model, rng.standard_normal((5, 3)), rng.integers(0, 2, 5)


def weight_gradients(model):
    return [p.grad.copy() for p in model.parameters()]


def test_without_l2_the_objective_is_the_mean_loss(rng):
    model, x, y = setup(rng)
    expected = SoftmaxCrossEntropy().forward(model.forward(x), y)
    assert loss_and_gradients(model, SoftmaxCrossEntropy(), x, y) == expected


@pytest.mark.parametrize("l2", [1e-4, 0.7, 1.0])
def test_l2_uses_the_training_sets_size_not_the_batchs(l2, rng):
    """A batch of 5 from a training set of 40: penalty 0.5 * l2 / 40 * sum ||W||^2 and weight
    gradient + l2 / 40 * W (scikit-learn's alpha convention)."""
    model, x, y = setup(rng)
    plain = loss_and_gradients(model, SoftmaxCrossEntropy(), x, y)
    plain_grads = weight_gradients(model)
    value = loss_and_gradients(model, SoftmaxCrossEntropy(), x, y, l2=l2, n_samples=40)
    squares = sum(float(np.sum(p.value**2)) for p in model.parameters() if p.decay)
    assert value == pytest.approx(plain + 0.5 * l2 / 40 * squares, rel=1e-12, abs=0)
    for param, plain_grad in zip(model.parameters(), plain_grads, strict=True):
        extra = l2 / 40 * param.value if param.decay else 0.0
        np.testing.assert_allclose(param.grad, plain_grad + extra, rtol=1e-12, atol=1e-15)
    # Without n_samples, N is the batch itself.
    batch = loss_and_gradients(model, SoftmaxCrossEntropy(), x, y, l2=l2)
    assert batch == pytest.approx(plain + 0.5 * l2 / 5 * squares, rel=1e-12, abs=0)


def test_sample_weights_reach_the_loss(rng):
    model, x, y = setup(rng)
    weights = np.array([1.0, 0.0, 2.0, 0.0, 1.0])
    value = loss_and_gradients(model, SoftmaxCrossEntropy(), x, y, sample_weight=weights)
    expected = SoftmaxCrossEntropy().forward(model.forward(x), y, weights)
    assert value == expected


class RecordingSequential(Sequential):
    """A network that remembers what each backward pass was asked for."""

    def backward(self, grad_y, need_grad_x=True):
        self.asked.append(need_grad_x)
        self.returned = super().backward(grad_y, need_grad_x)
        return self.returned


def test_no_gradient_is_computed_for_the_data(rng):
    """The data's gradient is never read in training, and below a first convolution it is the
    costliest product: the objective asks the network for the weights' gradients only."""
    model = RecordingSequential(*mlp([3, 4, 2], activation_name="tanh", rng=rng).layers)
    model.asked = []
    x, y = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    loss_and_gradients(model, SoftmaxCrossEntropy(), x, y)
    assert model.asked == [False]
    assert model.returned is None
    assert all(np.any(p.grad != 0) for p in model.parameters())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flat_view_makes_every_param_a_view_in_its_own_dtype(dtype, rng):
    """L-BFGS writes the flat values and reads the flat gradient: both must alias the params,
    in the model's dtype (a float32 model must not turn into float64 views)."""
    params = mlp([3, 4, 2], rng=rng, dtype=np.dtype(dtype)).parameters()
    originals = [p.value.copy() for p in params]
    values, grads = flat_view(params)
    assert values.dtype == grads.dtype == dtype and grads.shape == values.shape == (26,)
    np.testing.assert_array_equal(values, np.concatenate([v.ravel() for v in originals]))
    assert not grads.any()
    values[...] = np.arange(26)
    for p in params:
        p.grad[...] = 1.0
    np.testing.assert_array_equal(params[0].value, np.arange(12).reshape(3, 4))
    np.testing.assert_array_equal(params[-1].value, [24, 25])
    assert all(p.value.dtype == p.grad.dtype == dtype for p in params)
    np.testing.assert_array_equal(grads, 1.0)


def test_flat_view_of_one_param_and_of_none():
    (param,) = [p for p in mlp([3, 2], rng=np.random.default_rng(0)).parameters()][:1]
    values, _ = flat_view([param])
    assert values.shape == (6,) and param.value.base is values
    values, grads = flat_view([])
    assert values.shape == grads.shape == (0,) and values.dtype == np.float64
