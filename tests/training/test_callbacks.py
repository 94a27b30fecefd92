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
