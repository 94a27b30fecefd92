"""A fitted scikit-learn ``ColumnTransformer`` as glassnet's plain-data table record.

``read_column_transformer(name, ct)`` returns ``(table, select, shift)`` with, for any
DataFrame of raw columns, ``ct.transform(frame) == table.transform(frame) @ select + shift``
(``select`` of shape (table.n_outputs, n_ct_outputs)). The record has one fixed layout
(imputed numbers, missing indicators, one-hot codes); ``select`` puts its columns back in the
transformer's order, drops what the transformer drops (an all-missing column, ``drop=``)
and adds what it adds (the "infrequent" column), so that exporting can fold it into the
network's first layer and the file stores only the record.

Branches understood: ``SimpleImputer`` (strategies mean, median, most_frequent, constant;
``add_indicator``) followed by ``StandardScaler`` / ``MinMaxScaler`` on numbers; an optional
``SimpleImputer`` (most_frequent, constant) followed by ``OneHotEncoder`` on categories;
``"passthrough"`` and ``"drop"``. Anything else is refused by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.data.preprocessing import MISSING_CATEGORY, TablePreprocessor, category_text
from glassnet.errors import ConfigError, DataError

IMPUTE_STRATEGIES = ("mean", "median", "most_frequent", "constant")
UNKNOWN_POLICIES = ("ignore", "infrequent_if_exist", "error", "warn")


class _Terms:
    """Each transformer output as a constant plus a sum of ``coef * record output``, the
    record output named ``("numeric", i)``, ``("indicator", i)`` or ``("category", column,
    position)``."""

    def __init__(self) -> None:
        self.outputs: list[tuple[list[tuple[tuple, float]], float]] = []

    def add(self, terms: list[tuple[tuple, float]], constant: float = 0.0) -> None:
        self.outputs.append((terms, constant))


def read_column_transformer(
    name: str, transformer: Any
) -> tuple[TablePreprocessor, np.ndarray, np.ndarray]:
    """The record and the affine map ``(select, shift)`` described in the module docstring."""
    names = getattr(transformer, "feature_names_in_", None)
    if names is None:
        raise ConfigError(
            f"pipeline step {name!r}: the ColumnTransformer was fitted on an array; fit it on "
            "a pandas DataFrame so the model file can find the columns by name"
        )
    names = [str(column) for column in names]
    record = _Record()
    terms = _Terms()
    for branch, fitted, columns in transformer.transformers_:
        used = _column_names(columns, names)
        if fitted == "drop" or not used:
            continue
        where = f"pipeline step {name!r}, transformer {branch!r}"
        start = len(terms.outputs)
        steps = _steps(fitted)
        if steps and _is_encoder(steps[-1]):
            record.categorical_branch(where, used, steps, terms)
        else:
            record.numeric_branch(where, used, steps, terms)
        width = transformer.output_indices_[branch]
        if len(terms.outputs) - start != width.stop - width.start:
            raise ConfigError(f"{where}: its output width was not understood; to_model refuses it")
    roles = {
        column: record.roles.get(column, "dropped: not used by the pipeline") for column in names
    }
    try:
        table = TablePreprocessor(
            record.numeric,
            np.asarray(record.fills, dtype=np.float64),
            record.indicators,
            np.asarray(record.value_offsets + record.indicator_offsets, dtype=np.float64),
            np.asarray(record.value_scales + record.indicator_scales, dtype=np.float64),
            record.categorical,
            record.categories,
            [],
            roles,
        )
    except DataError as exc:
        raise ConfigError(f"pipeline step {name!r}: cannot store it as a table ({exc})") from None
    select, shift = _matrix(table, terms)
    return table, select, shift


class _Record:
    """The lists a ``TablePreprocessor`` is made of, filled branch by branch."""

    def __init__(self) -> None:
        self.numeric: list[str] = []
        self.fills: list[float] = []
        self.value_offsets: list[float] = []
        self.value_scales: list[float] = []
        self.indicators: list[str] = []
        self.indicator_offsets: list[float] = []
        self.indicator_scales: list[float] = []
        self.categorical: list[str] = []
        self.categories: list[list[str]] = []
        self.roles: dict[str, str] = {}

    def numeric_branch(self, where: str, columns: list[str], steps: list[Any], terms: _Terms):
        """[imputer] + affine scalers over ``columns`` (each a number column)."""
        from sklearn.impute import SimpleImputer

        imputer = steps[0] if steps and isinstance(steps[0], SimpleImputer) else None
        scalers = steps[1:] if imputer is not None else steps
        fills = np.zeros(len(columns))
        kept = list(range(len(columns)))
        flagged: list[int] = []
        if imputer is not None:
            _check_imputer(where, imputer, categorical=False)
            fills = np.asarray(imputer.statistics_, dtype=np.float64)
            if not imputer.keep_empty_features:
                # scikit-learn drops a column that was empty in training (statistic NaN).
                kept = [i for i in kept if np.isfinite(fills[i])]
            fills = np.where(np.isfinite(fills), fills, 0.0)
            if imputer.indicator_ is not None:
                flagged = [int(i) for i in imputer.indicator_.features_]
        width = len(kept) + len(flagged)
        offset, scale = affine(where, scalers, width)
        if imputer is None:
            # Without an imputer scikit-learn cannot predict a missing cell at all; the record
            # must fill one, so it fills the value that scales to 0.
            fills = offset.copy()
        base = len(self.numeric)
        for i, column in enumerate(columns):
            self.numeric.append(column)
            self.fills.append(float(fills[i]))
            at = kept.index(i) if i in kept else None
            self.value_offsets.append(float(offset[at]) if at is not None else 0.0)
            self.value_scales.append(float(scale[at]) if at is not None else 1.0)
            strategy = imputer.strategy if imputer is not None else "none"
            self.roles[column] = f"numeric (missing -> {strategy})"
        for i in kept:
            terms.add([(("numeric", base + i), 1.0)])
        for j, i in enumerate(flagged):
            self.indicators.append(columns[i])
            self.indicator_offsets.append(float(offset[len(kept) + j]))
            self.indicator_scales.append(float(scale[len(kept) + j]))
            terms.add([(("indicator", len(self.indicators) - 1), 1.0)])

    def categorical_branch(self, where: str, columns: list[str], steps: list[Any], terms: _Terms):
        """[imputer] + OneHotEncoder over ``columns``."""
        from sklearn.impute import SimpleImputer

        *before, encoder = steps
        if len(before) > 1 or (before and not isinstance(before[0], SimpleImputer)):
            kinds = ", ".join(type(step).__name__ for step in before)
            raise ConfigError(
                f"{where}: to_model cannot store {kinds} before a OneHotEncoder; supported is "
                "an optional SimpleImputer"
            )
        imputer = before[0] if before else None
        if imputer is not None:
            _check_imputer(where, imputer, categorical=True)
        _check_encoder(where, encoder)
        for i, column in enumerate(columns):
            known = _rendered(where, column, encoder.categories_[i])
            infrequent = _infrequent(encoder, i)
            frequent = [c for c in range(len(known)) if c not in infrequent]
            # The output column of each record category; the dropped one has none.
            out_of = {c: frequent.index(c) for c in frequent}
            rare_out = len(frequent) if infrequent else None
            out_of.update({c: rare_out for c in infrequent})
            n_out = len(frequent) + bool(infrequent)
            drop = None if encoder.drop_idx_ is None else encoder.drop_idx_[i]
            if drop is not None:
                out_of = {c: o - (o > drop) for c, o in out_of.items() if o != drop}
                n_out -= 1
            if imputer is not None and MISSING_CATEGORY not in known:
                # A missing cell is encoded as the imputer's fill value would be.
                fill = _rendered(where, column, np.asarray([imputer.statistics_[i]], dtype=object))
                if fill[0] in known:
                    at = known.index(fill[0])
                    known.append(MISSING_CATEGORY)
                    if at in out_of:
                        out_of[len(known) - 1] = out_of[at]
                    if at in frequent:
                        frequent.append(len(known) - 1)
            index = len(self.categorical)
            self.categorical.append(column)
            self.categories.append(known)
            self.roles[column] = "categorical"
            for o in range(n_out):
                unseen_here = encoder.handle_unknown in ("infrequent_if_exist", "warn")
                if o == rare_out and unseen_here:
                    # Unseen values land in the infrequent column too: 1 - (a frequent match).
                    terms.add([(("category", index, c), -1.0) for c in frequent], 1.0)
                else:
                    members = [c for c, at in out_of.items() if at == o]
                    terms.add([(("category", index, c), 1.0) for c in members])


def affine(where: str, steps: list[Any], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Scaling steps composed into one ``(x - offset) / scale`` over ``width`` columns."""
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    offset, scale = np.zeros(width), np.ones(width)
    for step in steps:
        if isinstance(step, StandardScaler):
            step_offset = step.mean_ if step.with_mean else 0.0
            step_scale = step.scale_ if step.with_std else 1.0
        elif isinstance(step, MinMaxScaler):
            if step.clip:
                raise ConfigError(
                    f"{where}: MinMaxScaler(clip=True) is not affine; to_model supports clip=False"
                )
            # scikit-learn computes x * scale_ + min_, i.e. (x - (-min_ / scale_)) / (1 / scale_).
            step_offset, step_scale = -step.min_ / step.scale_, 1.0 / step.scale_
        else:
            raise ConfigError(
                f"{where}: to_model cannot store {type(step).__name__}; supported steps are "
                "SimpleImputer, StandardScaler, MinMaxScaler and OneHotEncoder"
            )
        # Composing (x - a) / s then (. - b) / t gives (x - (a + b s)) / (s t).
        offset = offset + np.asarray(step_offset, dtype=np.float64) * scale
        scale = scale * np.asarray(step_scale, dtype=np.float64)
    return offset, scale


