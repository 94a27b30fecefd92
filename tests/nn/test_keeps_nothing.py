"""The layer contract's rule, for every layer type: inference keeps nothing, training keeps
what backward needs until it ends, a copy trains exactly like the original, and the weights
a forward pass reads are the arrays ``parameters()`` and ``state_dict()`` show."""

import copy
import gc
import pickle
import weakref

import numpy as np
import pytest

from glassnet.errors import ConfigError
from glassnet.models.model import Model
from glassnet.nn.conv import Conv2D
from glassnet.nn.layers import (
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from glassnet.nn.losses import MeanSquaredError, SoftmaxCrossEntropy
from glassnet.nn.normalization import BatchNorm
from glassnet.nn.optim import SGD, Adam
from glassnet.nn.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from glassnet.nn.shape import Flatten, Reshape
from glassnet.training.lbfgs import fit_lbfgs
from glassnet.training.loop import evaluate, fit


def dense(layer_factory):
    """A network of 6 features around one layer under test, and its input width."""

    def build(rng):
        return Sequential(Linear(6, 5, rng=rng), layer_factory(rng), Linear(5, 3, rng=rng)), 6

    return build


def image(layer_factory, flat_width):
    """A network of 2-channel 6x6 images around one image layer under test."""

    def build(rng):
        return (
            Sequential(
                Reshape((2, 6, 6)),
                layer_factory(rng),
                Flatten(),
                Linear(flat_width, 3, rng=rng),
            ),
            72,
        )

    return build


NETWORKS = {
    "Linear": dense(lambda rng: Linear(5, 5, rng=rng)),
    "Sigmoid": dense(lambda rng: Sigmoid()),
    "Tanh": dense(lambda rng: Tanh()),
    "ReLU": dense(lambda rng: ReLU()),
    "LeakyReLU": dense(lambda rng: LeakyReLU(0.1)),
    "Identity": dense(lambda rng: Identity()),
    "Dropout": dense(lambda rng: Dropout(0.3, rng=rng)),
    "BatchNorm (dense)": dense(lambda rng: BatchNorm(5)),
    "Conv2D": image(lambda rng: Conv2D(2, 2, 3, padding=1, rng=rng), 72),
    "Conv2D (strided)": image(lambda rng: Conv2D(2, 2, 3, stride=2, rng=rng), 2 * 2 * 2),
    "MaxPool2D": image(lambda rng: MaxPool2D(2), 18),
    "AvgPool2D": image(lambda rng: AvgPool2D(3, stride=1), 32),
    "BatchNorm (images)": image(lambda rng: BatchNorm(2), 72),
    "GlobalAvgPool2D": lambda rng: (
        Sequential(Reshape((2, 6, 6)), GlobalAvgPool2D(), Linear(2, 3, rng=rng)),
        72,
    ),
}


def learned(layer):
    """The ids of the arrays a layer may hold: its parameters, gradients and state."""
    arrays = [array for p in layer.parameters() for array in (p.value, p.grad)]
    return {id(array) for array in [*arrays, *layer.state().values()]}


def held_arrays(network):
    """Every array the network's layers hold that is not a learned one (cache, mask, ...)."""
    found = []
    for layer in network.layers:
        allowed = learned(layer)
        for name, value in vars(layer).items():
            if isinstance(value, np.ndarray) and id(value) not in allowed:
                found.append(f"{type(layer).__name__}.{name}")
    return found


@pytest.fixture(params=sorted(NETWORKS))
def network(request, rng):
    return NETWORKS[request.param](rng)


def test_inference_keeps_no_reference_to_the_input_or_activations(network, rng):
    model, width = network
    model.eval()
    x = rng.standard_normal((8, width))
    alive = weakref.ref(x)
    model.forward(x)
    assert held_arrays(model) == []
    del x
    gc.collect()
    assert alive() is None, "a layer still holds the input of an evaluation pass"


def test_training_keeps_its_caches_until_eval_or_release(network, rng):
    model, width = network
    model.train()
    model.forward(rng.standard_normal((8, width)))
    assert held_arrays(model), "training mode must keep what backward needs"
    model.backward(rng.standard_normal((8, 3)))  # what was kept is what backward needs
    model.eval()
    assert held_arrays(model) == []
    model.train()
    model.forward(rng.standard_normal((8, width)))
    model.release()
    assert held_arrays(model) == [] and model.training


def test_backward_after_an_evaluation_pass_is_refused_with_the_fix(rng):
    model, width = NETWORKS["Linear"](rng)
    model.eval().forward(rng.standard_normal((4, width)))
    with pytest.raises(ConfigError, match="call train"):
        model.backward(np.ones((4, 3)))


def test_an_evaluation_pass_gives_what_a_training_pass_gives(network, rng):
    # Keeping nothing must not change the numbers (dropout and batch statistics aside).
    model, width = network
    x = rng.standard_normal((8, width))
    model.eval()
    expected = model.forward(x)
    for layer in model.layers:
        layer.keeps_for_backward = True
    np.testing.assert_array_equal(model.forward(x), expected)


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_training_ends_holding_weights_not_data(network, solver, rng):
    model, width = network
    if solver == "lbfgs" and any(isinstance(layer, Dropout) for layer in model.layers):
        return  # lbfgs refuses dropout
    x, y = rng.standard_normal((16, width)), rng.integers(0, 3, 16)
    loss = SoftmaxCrossEntropy()
    if solver == "sgd":
        fit(model, loss, SGD(model.parameters(), lr=0.1), (x, y), (x, y), epochs=2)
    else:
        fit_lbfgs(model, loss, (x, y), max_iter=3, max_fun=10, tol=0.0)
    assert held_arrays(model) == []
    assert not any(isinstance(value, np.ndarray) for value in vars(loss).values())
    assert not any(p.grad.any() for p in model.parameters()), "the last batch's gradients"


def test_evaluate_keeps_nothing(rng):
    model, width = NETWORKS["Conv2D"](rng)
    model.train()
    loss = SoftmaxCrossEntropy()
    evaluate(model, loss, rng.standard_normal((5, width)), np.arange(5) % 3)
    assert held_arrays(model) == []
    assert not any(isinstance(value, np.ndarray) for value in vars(loss).values())


@pytest.mark.parametrize("copier", ["pickle", "deepcopy"])
@pytest.mark.parametrize("optimizer", [SGD, Adam])
def test_a_copy_trains_exactly_like_the_original(network, copier, optimizer, rng):
    model, width = network
    x, y = rng.standard_normal((12, width)), rng.integers(0, 3, 12)
    loss = SoftmaxCrossEntropy()
    first = optimizer(model.parameters(), lr=0.05)
    fit(model, loss, first, (x, y), epochs=1, batch_size=4, rng=np.random.default_rng(0))
    pair = (model, first, loss)
    copied = pickle.loads(pickle.dumps(pair)) if copier == "pickle" else copy.deepcopy(pair)
    for net, opt, objective in (pair, copied):
        before = [p.value.copy() for p in net.parameters()]
        fit(net, objective, opt, (x, y), epochs=2, batch_size=4, rng=np.random.default_rng(1))
        assert any(
            not np.array_equal(a, p.value) for a, p in zip(before, net.parameters(), strict=True)
        )
    for original, twin in zip(model.parameters(), copied[0].parameters(), strict=True):
        np.testing.assert_array_equal(original.value, twin.value)
    assert all(
        not np.shares_memory(a.value, b.value)
        for a, b in zip(model.parameters(), copied[0].parameters(), strict=True)
    )


def test_forward_reads_the_arrays_state_dict_shows(rng):
    model, width = NETWORKS["BatchNorm (dense)"](rng)
    model.eval()
    x = rng.standard_normal((4, width))
    before = model.forward(x)
    for array in model.state_dict().values():
        array *= 0.5  # in place, through what state_dict() hands out
    assert not np.allclose(model.forward(x), before)
    state = model.state_dict()
    keys = ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"]
    assert all(state[key] is p.value for key, p in zip(keys, model.parameters(), strict=True))


def test_model_predictions_keep_nothing_and_survive_a_copy(rng):
    network, width = NETWORKS["MaxPool2D"](rng)
    x = rng.standard_normal((9, width))
    model = Model([network], classes=np.array(["a", "b", "c"]))
    alive = weakref.ref(x)
    predicted = model.predict(x)
    model.predict_proba(x)
    model.score(x, predicted)
    assert held_arrays(network) == []
    copied = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copied.predict(x), predicted)
    del x
    gc.collect()
    assert alive() is None


def test_loss_release_drops_the_batch(rng):
    loss = MeanSquaredError()
    loss.forward(rng.standard_normal((4, 2)), rng.standard_normal((4, 2)))
    assert any(isinstance(value, np.ndarray) for value in vars(loss).values())
    loss.release()
    assert not any(isinstance(value, np.ndarray) for value in vars(loss).values())
