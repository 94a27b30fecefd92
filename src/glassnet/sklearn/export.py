"""A fitted estimator or pipeline as a glassnet ``Model``: plain arrays, no pickle.

Supported steps before the estimator: ``StandardScaler`` and ``MinMaxScaler`` (any number,
composed into one affine ``Scaler``) and ``"passthrough"``. Anything else is refused with
an error that names the step; nothing is dropped silently.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.data.preprocessing import Scaler
from glassnet.errors import ConfigError
from glassnet.models.model import Model
from glassnet.nn.layers import Linear, Sequential, from_config


def to_model(estimator: Any) -> Model:
    """``estimator``: a fitted ``MLPClassifier`` / ``MLPRegressor``, or a fitted
    ``sklearn.pipeline.Pipeline`` ending in one. Returns a ``Model`` that predicts what it
    predicts on raw inputs, with ``info["feature_names"]`` when it was fitted on named
    columns (so ``glassnet predict`` matches CSV columns by name)."""
    from sklearn.pipeline import Pipeline

    from glassnet.sklearn.base import NotFittedError
    from glassnet.sklearn.classifier import MLPClassifier
    from glassnet.sklearn.regressor import MLPRegressor

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
    scaler = _scaler(steps, final.n_features_in_)
    names = getattr(steps[0][1] if steps else final, "feature_names_in_", None)
    info: dict[str, Any] = {"estimator": type(final).__name__}
    if names is not None:
        info["feature_names"] = [str(name) for name in names]
    if steps:
        info["pipeline"] = [f"{name}: {type(step).__name__}" for name, step in steps]
    network = _copy(final.network_)
    if isinstance(final, MLPRegressor):
        if final.loss != "squared_error":
            raise ConfigError(
                f"to_model supports loss='squared_error' only; a model file has no "
                f"{final.loss!r} output link yet"
            )
        return Model([network], task="regression", scaler=scaler, info=info)
    if final.out_activation_ == "logistic":
        if final.n_outputs_ > 1:
            raise ConfigError(
                "to_model cannot store a multilabel classifier yet: a model file's classifier "
                "has one label per sample"
            )
        network = _two_logits(network)
    return Model([network], task="classification", classes=final.classes_, scaler=scaler, info=info)


def _scaler(steps: list[tuple[str, Any]], n_features: int) -> Scaler | None:
    """The preprocessing steps as one affine map ``(x - offset) / scale``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    offset: np.ndarray | float = 0.0
    scale: np.ndarray | float = 1.0
    kinds = []
    for name, step in steps:
        if step is None or step == "passthrough":
            continue
        if isinstance(step, StandardScaler):
            mean = step.mean_ if step.with_mean else 0.0
            std = step.scale_ if step.with_std else 1.0
            step_offset, step_scale = mean, std
            kinds.append("standard")
        elif isinstance(step, MinMaxScaler):
            if step.clip:
                raise ConfigError(
                    f"pipeline step {name!r}: MinMaxScaler(clip=True) is not affine; "
                    "to_model supports clip=False"
                )
            # scikit-learn computes x * scale_ + min_, i.e. (x - (-min_ / scale_)) / (1 / scale_).
            step_offset, step_scale = -step.min_ / step.scale_, 1.0 / step.scale_
            kinds.append("minmax")
        elif isinstance(step, ColumnTransformer):
            raise ConfigError(
                f"pipeline step {name!r}: a ColumnTransformer (SimpleImputer, OneHotEncoder) "
                "needs the stored preprocessing record of the tabular-data issue (13), which "
                "has not landed; use StandardScaler / MinMaxScaler steps for now"
            )
        else:
            raise ConfigError(
                f"pipeline step {name!r}: to_model cannot store {type(step).__name__}; "
                "supported steps are StandardScaler and MinMaxScaler"
            )
        # Composing (x - a) / s then (. - b) / t gives (x - (a + b s)) / (s t).
        offset = offset + np.asarray(step_offset, dtype=np.float64) * scale
        scale = scale * np.asarray(step_scale, dtype=np.float64)
    if not kinds:
        return None
    kind = kinds[0] if len(set(kinds)) == 1 else "standard"
    shape = (n_features,)
    return Scaler(
        kind,
        np.broadcast_to(np.asarray(offset, dtype=np.float64), shape).copy(),
        np.broadcast_to(np.asarray(scale, dtype=np.float64), shape).copy(),
    )


def _copy(network: Sequential) -> Sequential:
    """An independent copy (the estimator may keep training its own)."""
    copy = from_config(network.config(), dtype=network.dtype)
    copy.load_state_dict(network.state_dict())
    return copy


def _two_logits(network: Sequential) -> Sequential:
    """A one-logit binary network as a two-logit one: softmax([0, z]) = [1 - s(z), s(z)].

    The model file's classifiers read softmax probabilities; a zero first column makes that
    exactly the logistic unit's probability.
    """
    last = network.layers[-1]
    assert isinstance(last, Linear)
    wide = Linear(last.in_features, 2, dtype=network.dtype, init=last.init)
    wide.weight.value[:, 1:] = last.weight.value
    wide.bias.value[1:] = last.bias.value
    return Sequential(*network.layers[:-1], wide)