def _matrix(table: TablePreprocessor, terms: _Terms) -> tuple[np.ndarray, np.ndarray]:
    """``select`` (n_record, n_outputs) and ``shift`` (n_outputs,) from the terms."""
    n_numeric, n_flags = len(table.numeric), len(table.indicators)
    starts = np.cumsum([0, *map(len, table.categories)])[:-1] + n_numeric + n_flags
    select = np.zeros((table.n_outputs, len(terms.outputs)))
    shift = np.zeros(len(terms.outputs))
    for out, (parts, constant) in enumerate(terms.outputs):
        shift[out] = constant
        for key, coef in parts:
            if key[0] == "numeric":
                row = key[1]
            elif key[0] == "indicator":
                row = n_numeric + key[1]
            else:
                row = starts[key[1]] + key[2]
            select[row, out] += coef
    return select, shift


def _steps(fitted: Any) -> list[Any]:
    from sklearn.pipeline import Pipeline

    steps = [step for _, step in fitted.steps] if isinstance(fitted, Pipeline) else [fitted]
    return [step for step in steps if step is not None and not _is_passthrough(step)]


def _is_passthrough(step: Any) -> bool:
    from sklearn.preprocessing import FunctionTransformer

    # A fitted remainder="passthrough" is an identity FunctionTransformer.
    identity = isinstance(step, FunctionTransformer) and step.func is None
    return identity or (isinstance(step, str) and step == "passthrough")


