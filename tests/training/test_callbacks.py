import numpy as np
import pytest

from glassnet import SGD, ConfigError, SoftmaxCrossEntropy, fit, mlp
from glassnet.training.callbacks import EarlyStopping
from glassnet.training.history import History


def noisy_problem():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((80, 10))
    y = (x[:, 0] > 0).astype(int)
    flip = rng.random(80) < 0.3  # label noise makes a big net overfit, so validation loss turns up
    y = np.where(flip, 1 - y, y)
    return (x[:40], y[:40]), (x[40:], y[40:])


def test_early_stopping_restores_the_best_epochs_weights():
    train_data, valid = noisy_problem()
    model = mlp([10, 64, 2], activation_name="tanh", rng=np.random.default_rng(0))
    snapshots = []

    def remember(epoch, history, network):
        snapshots.append({k: v.copy() for k, v in network.state_dict().items()})

    stopper = EarlyStopping(patience=5)
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        SGD(model.parameters(), lr=0.3, momentum=0.9),
        train_data,
        valid,
        epochs=500,
        callbacks=[remember, stopper],
    )
    assert stopper.stopped_epoch is not None and len(history.train_loss) < 500
    best = int(np.argmin(history.validation_loss))
    assert stopper.best_epoch == best
    assert stopper.stopped_epoch == best + 5
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, snapshots[best][key])
    assert not np.array_equal(model.state_dict()["0.weight"], snapshots[-1]["0.weight"])


def test_restore_also_happens_when_epochs_run_out():
    train_data, valid = noisy_problem()
    model = mlp([10, 64, 2], activation_name="tanh", rng=np.random.default_rng(0))
    stopper = EarlyStopping(patience=1000, monitor="validation_accuracy")
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        SGD(model.parameters(), lr=0.3, momentum=0.9),
        train_data,
        valid,
        epochs=60,
        callbacks=[stopper],
    )
    assert stopper.stopped_epoch is None
    assert stopper.best_epoch == int(np.argmax(history.validation_accuracy))
    accuracy = np.mean(model.forward(valid[0]).argmax(axis=1) == valid[1])
    assert accuracy == max(history.validation_accuracy)


def test_bad_settings_and_missing_validation_are_refused():
    with pytest.raises(ConfigError):
        EarlyStopping(patience=0)
    with pytest.raises(ConfigError):
        EarlyStopping(monitor="nonsense")
    with pytest.raises(ConfigError, match="validation"):
        EarlyStopping()(0, History(train_loss=[1.0]), mlp([2, 2], rng=np.random.default_rng(0)))


def test_one_instance_serves_two_trainings_independently():
    train_data, valid = noisy_problem()
    stopper = EarlyStopping(patience=5)
    fresh = EarlyStopping(patience=5)
    first = mlp([10, 64, 2], activation_name="tanh", rng=np.random.default_rng(0))
    fit(
        first,
        SoftmaxCrossEntropy(),
        SGD(first.parameters(), lr=0.3, momentum=0.9),
        train_data,
        valid,
        epochs=500,
        callbacks=[stopper],
    )
    results = []
    for callback in (stopper, fresh):
        second = mlp([10, 64, 2], activation_name="tanh", rng=np.random.default_rng(1))
        history = fit(
            second,
            SoftmaxCrossEntropy(),
            SGD(second.parameters(), lr=0.05, momentum=0.9),
            train_data,
            valid,
            epochs=500,
            callbacks=[callback],
        )
        results.append((len(history.train_loss), callback.best_epoch, second.state_dict()))
    assert results[0][:2] == results[1][:2]
    for key, value in results[0][2].items():
        np.testing.assert_array_equal(value, results[1][2][key])


def test_min_delta_still_restores_the_lowest_validation_loss():
    """An epoch better than the best by less than min_delta is still the best epoch: min_delta
    decides when to stop, never which weights the user gets back (the README's promise)."""
    train_data, valid = noisy_problem()
    model = mlp([10, 64, 2], activation_name="tanh", rng=np.random.default_rng(0))
    snapshots = []

    def remember(epoch, history, network):
        snapshots.append({k: v.copy() for k, v in network.state_dict().items()})

    stopper = EarlyStopping(patience=5, min_delta=0.05)
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        SGD(model.parameters(), lr=0.05, momentum=0.9),
        train_data,
        valid,
        epochs=300,
        callbacks=[remember, stopper],
    )
    losses = np.array(history.validation_loss)
    best = int(np.argmin(losses))
    # The run must contain the case: small steps down after the last large one.
    assert best > 0 and losses[best] > losses[:best].min() - 0.05
    assert stopper.best_epoch == best
    assert stopper.best_score == losses[best]
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, snapshots[best][key])
