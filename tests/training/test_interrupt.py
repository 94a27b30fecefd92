"""Ctrl-C during fit: the model is left with its best epoch's weights, attached to the
KeyboardInterrupt with that epoch, so a caller can still save a usable model."""

import numpy as np
import pytest

from glassnet import SGD, SoftmaxCrossEntropy, fit, mlp


def overfitting_problem():
    """Noisy labels and a wide net: the validation loss rises after a few epochs."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((80, 6))
    y = np.where(rng.random(80) < 0.3, 1 - (x[:, 0] > 0), x[:, 0] > 0).astype(int)
    model = mlp([6, 64, 2], activation_name="tanh", rng=np.random.default_rng(0))
    return model, (x[:40], y[:40]), (x[40:], y[40:])


def interrupt_at(stop_epoch, states):
    def callback(epoch, history, model):
        states.append({k: v.copy() for k, v in model.state_dict().items()})
        if epoch == stop_epoch:
            raise KeyboardInterrupt

    return callback


@pytest.mark.parametrize("stop_epoch", [0, 40])
def test_an_interrupt_leaves_the_best_epochs_weights(stop_epoch):
    model, train, valid = overfitting_problem()
    optimizer = SGD(model.parameters(), lr=0.3, momentum=0.9)
    states = []
    with pytest.raises(KeyboardInterrupt) as caught:
        fit(
            model,
            SoftmaxCrossEntropy(),
            optimizer,
            train,
            valid,
            epochs=100,
            callbacks=[interrupt_at(stop_epoch, states)],
        )
    restored = {k: v.copy() for k, v in model.state_dict().items()}
    assert caught.value.model is model and not model.training
    validation_loss = []  # each epoch's weights' validation loss, recomputed
    for state in states:
        model.load_state_dict(state)
        output = model.forward(valid[0])
        validation_loss.append(SoftmaxCrossEntropy().forward(output, valid[1]))
    best = int(np.argmin(validation_loss))
    assert best < stop_epoch or stop_epoch == 0  # the test can tell best from last
    assert caught.value.best_epoch == best
    for key, value in states[best].items():
        np.testing.assert_array_equal(restored[key], value)


def test_an_interrupt_before_the_first_epoch_ends_leaves_no_model():
    model, train, valid = overfitting_problem()

    def interrupt(x, rng):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as caught:
        fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(model.parameters(), lr=0.1),
            train,
            valid,
            epochs=3,
            augment=interrupt,
            rng=np.random.default_rng(0),
        )
    assert caught.value.model is None and caught.value.best_epoch == -1
