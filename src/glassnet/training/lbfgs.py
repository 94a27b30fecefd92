"""Full-batch training by scipy's L-BFGS-B over glassnet's own objective.

The optimizer is scipy's (``scipy.optimize.minimize``); what it minimizes is
``loss_and_gradients`` (glassnet's layers, loss and L2) on a flat view of the parameters,
weights first and then biases (scikit-learn's packing order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize

from glassnet.errors import ConfigError
from glassnet.nn.layers import Dropout, Sequential
from glassnet.nn.losses import Loss
from glassnet.nn.objective import flat_view, loss_and_gradients
from glassnet.training.history import History
from glassnet.training.loop import check_training_data, release_training_caches


@dataclass
class LbfgsResult:
    """What scipy reported: iterations, objective evaluations, final objective, status."""

    n_iter: int
    n_fun: int
    loss: float
    converged: bool
    message: str


def objective(
    model: Sequential,
    loss: Loss,
    x: np.ndarray,
    y: np.ndarray,
    *,
    l2: float = 0.0,
    sample_weight: np.ndarray | None = None,
):
    """``f(theta) -> (objective, gradient)`` over the flat parameter vector, and ``theta0``.

    ``theta`` is float64 (scipy's); it is written into the model's own dtype.
    """
    params = model.parameters()
    params = [p for p in params if p.decay] + [p for p in params if not p.decay]
    values, grads = flat_view(params)

    def value_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        values[...] = theta
        with np.errstate(over="ignore", invalid="ignore"):
            value = loss_and_gradients(
                model, loss, x, y, l2=l2, n_samples=x.shape[0], sample_weight=sample_weight
            )
        return value, grads.astype(np.float64)

    return value_and_gradient, values.astype(np.float64), values


def fit_lbfgs(
    model: Sequential,
    loss: Loss,
    train: tuple[np.ndarray, np.ndarray],
    *,
    max_iter: int,
    max_fun: int,
    tol: float,
    l2: float = 0.0,
    sample_weight: np.ndarray | None = None,
    history: History | None = None,
) -> LbfgsResult:
    """Minimize the mean loss + L2 (N = len(x)) over all of ``train`` with L-BFGS-B.

    Stops after ``max_iter`` iterations, ``max_fun`` objective evaluations, or a projected
    gradient below ``tol`` (scipy's ``gtol``). The objective after each iteration is
    appended to ``history.train_loss``.
    """
    if any(isinstance(layer, Dropout) and layer.p > 0 for layer in model.layers):
        raise ConfigError("dropout makes the objective random; use solver 'adam' or 'sgd'")
    x, y = check_training_data(model, loss, train, what="training")
    model.train()
    function, theta, values = objective(model, loss, x, y, l2=l2, sample_weight=sample_weight)

    def record(intermediate_result: scipy.optimize.OptimizeResult) -> None:
        if history is not None:
            history.train_loss.append(float(intermediate_result.fun))

    try:
        result = scipy.optimize.minimize(
            function,
            theta,
            method="L-BFGS-B",
            jac=True,
            callback=record,
            options={"maxfun": int(max_fun), "maxiter": int(max_iter), "gtol": float(tol)},
        )
    finally:
        release_training_caches(model, loss)
    values[...] = result.x
    model.eval()
    return LbfgsResult(
        n_iter=int(result.nit),
        n_fun=int(result.nfev),
        loss=float(result.fun),
        converged=result.status == 0,
        message=str(result.message),
    )
