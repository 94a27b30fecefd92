"""A fitted estimator or pipeline as a glassnet ``Model``: plain arrays, no pickle.

Supported steps before the estimator: ``StandardScaler`` and ``MinMaxScaler`` (any number,
composed into one affine ``Scaler``) and ``"passthrough"``; or a ``ColumnTransformer``
(``glassnet.sklearn.columns`` lists its branches) first, optionally followed by those scalers:
it becomes the model's ``TablePreprocessor`` and the affine rest is folded into the first
layer's weights, so ``glassnet predict`` reads the raw columns of a CSV. Anything else is
refused with an error that names the step; nothing is dropped silently.

This module sits above the estimators (it checks what it is given against their classes);
the conversion itself is ``glassnet.sklearn.conversion``, below them.
"""

from __future__ import annotations

from typing import Any

from glassnet.errors import ConfigError
from glassnet.models.model import Model
from glassnet.sklearn.base import NotFittedError
from glassnet.sklearn.classifier import MLPClassifier
from glassnet.sklearn.conversion import estimator_model
from glassnet.sklearn.regressor import MLPRegressor


def to_model(estimator: Any) -> Model:
    """``estimator``: a fitted ``MLPClassifier`` / ``MLPRegressor``, or a fitted
    ``sklearn.pipeline.Pipeline`` ending in one. Returns a ``Model`` that predicts what it
    predicts on raw inputs, with ``info["feature_names"]`` when it was fitted on named
    columns (so ``glassnet predict`` matches CSV columns by name)."""
    from sklearn.pipeline import Pipeline

    steps: list[tuple[str, Any]] = []
    final = estimator
    if isinstance(estimator, Pipeline):
        steps, (_, final) = list(estimator.steps[:-1]), estimator.steps[-1]
    if not isinstance(final, (MLPClassifier, MLPRegressor)):
        raise ConfigError(
            f"to_model needs an MLPClassifier or MLPRegressor (or a pipeline ending in one), "
            f"got {type(final).__name__}"
        )
    if not hasattr(final, "network_"):
        raise NotFittedError(f"this {type(final).__name__} is not fitted yet; call fit first")
    return estimator_model(final, steps)
