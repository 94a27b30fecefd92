"""Convergence is scikit-learn's stopping rule for its stochastic MLP solvers: checked epoch by
epoch against the rule written out plainly from scikit-learn's ``_update_no_improvement_count``
and ``SGDOptimizer.trigger_stopping``, on sequences full of ties (the edges of each comparison).
"""

import math

import numpy as np
import pytest

from glassnet import SGD, ConfigError, mlp
from glassnet.training.callbacks import Convergence
from glassnet.training.history import History, StopTraining


def reference(values, tol, n_iter_no_change, *, score, lr=1.0, adaptive=False, min_lr=1e-6):
    """Per epoch (count, lr, best epoch), and the epoch training stops at (None: never)."""
    count, best, best_epoch, trace = 0, -math.inf if score else math.inf, None, []
    for epoch, value in enumerate(values):
        if score:
            worse = value < best + tol
            if value > best:
                best, best_epoch = value, epoch
        else:
            worse = value > best - tol
            best = min(best, value)
        count = count + 1 if worse else 0
        if count > n_iter_no_change:
            if not (adaptive and lr > min_lr):
                return trace, epoch
            lr, count = lr / 5.0, 0
        trace.append((count, lr, best_epoch))
    return trace, None


def run(values, tol, n_iter_no_change, *, score, lr=1.0, adaptive=False, min_lr=1e-6):
    """The same sequence through Convergence; each epoch moves the weights by 1."""
    model = mlp([2, 2], rng=np.random.default_rng(0))
    optimizer = SGD(model.parameters(), lr=lr)
    scores = iter(values)

    def next_score(network):
        return next(scores)

    rule = Convergence(
        tol,
        n_iter_no_change,
        score=next_score if score else None,
        optimizer=optimizer,
        adaptive=adaptive,
        min_lr=min_lr,
    )
    history, trace, stopped = History(), [], None
    rule.on_train_begin(history, model)
    for epoch, value in enumerate(values):
        history.train_loss.append(value)
        model.layers[0].weight.value += 1.0
        try:
            rule(epoch, history, model)
        except StopTraining:
            stopped = epoch
            break
        trace.append((rule.no_improvement_count, optimizer.lr, rule.best_epoch))
    rule.on_train_end(history, model)
    return rule, model, trace, stopped


def sequences():
    """Values on a 0.5 grid (exact in binary), so ties with best +- tol really happen."""
    rng = np.random.default_rng(11)
    return [list(rng.integers(0, 4, 12) * 0.5) for _ in range(12)]


@pytest.mark.parametrize("score", [False, True], ids=["training loss", "score"])
@pytest.mark.parametrize(("tol", "n_iter_no_change"), [(0.0, 1), (0.5, 1), (0.5, 2), (0.0, 3)])
def test_each_epoch_follows_scikit_learns_rule(score, tol, n_iter_no_change):
    for values in sequences():
        rule, model, trace, stopped = run(values, tol, n_iter_no_change, score=score)
        expected_trace, expected_stop = reference(values, tol, n_iter_no_change, score=score)
        assert (trace, stopped) == (expected_trace, expected_stop), values
        assert rule.converged == (stopped is not None)
        # With a score, the weights of its best epoch; without, those of the last epoch.
        start = mlp([2, 2], rng=np.random.default_rng(0)).layers[0].weight.value
        last = len(values) - 1 if stopped is None else stopped
        kept = rule.best_epoch if score else last
        np.testing.assert_array_equal(model.layers[0].weight.value, start + kept + 1)
        if score:
            assert rule.scores == values[: len(rule.scores)]


@pytest.mark.parametrize("score", [False, True], ids=["training loss", "score"])
def test_an_adaptive_rate_is_cut_by_5_until_min_lr_then_training_stops(score):
    for values in sequences():
        # min_lr is exactly lr after two cuts: the third trigger stops (lr > min_lr is false).
        settings = dict(score=score, lr=0.02, adaptive=True, min_lr=0.02 / 5.0 / 5.0)
        _, _, trace, stopped = run(values, 0.0, 1, **settings)
        assert (trace, stopped) == reference(values, 0.0, 1, **settings), values


def test_a_fresh_rule_has_counted_nothing():
    rule = Convergence(1e-4, 10)
    assert rule.no_improvement_count == 0 and rule.converged is False
    assert rule.best_epoch is None and rule.best_state is None and rule.scores == []


def test_a_score_that_never_improves_restores_the_starting_weights():
    values = [math.nan] * 4
    rule, model, _, stopped = run(values, 0.0, 10, score=True)
    start = mlp([2, 2], rng=np.random.default_rng(0)).layers[0].weight.value
    np.testing.assert_array_equal(model.layers[0].weight.value, start)
    assert stopped is None and rule.best_epoch is None and rule.converged is False


def test_a_warm_start_keeps_the_first_fits_best_weights_and_resets_converged():
    """State carries over between fits (scikit-learn's warm start): a second fit whose scores
    never beat the first fit's best ends with the first fit's best weights."""
    model = mlp([2, 2], rng=np.random.default_rng(0))
    scores = iter([0.9, 0.1, 0.1, 0.2])

    def score(network):
        network.layers[0].weight.value += 1.0
        return next(scores)

    rule = Convergence(0.0, 1, score=score)
    history = History()
    rule.on_train_begin(history, model)
    best = None
    with pytest.raises(StopTraining):
        for epoch in range(3):
            rule(epoch, history, model)
            best = model.layers[0].weight.value.copy() if epoch == 0 else best
    rule.on_train_end(history, model)
    assert rule.converged is True
    rule.on_train_begin(history, model)  # the second fit
    assert rule.converged is False
    with pytest.raises(StopTraining):  # the count carries over too: 0.2 is still no better
        rule(3, history, model)
    rule.on_train_end(history, model)
    np.testing.assert_array_equal(model.layers[0].weight.value, best)
    assert rule.best_epoch == 0 and rule.scores == [0.9, 0.1, 0.1, 0.2]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"tol": -0.1, "n_iter_no_change": 2}, "got -0.1 and 2"),
        ({"tol": 0.1, "n_iter_no_change": 0}, "got 0.1 and 0"),
        ({"tol": math.nan, "n_iter_no_change": 2}, "got nan and 2"),
    ],
)
def test_bad_settings_are_refused_with_both_values(settings, message):
    with pytest.raises(
        ConfigError, match=rf"^tol must be >= 0 and n_iter_no_change > 0, {message}$"
    ):
        Convergence(**settings)


def test_an_adaptive_rate_without_the_optimizer_is_refused():
    with pytest.raises(ConfigError, match="^an adaptive learning rate needs the optimizer$"):
        Convergence(0.0, 2, adaptive=True)
    Convergence(0.0, 1)  # the smallest allowed settings
