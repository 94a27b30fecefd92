"""A fitted MLP estimator's network, with the pipeline steps before it, as a glassnet ``Model``.

This module sits below the estimators: it reads a fitted estimator's attributes
(``network_``, ``classes_``, ``out_activation_``, ``n_outputs_``, ``loss``) and imports none
of them, so ``MLPClassifier.to_model`` and ``glassnet.sklearn.to_model`` (``export``, above
the estimators) both use it without an import circle. What is supported is described in
``glassnet.sklearn.export``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.data.preprocessing import Scaler, TablePreprocessor
from glassnet.errors import ConfigError
from glassnet.models.model import Model
from glassnet.nn.layers import Linear, Sequential
from glassnet.nn.registry import from_config
from glassnet.sklearn.columns import affine, read_column_transformer

# The output links of a regressor's network (a classifier's are "softmax" and "logistic").
REGRESSION_OUTPUTS = ("identity", "exp")


def estimator_model(final: Any, steps: list[tuple[str, Any]]) -> Model:
    """The ``Model`` of the fitted estimator ``final`` after the pipeline ``steps``."""
    from sklearn.compose import ColumnTransformer

    info: dict[str, Any] = {"estimator": type(final).__name__}
    if steps:
        info["pipeline"] = [f"{name}: {type(step).__name__}" for name, step in steps]
    network = _copy(final.network_)
    table, scaler = None, None
    tabular = [i for i, (_, step) in enumerate(steps) if isinstance(step, ColumnTransformer)]
    if tabular:
        network, table = _with_table(steps, tabular[0], network, final.n_features_in_)
    else:
        scaler = _scaler(steps, final.n_features_in_)
    names = getattr(steps[0][1] if steps else final, "feature_names_in_", None)
    if names is not None:
        info["feature_names"] = [str(name) for name in names]
    if final.out_activation_ in REGRESSION_OUTPUTS:
        if final.loss != "squared_error":
            raise ConfigError(
                f"to_model supports loss='squared_error' only; a model file has no "
                f"{final.loss!r} output link yet"
            )
        return Model([network], task="regression", scaler=scaler, info=info, table=table)
    if final.out_activation_ == "logistic":
        if final.n_outputs_ > 1:
            raise ConfigError(
                "to_model cannot store a multilabel classifier yet: a model file's classifier "
                "has one label per sample"
            )
        network = _two_logits(network)
    classes = final.classes_
    return Model(
        [network], task="classification", classes=classes, scaler=scaler, info=info, table=table
    )


def _with_table(
    steps: list[tuple[str, Any]], at: int, network: Sequential, n_features: int
) -> tuple[Sequential, TablePreprocessor]:
    """A ColumnTransformer (plus scalers after it) as a table record, whose columns the
    first layer takes through ``select`` and ``shift`` folded into its weights."""
    from sklearn.compose import ColumnTransformer

    before = [name for name, step in steps[:at] if not _skipped(step)]
    if before:
        raise ConfigError(
            f"pipeline step {before[0]!r}: to_model cannot store a step before the "
            "ColumnTransformer; put the ColumnTransformer first"
        )
    name, transformer = steps[at]
    table, select, shift = read_column_transformer(name, transformer)
    if select.shape[1] != n_features:
        raise ConfigError(
            f"pipeline step {name!r}: it makes {select.shape[1]} columns but the estimator "
            f"takes {n_features}; to_model cannot tell how they match"
        )
    after = [step for _, step in steps[at + 1 :] if not _skipped(step)]
    for later, step in steps[at + 1 :]:
        if isinstance(step, ColumnTransformer):
            raise ConfigError(f"pipeline step {later!r}: a second ColumnTransformer")
    offset, scale = affine(f"pipeline steps after {name!r}", after, n_features)
    # x = ((r @ select + shift) - offset) / scale, then x @ W + b = r @ W' + b'.
    select, shift = select / scale, (shift - offset) / scale
    first = network.layers[0]
    if not isinstance(first, Linear):
        raise ConfigError("to_model needs a network that starts with a Linear layer")
    weight = first.weight.value.astype(np.float64)
    wide = Linear(table.n_outputs, first.out_features, dtype=network.dtype, init=first.init)
    wide.weight.value[...] = select @ weight
    wide.bias.value[...] = shift @ weight + first.bias.value
    return Sequential(wide, *network.layers[1:]), table


def _skipped(step: Any) -> bool:
    return step is None or (isinstance(step, str) and step == "passthrough")


def _scaler(steps: list[tuple[str, Any]], n_features: int) -> Scaler | None:
    """The preprocessing steps as one affine map ``(x - offset) / scale``."""
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    kinds = []
    offset, scale = np.zeros(n_features), np.ones(n_features)
    for name, step in steps:
        if _skipped(step):
            continue
        if not isinstance(step, (StandardScaler, MinMaxScaler)):
            raise ConfigError(
                f"pipeline step {name!r}: to_model cannot store {type(step).__name__}; "
                "supported steps are StandardScaler, MinMaxScaler and a ColumnTransformer"
            )
        kinds.append("minmax" if isinstance(step, MinMaxScaler) else "standard")
        step_offset, step_scale = affine(f"pipeline step {name!r}", [step], n_features)
        # Composing (x - a) / s then (. - b) / t gives (x - (a + b s)) / (s t).
        offset, scale = offset + step_offset * scale, scale * step_scale
    if not kinds:
        return None
    kind = kinds[0] if len(set(kinds)) == 1 else "standard"
    return Scaler(kind, offset, scale)


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
