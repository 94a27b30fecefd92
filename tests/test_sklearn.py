"""MLPClassifier / MLPRegressor: scikit-learn's conformance suite, then what they promise."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from glassnet.sklearn import GlassNetClassifier, GlassNetRegressor, MLPClassifier, MLPRegressor

# Small, fast settings: the checks fit hundreds of times on tiny data; these still reach
# the accuracy and R^2 that the training checks demand.
FAST = dict(hidden_layer_sizes=(16,), max_iter=60, learning_rate_init=0.02, random_state=0)


@pytest.fixture(autouse=True)
def quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@parametrize_with_checks([MLPClassifier(**FAST), MLPRegressor(**FAST)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    from glassnet.data import load_digits, seed_split

    return seed_split(load_digits())


def test_the_old_names_are_the_same_classes():
    assert GlassNetClassifier is MLPClassifier and GlassNetRegressor is MLPRegressor


def test_the_estimator_is_the_library_fit(digits):
    """Same seed: the estimator's weights equal glassnet's mlp + SGD + fit, bit for bit."""
    from glassnet.nn.layers import mlp
    from glassnet.nn.losses import SoftmaxCrossEntropy
    from glassnet.nn.optim import SGD
    from glassnet.training.loop import fit

    x, y = digits.train.x[:200] / 16, digits.train.y[:200]
    rng = np.random.default_rng(7)
    network = mlp([64, 12, 10], activation_name="logistic", init="sklearn", rng=rng)
    optimizer = SGD(network.parameters(), lr=0.2, momentum=0.9)
    history = fit(
        network, SoftmaxCrossEntropy(), optimizer, (x, y), epochs=15, batch_size=50,
        l2=0.01, l2_per_batch=True, rng=rng,
    )  # fmt: skip
    estimator = MLPClassifier(
        12, "logistic", solver="sgd", learning_rate_init=0.2, nesterovs_momentum=False,
        alpha=0.01, batch_size=50, max_iter=15, n_iter_no_change=np.inf, random_state=7,
    ).fit(x, y)  # fmt: skip
    for key, value in network.state_dict().items():
        np.testing.assert_array_equal(estimator.network_.state_dict()[key], value)
    assert estimator.loss_curve_ == history.train_loss
    assert estimator.coefs_[0] is estimator.network_.layers[0].weight.value


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_every_solver_runs_through_glassnets_training(monkeypatch, solver):
    from glassnet.sklearn import base as module

    calls = []
    for name in ("fit", "fit_lbfgs"):
        original = getattr(module, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    x, y = make_classification(60, 4, random_state=0)
    MLPClassifier(4, solver=solver, max_iter=5, random_state=0).fit(x, y)
    assert calls == ["fit_lbfgs" if solver == "lbfgs" else "fit"]


def test_binary_uses_one_logistic_unit_and_multilabel_independent_ones():
    x, y = make_classification(80, 5, random_state=0)
    one_class = MLPClassifier(4, max_iter=5, random_state=0).fit(x, np.full(80, "only"))
    assert set(one_class.predict(x)) == {"only"}  # as scikit-learn: trains, predicts it
    binary = MLPClassifier(8, solver="lbfgs", random_state=0).fit(x, y)
    assert binary.n_outputs_ == 1 and binary.out_activation_ == "logistic"
    proba = binary.predict_proba(x)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    x, y = make_multilabel_classification(60, n_classes=4, random_state=0)
    multi = MLPClassifier(16, solver="lbfgs", max_iter=300, random_state=0).fit(x, y)
    proba = multi.predict_proba(x)
    assert proba.shape == (60, 4) and not np.allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(multi.predict(x), (proba > 0.5).astype(int))
    assert multi.score(x, y) > 0.9


def test_sparse_input_trains_like_dense():
    import scipy.sparse

    x, y = make_classification(60, 8, random_state=1)
    x[np.abs(x) < 0.8] = 0.0
    dense = MLPClassifier(6, solver="lbfgs", max_iter=30, random_state=0).fit(x, y)
    sparse = MLPClassifier(6, solver="lbfgs", max_iter=30, random_state=0)
    sparse.fit(scipy.sparse.csr_matrix(x), y)
    for a, b in zip(dense.coefs_, sparse.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    adam = MLPClassifier(6, max_iter=5, batch_size=16, random_state=0)
    adam.fit(scipy.sparse.csc_matrix(x), y)
    np.testing.assert_array_equal(adam.predict(x), adam.predict(scipy.sparse.csr_matrix(x)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_input_dtype_is_kept(dtype):
    x, y = make_classification(50, 4, random_state=0)
    model = MLPRegressor(hidden_layer_sizes=4, max_iter=3, random_state=0).fit(x.astype(dtype), y)
    assert all(c.dtype == dtype for c in model.coefs_ + model.intercepts_)
    assert model.predict(x.astype(dtype)).dtype == dtype
    forced = MLPRegressor(hidden_layer_sizes=4, max_iter=3, random_state=0, dtype="float32").fit(
        x, y
    )
    assert forced.coefs_[0].dtype == np.float32


def test_max_iter_warns_and_tol_stops():
    x, y = make_classification(60, 4, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        warnings.simplefilter("always", ConvergenceWarning)
        MLPClassifier(4, max_iter=3, random_state=0).fit(x, y)
    stopped = MLPClassifier(4, max_iter=500, tol=0.05, n_iter_no_change=3, random_state=0)
    stopped.fit(x, y)
    assert stopped.n_iter_ < 500
    # scikit-learn's rule: stop once more than n_iter_no_change epochs in a row did not beat
    # the best loss so far by tol.
    losses, best, count = stopped.loss_curve_, np.inf, 0
    for epoch, loss in enumerate(losses):
        count = count + 1 if loss > best - 0.05 else 0
        best = min(best, loss)
        assert (count > 3) == (epoch == len(losses) - 1)


def test_learning_rate_schedules():
    x, y = make_classification(40, 4, random_state=0)
    inv = MLPClassifier(4, solver="sgd", learning_rate="invscaling", power_t=0.25, max_iter=3,
                        n_iter_no_change=np.inf, random_state=0).fit(x, y)  # fmt: skip
    assert inv._optimizer.lr == pytest.approx(0.001 / (3 * 40 + 1) ** 0.25)
    assert inv.t_ == 120
    stepped = MLPClassifier(4, solver="sgd", learning_rate="invscaling", power_t=0.25,
                            random_state=0)  # fmt: skip
    for _ in range(3):
        stepped.partial_fit(x, y, classes=[0, 1])
    np.testing.assert_allclose(stepped.coefs_[0], inv.coefs_[0], rtol=1e-12)
    adaptive = MLPClassifier(4, solver="sgd", learning_rate="adaptive", tol=10.0,
                             n_iter_no_change=1, max_iter=30, random_state=0).fit(x, y)  # fmt: skip
    # Every epoch fails a tol of 10: the rate is cut by 5 every second epoch, then it stops.
    assert adaptive._optimizer.lr <= 1e-6 and adaptive.n_iter_ < 30


def test_early_stopping_scores_and_restores_the_best_epoch(digits):
    x, y = digits.train.x / 16, digits.train.y
    validation = (digits.validation.x / 16, digits.validation.y)
    model = MLPClassifier(32, learning_rate_init=0.05, max_iter=60, early_stopping=True,
                          n_iter_no_change=3, random_state=0)  # fmt: skip
    model.fit(x, y, validation_data=validation)
    assert len(model.validation_scores_) == len(model.validation_loss_curve_) == model.n_iter_
    assert model.n_iter_ < 60
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.validation_scores_[model.best_epoch_] == model.best_validation_score_
    assert model.score(*validation) == pytest.approx(model.best_validation_score_)
    assert model.best_loss_ is None


def test_partial_fit_matches_fit_and_follows_sklearns_rules():
    x, y = make_classification(120, 6, random_state=1)
    settings = dict(hidden_layer_sizes=8, solver="sgd", batch_size=120, random_state=0)
    once = MLPClassifier(max_iter=10, n_iter_no_change=np.inf, **settings).fit(x, y)
    stepped = MLPClassifier(**settings)
    for _ in range(10):
        stepped.partial_fit(x, y, classes=[0, 1])
    np.testing.assert_allclose(stepped.loss_curve_, once.loss_curve_, rtol=1e-12)
    with pytest.raises(ValueError, match="not the same"):
        stepped.partial_fit(x, y, classes=[0, 2])
    with pytest.raises(ValueError, match="first call"):
        MLPClassifier().partial_fit(x, y)
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True, max_iter=2).fit(x, y).partial_fit(x, y)
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")


def test_warm_start_continues_and_refuses_a_changed_network():
    x, y = make_classification(60, 4, random_state=0)
    model = MLPClassifier(4, max_iter=3, warm_start=True, random_state=0).fit(x, y)
    model.fit(x, y)
    assert len(model.loss_curve_) == 6 and model.n_iter_ == 3
    with pytest.raises(ValueError, match="same classes"):
        model.fit(x, np.where(y == 1, 2, 0))
    for change in ({"hidden_layer_sizes": 5}, {"activation": "tanh"}):
        model.set_params(**change)
        with pytest.raises(ValueError, match="cannot change"):
            model.fit(x, y)
        model.set_params(hidden_layer_sizes=4, activation="relu")


def test_class_weight_acts_like_sample_weight():
    x, y = make_classification(200, 4, n_informative=2, random_state=3, class_sep=0.3)
    settings = dict(hidden_layer_sizes=(8,), max_iter=30, batch_size=200, random_state=0)
    by_class = MLPClassifier(class_weight={0: 5.0, 1: 1.0}, **settings).fit(x, y)
    by_sample = MLPClassifier(**settings).fit(x, y, sample_weight=np.where(y == 0, 5.0, 1.0))
    np.testing.assert_allclose(by_class.predict_proba(x), by_sample.predict_proba(x))
    plain = MLPClassifier(**settings).fit(x, y)
    assert np.mean(by_class.predict(x) == 0) > np.mean(plain.predict(x) == 0)


def test_diverging_weights_raise_a_value_error_and_leave_it_unfitted():
    from glassnet.errors import GlassnetError
    from glassnet.sklearn import NonFiniteWeightsError, NotFittedError

    rng = np.random.default_rng(0)
    x = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    model = MLPRegressor(hidden_layer_sizes=4, random_state=0)
    with pytest.raises(NonFiniteWeightsError, match="non-finite parameter weights") as error:
        model.fit(x, rng.standard_normal(10))
    assert isinstance(error.value, ValueError) and isinstance(error.value, GlassnetError)
    assert not hasattr(model, "coefs_") and not hasattr(model, "network_")
    with pytest.raises(NotFittedError):
        model.predict(x)
    # With early stopping the best finite epoch is kept instead, and the estimator is fitted.
    x, y = make_classification(100, 4, random_state=0)
    kept = MLPRegressor(
        hidden_layer_sizes=20, activation="identity", solver="sgd", learning_rate_init=1.0,
        max_iter=20, early_stopping=True, random_state=0,
    ).fit(x * 100, y)  # fmt: skip
    assert np.isnan(kept.validation_scores_[-1])
    assert all(np.isfinite(c).all() for c in kept.coefs_)


def test_user_errors_are_glassnet_errors():
    from glassnet.errors import ConfigError, DataError
    from glassnet.sklearn import NotFittedError

    x, y = np.ones((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(NotFittedError, match="not fitted"):
        MLPClassifier().predict(x)
    with pytest.raises(ConfigError, match="learning_rate_init"):
        MLPClassifier(learning_rate_init=-1).fit(x, y)
    with pytest.raises(ConfigError, match="solver"):
        MLPClassifier(solver="newton").fit(x, y)
    with pytest.raises(DataError, match="NaN"):
        MLPClassifier().fit(np.full((4, 2), np.nan), y)
    with pytest.raises(DataError, match="too small"):
        MLPRegressor(early_stopping=True).fit(x[:2], [0.0, 1.0])


def test_poisson_loss_predicts_positive_rates():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(200, 1))
    y = rng.poisson(np.exp(2 * x[:, 0]))
    model = MLPRegressor("poisson", 4, "identity", solver="lbfgs", alpha=0, random_state=0)
    model.fit(x, y)
    assert model.out_activation_ == "exp" and np.all(model.predict(x) > 0)
    # The log link with a linear network is a Poisson GLM: its slope is close to the truth.
    slope = np.polyfit(x[:, 0], np.log(model.predict(x)), 1)[0]
    assert slope == pytest.approx(2.0, abs=0.4)
