"""The scikit-learn drop-in where it used to differ without a word (issue 26), written the way
a scikit-learn user meets each case: copies that train, fitted estimators that keep no data,
weights that are what they show, warnings that scikit-learn's filters catch."""

import copy
import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from glassnet.sklearn import MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return x / 16.0, y


COPIERS = {
    "pickle": lambda estimator: pickle.loads(pickle.dumps(estimator)),
    "deepcopy": copy.deepcopy,
    "joblib": lambda estimator: joblib.load(_dumped(estimator)),
}


def _dumped(estimator):
    import io

    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("copier", sorted(COPIERS))
def test_partial_fit_after_a_copy_trains_exactly_like_the_original(digits, solver, copier):
    x, y = digits
    clf = MLPClassifier(solver=solver, random_state=0)
    clf.partial_fit(x[:500], y[:500], classes=np.arange(10))
    twin = COPIERS[copier](clf)
    start, score = twin.coefs_[0].copy(), twin.score(x[1000:], y[1000:])
    for estimator in (clf, twin):
        for _ in range(10):
            estimator.partial_fit(x[500:1000], y[500:1000])
    assert not np.array_equal(start, twin.coefs_[0]), "the copy did not train"
    for mine, theirs in zip(
        clf.coefs_ + clf.intercepts_, twin.coefs_ + twin.intercepts_, strict=True
    ):
        np.testing.assert_array_equal(mine, theirs)
    assert twin.score(x[1000:], y[1000:]) > score


def test_warm_start_after_a_copy_trains_like_the_original(digits):
    x, y = digits
    clf = MLPRegressor(hidden_layer_sizes=(20,), max_iter=3, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, y)
        twin = copy.deepcopy(clf)
        clf.fit(x, y)
        twin.fit(x, y)
    np.testing.assert_array_equal(clf.predict(x), twin.predict(x))


