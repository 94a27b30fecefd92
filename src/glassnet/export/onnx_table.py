"""A table's preprocessing (``TablePreprocessor``) as ONNX nodes, one graph input per column.

Inputs, one per raw column in ``TablePreprocessor.input_columns`` order, each (n_samples, 1):
numeric columns ``tensor(double)`` with NaN for a missing cell; categorical and boolean
columns ``tensor(string)``, holding the category as glassnet reads it from a CSV (text
stripped, whole numbers without ".0", booleans "True"/"False"), ``""`` or ``"(missing)"`` for
a missing cell. The nodes compute what ``TablePreprocessor.transform`` does, in float64:
median imputation (IsNaN, Where), missing indicators, standardisation (Sub, Div), and
one-hot codes (ai.onnx.ml CategoryMapper, then Equal against 0..k-1: an unseen category
maps to -1 and so to all zeros), then cast to the graph's dtype.

Datetime columns are refused: their parts (year, weekday, ...) need calendar arithmetic
that has no ONNX operator.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.data.preprocessing import MISSING_CATEGORY, OTHER_CATEGORY, category_text
from glassnet.errors import ExportError

# Graph output names: a column may not take one of them as its input name.
RESERVED = {"label", "probabilities", "values"}


def table_inputs(table: Any, graph: Any, onnx: Any, batch: str) -> tuple[list[Any], str]:
    """Emit the table's preprocessing; returns the graph inputs (``ValueInfoProto``) and the
    name of the (n_samples, n_outputs) feature tensor in the graph's dtype."""
    if table.datetime:
        raise ExportError(
            f"column {table.datetime[0]!r} is a datetime column, which glassnet cannot export "
            "to ONNX yet (its parts need calendar arithmetic); retrain without it, or give its "
            "parts (year, month, ...) as numeric columns"
        )
    clash = sorted(set(table.input_columns) & (RESERVED | set(graph.names)))
    if clash:
        raise ExportError(
            f"column {clash[0]!r} has the name of one of the graph's outputs; rename it in the "
            "data and retrain to export"
        )
    helper, types = onnx.helper, onnx.TensorProto
    graph.scope = "table/"
    inputs, parts = [], []
    numeric_columns = []
    for name in table.numeric:
        graph.names.add(name)
        inputs.append(helper.make_tensor_value_info(name, types.DOUBLE, [batch, 1]))
        numeric_columns.append(name)
    if numeric_columns:
        values = graph.node("Concat", numeric_columns, "numeric", axis=1)
        missing = graph.node("IsNaN", [values], "missing")
        medians = graph.constant(table.medians, "medians", dtype=np.float64)
        filled = graph.node("Where", [missing, medians, values], "imputed")
        numeric = [filled]
        if table.indicators:
            where = [table.numeric.index(name) for name in table.indicators]
            columns = graph.constant(where, "indicator_columns", dtype=np.int64)
            flags = graph.node("Gather", [missing, columns], "missing_flags", axis=1)
            numeric.append(graph.node("Cast", [flags], "indicators", to=types.DOUBLE))
        joined = graph.node("Concat", numeric, "numeric_and_flags", axis=1)
        shifted = graph.node(
            "Sub", [joined, graph.constant(table.means, "means", dtype=np.float64)]
        )
        scales = graph.constant(table.scales, "scales", dtype=np.float64)
        parts.append(graph.node("Div", [shifted, scales], "standardised"))
    for name, categories in zip(table.categorical, table.categories, strict=True):
        graph.names.add(name)
        inputs.append(helper.make_tensor_value_info(name, types.STRING, [batch, 1]))
        parts.append(one_hot(graph, name, categories, types))
    features = parts[0] if len(parts) == 1 else graph.node("Concat", parts, "table", axis=1)
    out = graph.node(
        "Cast", [features], "features", to=helper.np_dtype_to_tensor_dtype(graph.dtype)
    )
    graph.scope = ""
    return inputs, out


def one_hot(graph: Any, column: str, categories: list[str], types: Any) -> str:
    """(n, 1) strings -> (n, k) float64 0/1 over ``categories``; unseen -> all zeros, or the
    OTHER_CATEGORY's input when the column has one (a column of many categories)."""
    strings, codes = list(categories), list(range(len(categories)))
    if MISSING_CATEGORY in categories:  # an empty string is a missing cell too
        strings.append("")
        codes.append(categories.index(MISSING_CATEGORY))
    index = graph.node(
        "CategoryMapper",
        [column],
        f"{column}_code",
        domain="ai.onnx.ml",
        cats_strings=strings,
        cats_int64s=codes,
        default_int64=categories.index(OTHER_CATEGORY) if OTHER_CATEGORY in categories else -1,
    )
    known = graph.constant(np.arange(len(categories))[None, :], "codes", dtype=np.int64)
    hot = graph.node("Equal", [index, known], f"{column}_is")
    return graph.node("Cast", [hot], f"{column}_onehot", to=types.DOUBLE)


def input_layout(table: Any) -> list[dict[str, str]]:
    """The graph's inputs as plain data for the model's metadata: name, type, role."""
    numeric = [{"name": n, "type": "double", "role": "numeric"} for n in table.numeric]
    categorical = [
        {"name": n, "type": "string", "role": table.roles.get(n, "categorical")}
        for n in table.categorical
    ]
    return numeric + categorical


def column_feeds(table: Any, frame: Any) -> dict[str, np.ndarray]:
    """The graph's inputs for a DataFrame of raw columns, each (n_rows, 1): what a caller
    without glassnet builds by hand (numbers as float64, NaN where empty; category text)."""
    import pandas as pd

    feeds = {}
    for name in table.numeric:
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
        feeds[name] = values.reshape(-1, 1)
    for name in table.categorical:
        feeds[name] = category_text(frame[name]).to_numpy(dtype=object).reshape(-1, 1)
    return feeds
