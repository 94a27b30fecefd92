"""Property tests: random layer stacks, shapes, losses and L2 pass the gradient check."""

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from glassnet import (
    Identity,
    LeakyReLU,
    Linear,
    MeanSquaredError,
    ReLU,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    gradcheck,
)

ACTIVATIONS = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "identity": Identity,
    "leaky_relu": lambda: LeakyReLU(0.2),
}


@st.composite
def stacks(draw):
    """(model, x, y, loss, l2): Linear layers of random sizes, each followed by a random
    activation (or none), on a random batch; a cross-entropy or squared-error objective."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    sizes = draw(st.lists(st.integers(1, 5), min_size=2, max_size=5))
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=False):
        linear = Linear(n_in, n_out, rng=rng, init=draw(st.sampled_from(["glorot", "he"])))
        # Random biases: with zero biases a dead ReLU feeds exact zeros to the next ReLU, whose
        # kink at 0 has no derivative for central differences to agree with.
        linear.bias.value[...] = rng.standard_normal(n_out)
        layers.append(linear)
        activation = draw(st.sampled_from([None, *ACTIVATIONS]))
        if activation is not None:
            layers.append(ACTIVATIONS[activation]())
    n_samples = draw(st.integers(1, 6))
    x = rng.standard_normal((n_samples, sizes[0]))
    if draw(st.booleans()):
        loss, y = SoftmaxCrossEntropy(), rng.integers(0, sizes[-1], n_samples)
    else:
        loss, y = MeanSquaredError(), rng.standard_normal((n_samples, sizes[-1]))
    l2 = draw(st.sampled_from([0.0, 0.3, 4.0]))
    return Sequential(*layers), x, y, loss, l2


def saturated(model, x):
    """Whether a sigmoid or tanh unit sits within 1e-4 of its limit: gradients through it are
    then so small that central differences' rounding dominates the relative error."""
    for layer in model.layers:
        x = layer.forward(x)
        if isinstance(layer, Sigmoid) and np.any(np.minimum(x, 1 - x) < 1e-4):
            return True
        if isinstance(layer, Tanh) and np.any(1 - np.abs(x) < 1e-4):
            return True
    return False


# A wrong backward gives relative errors of 1e-2 to 1; rare random stacks with tiny gradients
# (small inputs times small upstream gradients) show rounding up to a few 1e-5.
TOLERANCE = 1e-4


@settings(max_examples=40, deadline=None)
@given(stacks())
def test_random_stacks_pass_gradcheck(stack):
    model, x, y, loss, l2 = stack
    assume(not saturated(model, x))
    result = gradcheck(model, x, y, loss=loss, l2=l2)
    assert result.max_error < TOLERANCE, result.errors


@settings(max_examples=25, deadline=None)
@given(stacks())
def test_random_stacks_pass_gradcheck_without_a_loss(stack):
    model, x, _, _, _ = stack
    assume(not saturated(model, x))
    result = gradcheck(model, x)
    assert result.max_error < TOLERANCE, result.errors
