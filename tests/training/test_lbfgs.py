"""L-BFGS through scipy over glassnet's objective, checked against scikit-learn's solvers."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from glassnet.nn.layers import Linear, Sequential, mlp
from glassnet.nn.losses import SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy, softmax
from glassnet.nn.objective import flat_view
from glassnet.training.history import History
from glassnet.training.lbfgs import fit_lbfgs, objective


def test_binary_logistic_unit_matches_logistic_regression():
    x, y = load_breast_cancer(return_X_y=True)
    x = StandardScaler().fit_transform(x)
    alpha = 2.0
    model = Sequential(Linear(30, 1, rng=np.random.default_rng(0)))
    history = History()
    result = fit_lbfgs(
        model, SigmoidBinaryCrossEntropy(), (x, y[:, None]), max_iter=2000, max_fun=20000,
        tol=1e-10, l2=alpha, history=history,
    )  # fmt: skip
    assert result.converged and len(history.train_loss) == result.n_iter
    # mean loss + alpha / (2n) ||w||^2 is LogisticRegression's objective with C = 1 / alpha.
    reference = LogisticRegression(C=1 / alpha, tol=1e-12, max_iter=10000).fit(x, y)
    # scipy stops on a relative objective change of ~2e-9 (its default ftol): the weights
    # agree to ~1e-3, and the objective is no worse than at scikit-learn's optimum.
    np.testing.assert_allclose(model.layers[0].weight.value[:, 0], reference.coef_[0], atol=2e-3)
    np.testing.assert_allclose(model.layers[0].bias.value, reference.intercept_, atol=2e-3)
    function, _, _ = objective(model, SigmoidBinaryCrossEntropy(), x, y[:, None], l2=alpha)
    at_reference = function(np.concatenate([reference.coef_[0], reference.intercept_]))[0]
    assert result.loss <= at_reference * (1 + 1e-7)


def test_softmax_matches_multinomial_logistic_regression():
    x, y = load_iris(return_X_y=True)
    x = StandardScaler().fit_transform(x)
    model = mlp([4, 3], rng=np.random.default_rng(0))
    fit_lbfgs(model, SoftmaxCrossEntropy(), (x, y), max_iter=2000, max_fun=20000, tol=1e-10,
              l2=1.0)  # fmt: skip
    reference = LogisticRegression(C=1.0, tol=1e-12, max_iter=10000).fit(x, y)
    np.testing.assert_allclose(softmax(model.forward(x)), reference.predict_proba(x), atol=1e-3)


def test_the_objective_gradient_is_the_finite_difference(rng):
    x, y = rng.standard_normal((6, 3)), rng.integers(0, 2, (6, 2))
    model = mlp([3, 4, 2], activation_name="tanh", rng=rng)
    function, theta, _ = objective(model, SigmoidBinaryCrossEntropy(), x, y, l2=0.3)
    _, grad = function(theta)
    numeric = np.zeros_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = 1e-6
        numeric[i] = (function(theta + step)[0] - function(theta - step)[0]) / 2e-6
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_flat_view_shares_memory_with_the_parameters(rng):
    model = mlp([3, 4, 2], rng=rng)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    values, grads = flat_view(model.parameters())
    assert values.size == sum(v.size for v in before.values())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    values[:] = 0.5
    assert all(np.all(v == 0.5) for v in model.state_dict().values())
    model.parameters()[0].grad[...] = 2.0
    assert grads[: model.parameters()[0].grad.size].tolist() == [2.0] * 12


def test_max_fun_and_max_iter_stop_it(rng):
    x, y = rng.standard_normal((40, 3)), rng.integers(0, 3, 40)
    model = mlp([3, 16, 3], rng=rng)
    result = fit_lbfgs(model, SoftmaxCrossEntropy(), (x, y), max_iter=500, max_fun=5, tol=0.0)
    assert not result.converged and result.n_fun <= 6
    result = fit_lbfgs(model, SoftmaxCrossEntropy(), (x, y), max_iter=3, max_fun=500, tol=0.0)
    assert not result.converged and result.n_iter == 3
    assert result.loss == pytest.approx(
        SoftmaxCrossEntropy().forward(model.forward(x), y), rel=1e-12
    )
