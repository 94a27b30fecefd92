"""The scikit-learn estimators: sklearn's own conformance suite, then glassnet's promises."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from glassnet.sklearn import GlassNetClassifier, GlassNetRegressor

# Small, fast settings: the checks fit hundreds of times on tiny data; these still reach
# the accuracy (0.83 on blobs) and R^2 (0.5) that the training checks demand.
FAST = dict(hidden_layer_sizes=(16,), max_epochs=40, learning_rate=0.02, random_state=0)


@parametrize_with_checks([GlassNetClassifier(**FAST), GlassNetRegressor(**FAST)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    from glassnet.data import load_digits, seed_split

    return seed_split(load_digits())


def test_classifier_is_the_library_fit(digits):
    """Same config and seed: the estimator's weights equal fit_from_config's, bit for bit."""
    from glassnet.training.config import TrainConfig, fit_from_config

    x, y = digits.train.x[:200], digits.train.y[:200]
    config = TrainConfig(hidden_layer_sizes=(12,), activation="sigmoid", lr=0.2, epochs=15)
    network, history = fit_from_config(
        config, (x, y), None, n_outputs=10, rng=np.random.default_rng(7)
    )
    estimator = GlassNetClassifier(
        (12,),
        "sigmoid",
        solver="sgd",
        learning_rate=0.2,
        l2=0.0,
        batch_size=None,
        max_epochs=15,
        random_state=7,
    ).fit(x, y)
    for key, value in network.state_dict().items():
        np.testing.assert_array_equal(estimator.network_.state_dict()[key], value)
    assert estimator.loss_curve_ == history.train_loss
    assert estimator.n_iter_ == 15


def test_pipeline_and_grid_search(digits):
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipeline = make_pipeline(
        StandardScaler(),
        GlassNetClassifier((32,), max_epochs=30, learning_rate=0.01, random_state=0),
    )
    search = GridSearchCV(pipeline, {"glassnetclassifier__l2": [1e-4, 1.0]}, cv=2, n_jobs=1)
    search.fit(digits.train.x, digits.train.y)
    # The search picks the l2 whose 2-fold cross-validated accuracy, computed here on
    # its own, is higher.
    scores = [
        cross_val_score(
            clone(pipeline).set_params(glassnetclassifier__l2=l2),
            digits.train.x,
            digits.train.y,
            cv=2,
        ).mean()
        for l2 in (1e-4, 1.0)
    ]
    assert scores[0] != scores[1]
    assert search.best_params_["glassnetclassifier__l2"] == (1e-4, 1.0)[int(np.argmax(scores))]
    assert search.score(digits.test.x, digits.test.y) > 0.9
    assert search.best_estimator_[-1].predict_proba(digits.test.x[:3]).shape == (3, 10)


def test_validation_curves_and_early_stopping_restore_the_best_epoch(digits):
    x, y = digits.train.x / 16, digits.train.y
    validation = (digits.validation.x / 16, digits.validation.y)
    model = GlassNetClassifier(
        (32,), learning_rate=0.05, max_epochs=60, early_stopping=True, patience=3, random_state=0
    )
    model.fit(x, y, validation_data=validation)
    assert len(model.loss_curve_) == len(model.validation_loss_curve_) == model.n_iter_
    assert len(model.validation_scores_) == model.n_iter_
    assert model.n_iter_ < 60  # stopped early
    best = model.best_epoch_
    assert best == int(np.argmin(model.validation_loss_curve_))
    # The restored weights are the best epoch's: their validation accuracy is that epoch's.
    assert model.score(*validation) == pytest.approx(model.validation_scores_[best])


def test_early_stopping_holds_out_validation_fraction():
    from sklearn.datasets import make_classification

    x, y = make_classification(200, 10, random_state=0)
    model = GlassNetClassifier(
        (8,), max_epochs=20, early_stopping=True, validation_fraction=0.25, random_state=0
    ).fit(x, y)
    assert len(model.validation_loss_curve_) == model.n_iter_
    assert model.best_epoch_ is not None
    again = GlassNetClassifier(**model.get_params()).fit(x, y)
    assert again.validation_loss_curve_ == model.validation_loss_curve_  # one seeded stream


def test_regressor_validation_scores_are_r2():
    from sklearn.datasets import make_regression
    from sklearn.metrics import r2_score

    x, y = make_regression(300, 5, noise=1.0, random_state=0)
    y = y / y.std()
    model = GlassNetRegressor((16,), learning_rate=0.01, max_epochs=50, random_state=0)
    model.fit(x[:200], y[:200], validation_data=(x[200:], y[200:]))
    assert model.validation_scores_[-1] == pytest.approx(r2_score(y[200:], model.predict(x[200:])))
    assert model.score(x[200:], y[200:]) > 0.9


def test_warm_start_and_partial_fit_continue_training():
    from sklearn.datasets import make_classification

    x, y = make_classification(120, 6, random_state=1)
    once = GlassNetClassifier((8,), max_epochs=10, batch_size=None, random_state=0).fit(x, y)
    twice = GlassNetClassifier((8,), max_epochs=5, batch_size=None, warm_start=True, random_state=0)
    twice.fit(x, y).fit(x, y)
    assert twice.n_iter_ == 10
    np.testing.assert_allclose(twice.loss_curve_, once.loss_curve_, rtol=1e-12)
    slower = GlassNetClassifier(
        (8,), max_epochs=5, batch_size=None, warm_start=True, random_state=0
    ).fit(x, y)
    slower.set_params(learning_rate=slower.learning_rate / 100).fit(x, y)
    assert slower.optimizer_.lr == pytest.approx(1e-5)
    assert slower.loss_curve_[:5] == twice.loss_curve_[:5]
    stepped = GlassNetClassifier((8,), batch_size=None, random_state=0)
    for _ in range(10):
        stepped.partial_fit(x, y, classes=[0, 1])
    np.testing.assert_allclose(stepped.loss_curve_, once.loss_curve_, rtol=1e-12)


def test_warm_start_refuses_a_changed_network_or_optimizer():
    from sklearn.datasets import make_classification

    from glassnet.errors import ConfigError

    x, y = make_classification(60, 4, random_state=0)
    for change in ({"hidden_layer_sizes": (5,)}, {"solver": "sgd"}, {"dtype": "float32"}):
        model = GlassNetClassifier((4,), max_epochs=2, warm_start=True, random_state=0).fit(x, y)
        model.set_params(**change)
        with pytest.raises(ConfigError, match=f"{next(iter(change))} cannot change"):
            model.fit(x, y)
    # What the training loop takes each fit may change.
    model = GlassNetClassifier((4,), max_epochs=2, warm_start=True, random_state=0).fit(x, y)
    model.set_params(l2=0.1, max_epochs=3, hidden_layer_sizes=4).fit(x, y)
    assert model.n_iter_ == 5


def test_warm_start_early_stopping_holds_out_the_same_rows(monkeypatch):
    from sklearn.datasets import make_classification

    from glassnet import sklearn as estimator

    held_out = []

    def recording_split(*arrays, **options):
        parts = estimator_split(*arrays, **options)
        held_out.append(parts[1])
        return parts

    estimator_split = estimator.train_test_split
    monkeypatch.setattr(estimator, "train_test_split", recording_split)
    x, y = make_classification(100, 4, random_state=0)
    model = GlassNetClassifier(
        (4,), max_epochs=3, early_stopping=True, warm_start=True, random_state=0
    )
    model.fit(x, y).fit(x, y).fit(x, y)
    assert len(held_out) == 3
    for rows in held_out[1:]:
        np.testing.assert_array_equal(rows, held_out[0])


def test_int_hidden_layer_sizes_is_one_layer():
    x, y = np.random.default_rng(0).normal(size=(20, 3)), np.repeat([0, 1], 10)
    model = GlassNetClassifier(hidden_layer_sizes=7, max_epochs=1, random_state=0).fit(x, y)
    assert model.train_config(len(x)).hidden_layer_sizes == (7,)
    assert model.network_.parameters()[0].value.shape == (3, 7)


def test_class_weight_shifts_predictions_like_sample_weight():
    from sklearn.datasets import make_classification

    x, y = make_classification(200, 4, n_informative=2, random_state=3, class_sep=0.3)
    settings = dict(hidden_layer_sizes=(8,), max_epochs=30, batch_size=None, random_state=0)
    by_class = GlassNetClassifier(class_weight={0: 5.0, 1: 1.0}, **settings).fit(x, y)
    by_sample = GlassNetClassifier(**settings).fit(x, y, sample_weight=np.where(y == 0, 5.0, 1.0))
    np.testing.assert_allclose(by_class.predict_proba(x), by_sample.predict_proba(x))
    plain = GlassNetClassifier(**settings).fit(x, y)
    assert np.mean(by_class.predict(x) == 0) > np.mean(plain.predict(x) == 0)
    balanced = GlassNetClassifier(class_weight="balanced", **settings).fit(x[:150], y[:150])
    assert balanced.n_iter_ == 30


def test_balanced_class_weight_raises_minority_recall():
    from sklearn.datasets import make_classification
    from sklearn.metrics import recall_score

    x, y = make_classification(
        300, 4, n_informative=2, weights=[0.9], class_sep=0.5, random_state=2
    )
    assert np.bincount(y[:200])[1] < 30  # class 1 is the rare one
    settings = dict(hidden_layer_sizes=(8,), max_epochs=30, batch_size=None, random_state=0)
    plain = GlassNetClassifier(**settings).fit(x[:200], y[:200])
    balanced = GlassNetClassifier(class_weight="balanced", **settings).fit(x[:200], y[:200])
    plain_recall = recall_score(y[200:], plain.predict(x[200:]))
    balanced_recall = recall_score(y[200:], balanced.predict(x[200:]))
    assert balanced_recall > plain_recall + 0.3


def test_user_errors_are_glassnet_errors():
    from glassnet.errors import ConfigError, DataError, GlassnetError
    from glassnet.sklearn import NotFittedError

    x, y = np.ones((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(NotFittedError, match="not fitted"):
        GlassNetClassifier().predict(x)
    with pytest.raises(ConfigError, match="learning rate"):
        GlassNetClassifier(learning_rate=-1).fit(x, y)
    with pytest.raises(ConfigError, match="unknown optimizer"):
        GlassNetClassifier(solver="lbfgs").fit(x, y)
    with pytest.raises(DataError, match="NaN"):
        GlassNetClassifier().fit(np.full((4, 2), np.nan), y)
    with pytest.raises(DataError, match="Unknown label type"):
        GlassNetClassifier().fit(x, [0.5, 1.5, 2.5, 3.5])
    model = GlassNetClassifier(max_epochs=1).fit(x, y)
    with pytest.raises(DataError, match="not classes of this model"):
        model.fit(x, y, validation_data=(x, [0, 1, 2, 1]))
    with pytest.raises(GlassnetError, match="3 features"):
        model.predict(np.ones((2, 3)))


def test_to_model_saves_without_pickle(tmp_path):
    from glassnet.models import checkpoint

    x, y = np.random.default_rng(0).normal(size=(40, 3)), np.repeat(["a", "b"], 20)
    model = GlassNetClassifier((4,), max_epochs=5, random_state=0).fit(x, y)
    loaded = checkpoint.load(checkpoint.save(model.to_model(), tmp_path / "m.npz"))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