def test_a_clone_trains_exactly_like_the_original(digits):
    x, y = digits
    clf = MLPClassifier(hidden_layer_sizes=(30,), max_iter=5, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = clf.fit(x[:600], y[:600]).predict_proba(x[600:])
        two = clone(clf).fit(x[:600], y[:600]).predict_proba(x[600:])
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_fitted_estimator_keeps_no_rows_or_labels(digits, early_stopping):
    x, y = digits
    clf = MLPClassifier(
        hidden_layer_sizes=(50,), max_iter=20, early_stopping=early_stopping, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, y)
    big = np.random.default_rng(0).random((100_000, 64))
    clf.predict_proba(big)
    size = len(pickle.dumps(clf))
    weights = sum(a.nbytes for a in clf.coefs_ + clf.intercepts_)
    # The weights, Adam's two moments, their gradients and (early stopping) the best
    # epoch's copy: a few times the weights, never the 51 MB of rows.
    assert size < 6 * weights + 50_000, (size, weights)
    blob = pickle.dumps(clf)
    for row in (big[-1], x[-1], x[0]):  # no row, predicted or trained on, is inside
        assert row.tobytes() not in blob
    assert not [name for name in vars(clf) if name in ("_checked_y", "_y_labels")]


def test_a_regressor_keeps_no_rows_after_predict(digits):
    x, y = digits
    reg = MLPRegressor(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(x, y.astype(float))
    rows = np.random.default_rng(1).random((20_000, 64))
    reg.predict(rows)
    assert rows[-1].tobytes() not in pickle.dumps(reg)
    assert len(pickle.dumps(reg)) < 200_000


def test_assigning_coefs_and_intercepts_is_what_predict_uses(digits):
    x, y = digits
    clf = MLPClassifier(hidden_layer_sizes=(20,), max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, y)
    donor = clone(clf).set_params(random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        donor.fit(x, y)
    # Transplanting every array makes the two predict alike.
    clf.coefs_ = [coef.copy() for coef in donor.coefs_]
    clf.intercepts_ = [intercept.copy() for intercept in donor.intercepts_]
    np.testing.assert_array_equal(clf.predict_proba(x), donor.predict_proba(x))
    # One item at a time, too: zero output weights and biases give uniform probabilities.
    clf.coefs_[1] = np.zeros_like(clf.coefs_[1])
    clf.intercepts_[1] = np.zeros(10)
    np.testing.assert_allclose(clf.predict_proba(x[:5]), np.full((5, 10), 0.1))
    assert clf.coefs_[1].shape == (20, 10) and not clf.coefs_[1].any()
    with pytest.raises(ValueError, match=r"coefs_\[0\] has shape \(3, 3\)"):
        clf.coefs_ = [np.zeros((3, 3)), np.zeros((20, 10))]


def test_hand_set_weights_before_partial_fit_are_the_start(digits):
    x, y = digits
    reg = MLPRegressor(hidden_layer_sizes=(4,), solver="sgd", learning_rate_init=1e-9)
    reg.coefs_ = [np.full((64, 4), 0.01), np.full((4, 1), 0.5)]
    reg.intercepts_ = [np.zeros(4), np.array([2.0])]
    reg.partial_fit(x[:50], y[:50].astype(float))
    # A learning rate of 1e-9 leaves the hand-set weights where they were.
    np.testing.assert_allclose(reg.coefs_[1], 0.5, atol=1e-6)
    np.testing.assert_allclose(reg.intercepts_[1], 2.0, atol=1e-6)


def fit_that_does_not_converge(digits, solver):
    x, y = digits
    MLPClassifier(hidden_layer_sizes=(10,), solver=solver, max_iter=2, random_state=0).fit(
        x[:300], y[:300]
    )


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_scikit_learns_module_filter_catches_the_convergence_warning(digits, solver):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=ConvergenceWarning, module="sklearn")
        fit_that_does_not_converge(digits, solver)  # raises if the filter misses it


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_the_convergence_warning_points_at_the_users_fit_call(digits, solver):
    with pytest.warns(ConvergenceWarning) as record:
        fit_that_does_not_converge(digits, solver)
    assert [w.filename for w in record] == [__file__]


@pytest.mark.parametrize(
    "setting",
    [
        {"solver": "bogus"},
        {"alpha": -1.0},
        {"hidden_layer_sizes": (0,)},
        {"random_state": "seven"},
        {"learning_rate_init": "fast"},
    ],
)
def test_an_invalid_parameter_is_both_a_value_and_a_type_error(digits, setting):
    x, y = digits
    from sklearn.utils._param_validation import InvalidParameterError

    for error in (ValueError, TypeError, InvalidParameterError):
        with pytest.raises(error):
            MLPClassifier(**setting).fit(x[:50], y[:50])


def test_invalid_loss_and_class_weight_are_invalid_parameter_errors(digits):
    x, y = digits
    with pytest.raises(TypeError, match="loss must be"):
        MLPRegressor(loss="huber").fit(x[:50], y[:50])
    with pytest.raises(TypeError, match="class_weight"):
        MLPClassifier(class_weight=3).fit(x[:50], y[:50])


def test_the_optimizer_shows_its_learning_rate_under_scikit_learns_name(digits):
    x, y = digits
    clf = MLPClassifier(solver="sgd", learning_rate="adaptive", tol=0.5, max_iter=300)
    clf.fit([[3, 2], [1, 6]], [1, 0])
    assert clf._optimizer.learning_rate == clf._optimizer.lr < 1e-6


def test_the_notebook_repr_links_to_the_estimators_documentation():
    for estimator in (MLPClassifier(), MLPRegressor()):
        link = estimator._get_doc_link()
        assert link.startswith("https://") and type(estimator).__name__ in link
        assert link in estimator._repr_html_()


def test_lbfgs_on_the_digits_runs_on_one_blas_thread(digits, monkeypatch):
    # Full-batch products of the digits' size ran ~20x slower on two threads of a busy machine.
    import glassnet.sklearn.base
    from glassnet.nn.layers import mlp
    from glassnet.training.config import SMALL_FULL_BATCH_PRODUCT, full_batch_blas_threads

    limits = []
    real = glassnet.sklearn.base.threadpool_limits

    def recording(limit, api):
        limits.append(limit)
        return real(limit, api)

    monkeypatch.setattr(glassnet.sklearn.base, "threadpool_limits", recording)
    x, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier(solver="lbfgs", max_iter=5, random_state=0).fit(x, y)
    assert limits == [1]
    network = mlp([64, 100, 10], rng=np.random.default_rng(0))
    rows = SMALL_FULL_BATCH_PRODUCT // (64 * 100)
    assert full_batch_blas_threads(network, rows - 1) == 1
    assert full_batch_blas_threads(network, rows) is None  # long products keep their threads


def test_the_convergence_warning_works_from_code_without_a_source_file(tmp_path):
    # python -c (or a notebook cell): the calling module has no file to show a line from.
    import subprocess
    import sys

    code = (
        "from glassnet.sklearn import MLPClassifier\n"
        "MLPClassifier(max_iter=1, random_state=0).fit([[0.0], [1.0], [2.0]], [0, 1, 0])\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "ConvergenceWarning: Stochastic Optimizer: Maximum iterations (1)" in run.stderr
