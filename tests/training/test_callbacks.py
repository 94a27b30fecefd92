import numpy as np
import pytest

from glassnet import SGD, ConfigError, SoftmaxCrossEntropy, fit, mlp
from glassnet.training.callbacks import EarlyStopping
from glassnet.training.history import History, StopTraining


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


def test_convergence_is_scikit_learns_rule_on_the_training_loss():
    from glassnet.training.callbacks import Convergence

    history = History()
    rule = Convergence(tol=0.1, n_iter_no_change=2)
    # Improvements by more than tol reset the count; the fourth flat epoch in a row stops it.
    losses = [5.0, 4.0, 3.95, 3.92, 3.0, 2.95, 2.94, 2.96, 2.93]
    stopped_at = None
    for epoch, loss in enumerate(losses):
        history.train_loss.append(loss)
        try:
            rule(epoch, history, None)
        except StopTraining:
            stopped_at = epoch
            break
    assert stopped_at == 7 and rule.converged and rule.best_loss == 2.94


def test_convergence_on_a_score_keeps_the_best_weights_and_adapts_the_rate():
    from glassnet.training.callbacks import Convergence

    model = mlp([2, 2], rng=np.random.default_rng(0))
    optimizer = SGD(model.parameters(), lr=1e-5)
    scores = iter([0.5, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3])

    def score(network):
        network.layers[0].weight.value += 1.0  # each epoch moves the weights
        return next(scores)

    rule = Convergence(0.0, 1, score=score, optimizer=optimizer, adaptive=True)
    rule.on_train_begin(History(), model)
    history = History()
    best_weights = None
    with pytest.raises(StopTraining):
        for epoch in range(8):
            rule(epoch, history, model)
            if epoch == 1:
                best_weights = model.state_dict()["0.weight"].copy()
    # Two flat epochs after the best: cut by 5 (1e-5 -> 2e-6), again (-> 4e-7), then stop.
    assert optimizer.lr == pytest.approx(4e-7)
    rule.on_train_end(history, model)
    np.testing.assert_array_equal(model.state_dict()["0.weight"], best_weights)
    assert rule.best_score == 0.9 and rule.scores[:3] == [0.5, 0.9, 0.8]


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


def feed(stopper, values, monitor="validation_loss"):
    """Run ``stopper`` over a made-up history whose epoch ``e`` has weights all equal to ``e``;
    returns (the epoch whose weights the model ends with, the epoch it stopped at or None)."""
    model = mlp([2, 2], rng=np.random.default_rng(0))
    history = History()
    stopper.on_train_begin(history, model)
    stopped = None
    for epoch, value in enumerate(values):
        getattr(history, monitor).append(value)
        for param in model.parameters():
            param.value[...] = epoch
        try:
            stopper(epoch, history, model)
        except StopTraining:
            stopped = epoch
            break
    stopper.on_train_end(history, model)
    return int(model.parameters()[0].value.flat[0]), stopped


@pytest.mark.parametrize(
    ("monitor", "values", "best"),
    [
        ("validation_loss", [3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 5.0], 1.0),
        ("train_loss", [3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 5.0], 1.0),
        ("validation_accuracy", [0.5, 0.7, 0.9, 0.8, 0.7, 0.6, 0.5], 0.9),
    ],
)
def test_each_monitor_points_its_own_way(monitor, values, best):
    """Losses improve downwards, accuracy upwards: either way the best is epoch 2."""
    stopper = EarlyStopping(patience=3, monitor=monitor)
    restored, stopped = feed(stopper, values, monitor)
    assert (restored, stopped) == (2, 5)
    assert stopper.best_epoch == 2 and stopper.stopped_epoch == 5
    assert stopper.best_score == best


@pytest.mark.parametrize(
    ("monitor", "values"),
    [("validation_loss", [1.0, 0.5, 0.5, 0.5, 0.5]), ("validation_accuracy", [0.5, 0.8, 0.8, 0.8])],
)
def test_a_tie_is_not_an_improvement(monitor, values):
    """Equal values neither move the best epoch nor restart patience: the first one is kept."""
    stopper = EarlyStopping(patience=2, monitor=monitor)
    assert feed(stopper, values, monitor) == (1, 3)


def test_min_delta_times_the_stop_and_never_moves_the_best_epoch():
    # Epoch 2 is the best, but exactly 0.25 below epoch 0: not better by more than 0.25.
    values = [1.0, 0.875, 0.75, 0.8]
    assert feed(EarlyStopping(patience=2, min_delta=0.25), values) == (2, 2)
    assert feed(EarlyStopping(patience=2, min_delta=0.2), values) == (2, None)
    assert feed(EarlyStopping(patience=1), values) == (2, 3)
    # Small gains add up: 0.1 + 0.1 + 0.1 beats min_delta 0.25 and restarts patience at epoch 3.
    slow = [1.0, 0.9, 0.8, 0.7, 0.65, 0.6, 0.55]
    stopper = EarlyStopping(patience=3, min_delta=0.25)
    assert feed(stopper, slow) == (6, 6)
    assert stopper.best_score == 0.55


def test_without_restore_best_the_last_weights_stay():
    stopper = EarlyStopping(patience=2, restore_best=False)
    assert feed(stopper, [1.0, 0.5, 0.7, 0.8, 0.9]) == (3, 3)
    assert stopper.best_epoch == 1 and stopper.best_state is None


@pytest.mark.parametrize("patience", [0, -1, 2.5])
def test_patience_must_be_a_positive_integer(patience):
    with pytest.raises(ConfigError, match="patience"):
        EarlyStopping(patience=patience)
    assert EarlyStopping(patience=1).patience == 1


def test_default_patience_is_ten_epochs():
    stopper = EarlyStopping()
    assert feed(stopper, [1.0] + [2.0] * 20) == (0, 10)


def test_an_infinite_loss_is_never_the_best_epoch():
    """A validation loss that overflows to inf never counts as an improvement: patience runs
    from before the first epoch, and no weights are swapped in at the end."""
    stopper = EarlyStopping(patience=3)
    assert feed(stopper, [np.inf] * 6) == (2, 2)
    assert stopper.best_epoch == -1 and stopper.best_state is None
    stopper = EarlyStopping(patience=3)
    assert feed(stopper, [np.inf, np.inf, 5.0, 6.0, 7.0, 8.0]) == (2, 5)


def test_an_unknown_monitor_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="cannot monitor 'loss'; choose one of"):
        EarlyStopping(monitor="loss")