def _is_encoder(step: Any) -> bool:
    from sklearn.preprocessing import OneHotEncoder

    return isinstance(step, OneHotEncoder)


def _check_imputer(where: str, imputer: Any, *, categorical: bool) -> None:
    if imputer.strategy not in IMPUTE_STRATEGIES:
        raise ConfigError(
            f"{where}: SimpleImputer(strategy={imputer.strategy!r}) cannot be stored; use one "
            f"of {list(IMPUTE_STRATEGIES)}"
        )
    missing = imputer.missing_values
    if not (isinstance(missing, float) and np.isnan(missing)):
        raise ConfigError(
            f"{where}: SimpleImputer(missing_values={missing!r}) cannot be stored; a model file "
            "treats only empty cells as missing (missing_values=np.nan)"
        )
    if categorical and imputer.add_indicator:
        raise ConfigError(f"{where}: SimpleImputer(add_indicator=True) before a OneHotEncoder")


def _check_encoder(where: str, encoder: Any) -> None:
    if encoder.handle_unknown not in UNKNOWN_POLICIES:
        raise ConfigError(
            f"{where}: OneHotEncoder(handle_unknown={encoder.handle_unknown!r}) cannot be stored"
        )
    if encoder.drop_idx_ is not None and any(
        _infrequent(encoder, i) for i in range(len(encoder.categories_))
    ):
        raise ConfigError(f"{where}: OneHotEncoder with both drop= and infrequent categories")


def _infrequent(encoder: Any, column: int) -> list[int]:
    """Positions in ``categories_[column]`` grouped into the "infrequent" output."""
    found = getattr(encoder, "infrequent_categories_", None)
    if found is None or found[column] is None:
        return []
    known = list(encoder.categories_[column])
    return [known.index(value) for value in found[column]]


def _rendered(where: str, column: str, values: Any) -> list[str]:
    """Categories as the record's text (``category_text``: what a CSV cell becomes)."""
    import pandas as pd

    values = np.asarray(values)
    series = pd.Series(values if values.dtype != object else values.tolist())
    if series.dtype == object:
        series = series.infer_objects()
    text = [str(value) for value in category_text(series)]
    if len(set(text)) != len(text):
        raise ConfigError(
            f"{where}, column {column!r}: categories {list(values)} are not distinct as text "
            "(a model file compares stripped text)"
        )
    return text


def _column_names(columns: Any, names: list[str]) -> list[str]:
    """A ColumnTransformer's column selection as names."""
    if isinstance(columns, str):
        return [columns]
    if isinstance(columns, slice):
        if isinstance(columns.start, str) or isinstance(columns.stop, str):
            start = names.index(columns.start) if columns.start is not None else 0
            stop = names.index(columns.stop) + 1 if columns.stop is not None else len(names)
            return names[start:stop]
        return names[columns]
    selection = np.asarray(columns)
    if selection.dtype == bool:
        return [name for name, keep in zip(names, selection, strict=True) if keep]
    if np.issubdtype(selection.dtype, np.integer):
        return [names[int(i)] for i in selection.reshape(-1)]
    return [str(column) for column in selection.reshape(-1)]
