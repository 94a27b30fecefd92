"""``MLPRegressor``: scikit-learn's MLP regressor on glassnet's layers, losses and loop."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if

from glassnet.errors import DataError
from glassnet.sklearn.base import InvalidParameterError, _BaseMLP, stochastic_solver


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multilayer perceptron regressor, scikit-learn's ``MLPRegressor`` on glassnet.

    ``loss="squared_error"``: identity outputs, half mean squared error; ``"poisson"``: the
    log link (predictions ``exp(z)``) with half the Poisson deviance. ``y`` may be
    (n_samples,) or (n_samples, n_outputs). Fitted state as the classifier's.
    """

    _numeric_targets = True

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: float = 10,
        max_fun: int = 15000,
        dropout: float = 0.0,
        dtype: str | None = None,
    ) -> None:
        super().__init__(
            hidden_layer_sizes,
            activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dropout=dropout,
            dtype=dtype,
        )
        self.loss = loss

    def fit(
        self, X: Any, y: Any, sample_weight: Any = None, *, validation_data: Any = None
    ) -> MLPRegressor:
        """Train on ``X`` (n_samples, n_features), dense or sparse, and targets ``y``."""
        return self._fit(X, y, sample_weight, incremental=False, validation_data=validation_data)

    @available_if(stochastic_solver)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over ``(X, y)`` from the current weights (a fresh net the first time)."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _loss_name(self) -> str:
        if self.loss not in ("squared_error", "poisson"):
            raise InvalidParameterError(
                f"loss must be 'squared_error' or 'poisson', got {self.loss!r}"
            )
        return "mse" if self.loss == "squared_error" else "poisson"

    def _encode(self, y: Any, *, first: bool, incremental: bool) -> np.ndarray:
        y = np.asarray(y)
        if first:
            self._target_ndim = y.ndim
        y = y.reshape(len(y), -1)
        if not first and hasattr(self, "network_") and y.shape[1] != self.n_outputs_:
            raise DataError(
                f"y has {y.shape[1]} targets, the model was fitted with {self.n_outputs_}"
            )
        return y.astype(np.float64)

    def _out_activation(self) -> str:
        return "identity" if self.loss == "squared_error" else "exp"

    def _predictions(self, outputs: np.ndarray) -> np.ndarray:
        return np.exp(outputs) if self.loss == "poisson" else outputs

    def _score_outputs(self, outputs: np.ndarray, y: Any, weight: Any) -> float:
        return float(r2_score(y, self._predictions(outputs), sample_weight=weight))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets: (n_samples,) for one target, else (n_samples, n_outputs)."""
        out = self._predictions(self._outputs(X))
        return out[:, 0] if out.shape[1] == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
