"""A table's preprocessing (``TablePreprocessor``) as ONNX nodes, one graph input per column.

Inputs, one per raw column in ``TablePreprocessor.input_columns`` order, each (n_samples, 1):
numeric columns ``tensor(double)`` with NaN for a missing cell; categorical and boolean
columns ``tensor(string)``, holding the category as glassnet reads it from a CSV (text
stripped, whole numbers without ".0", booleans "True"/"False"), ``""`` or ``"(missing)"`` for
a missing cell. The nodes compute what ``TablePreprocessor.transform`` does, in float64:
median imputation (IsNaN, Where), missing indicators, standardisation (Sub, Div), and
one-hot codes (ai.onnx.ml CategoryMapper, then Equal against 0..k-1: an unseen category
maps to -1 and so to all zeros), then cast to the graph's dtype.

A datetime column is one ``tensor(double)`` input of seconds since 1970-01-01 00:00 UTC
(NaN for a missing cell; a time without a zone is taken as UTC, as glassnet reads it); the
graph computes its parts (year, month, day, weekday with Monday 0, hour) by the proleptic
Gregorian calendar arithmetic of ``civil_from_days`` (H. Hinnant's days-to-date algorithm)
with Floor, in float64, where every step is exact for whole numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.data.columns import parse_dates
from glassnet.data.preprocessing import (
    DATE_PARTS,
    MISSING_CATEGORY,
    OTHER_CATEGORY,
    category_text,
)
from glassnet.errors import ExportError

# Graph output names: a column may not take one of them as its input name.
RESERVED = {"label", "probabilities", "values"}


def table_inputs(table: Any, graph: Any, onnx: Any, batch: str) -> tuple[list[Any], str]:
    """Emit the table's preprocessing; returns the graph inputs (``ValueInfoProto``) and the
    name of the (n_samples, n_outputs) feature tensor in the graph's dtype."""
    clash = sorted(set(table.input_columns) & (RESERVED | set(graph.names)))
    if clash:
        raise ExportError(
            f"column {clash[0]!r} has the name of one of the graph's outputs; rename it in the "
            "data and retrain to export"
        )
    helper, types = onnx.helper, onnx.TensorProto
    graph.scope = "table/"
    inputs, parts = [], []
    parts_of = {}
    for name in table.datetime:
        graph.names.add(name)
        parts_of.update(calendar_parts(graph, name))
    numeric_columns = []
    for name in table.numeric:
        if name in parts_of:
            numeric_columns.append(parts_of[name])
            continue
        graph.names.add(name)
        inputs.append(helper.make_tensor_value_info(name, types.DOUBLE, [batch, 1]))
        numeric_columns.append(name)
    for name in table.datetime:
        inputs.append(helper.make_tensor_value_info(name, types.DOUBLE, [batch, 1]))
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


def calendar_parts(graph: Any, column: str) -> dict[str, str]:
    """Nodes computing ``column.year``, ``.month``, ``.day``, ``.weekday``, ``.hour`` from
    the (n, 1) float64 seconds since 1970-01-01 UTC in ``column``: {part name: tensor}."""

    def constant(value: float) -> str:
        return graph.constant(float(value), "calendar", dtype=np.float64)

    def op(name: str, left: str, right: float | str) -> str:
        right = constant(right) if isinstance(right, (int, float)) else right
        return graph.node(name, [left, right], f"{column}_{name.lower()}")

    def floor_div(left: str, right: float) -> str:
        return graph.node("Floor", [op("Div", left, right)], f"{column}_floor")

    def minus_times(left: str, right: str, factor: float) -> str:  # left - right * factor
        return op("Sub", left, op("Mul", right, factor))

    days = floor_div(column, 86400.0)
    hour = floor_div(minus_times(column, days, 86400.0), 3600.0)
    shifted = op("Add", days, 3.0)  # 1970-01-01 was a Thursday (3, Monday being 0)
    weekday = minus_times(shifted, floor_div(shifted, 7.0), 7.0)
    # civil_from_days: days since 1970-01-01 -> (year, month, day), in 400-year eras.
    z = op("Add", days, 719468.0)
    era = floor_div(z, 146097.0)
    day_of_era = minus_times(z, era, 146097.0)
    leap_days = op(
        "Sub",
        op(
            "Add",
            op("Sub", day_of_era, floor_div(day_of_era, 1460.0)),
            floor_div(day_of_era, 36524.0),
        ),
        floor_div(day_of_era, 146096.0),
    )
    year_of_era = floor_div(leap_days, 365.0)
    day_of_year = op(
        "Sub",
        day_of_era,
        op(
            "Sub",
            op("Add", op("Mul", year_of_era, 365.0), floor_div(year_of_era, 4.0)),
            floor_div(year_of_era, 100.0),
        ),
    )
    from_march = floor_div(op("Add", op("Mul", day_of_year, 5.0), 2.0), 153.0)  # March = 0
    day = op(
        "Add",
        op("Sub", day_of_year, floor_div(op("Add", op("Mul", from_march, 153.0), 2.0), 5.0)),
        1.0,
    )
    month = minus_times(op("Add", from_march, 3.0), floor_div(from_march, 10.0), 12.0)
    year = op(
        "Add",
        op("Add", year_of_era, op("Mul", era, 400.0)),
        floor_div(op("Sub", constant(14.0), month), 12.0),  # January and February: +1
    )
    found = {"year": year, "month": month, "day": day, "weekday": weekday, "hour": hour}
    return {f"{column}.{part}": found[part] for part in DATE_PARTS}


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
    derived = {f"{name}.{part}" for name in table.datetime for part in DATE_PARTS}
    numeric = [
        {"name": n, "type": "double", "role": "numeric"} for n in table.numeric if n not in derived
    ]
    dates = [
        {"name": n, "type": "double", "role": "datetime (seconds since 1970-01-01 UTC)"}
        for n in table.datetime
    ]
    categorical = [
        {"name": n, "type": "string", "role": table.roles.get(n, "categorical")}
        for n in table.categorical
    ]
    return numeric + dates + categorical


def column_feeds(table: Any, frame: Any) -> dict[str, np.ndarray]:
    """The graph's inputs for a DataFrame of raw columns, each (n_rows, 1): what a caller
    without glassnet builds by hand (numbers as float64, NaN where empty; category text)."""
    import pandas as pd

    feeds = {}
    derived = {f"{name}.{part}" for name in table.datetime for part in DATE_PARTS}
    for name in table.numeric:
        if name in derived:
            continue
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
        feeds[name] = values.reshape(-1, 1)
    for name in table.datetime:
        feeds[name] = epoch_seconds(frame[name]).reshape(-1, 1)
    for name in table.categorical:
        feeds[name] = category_text(frame[name]).to_numpy(dtype=object).reshape(-1, 1)
    return feeds


def epoch_seconds(column: Any) -> np.ndarray:
    """A column's dates as float64 seconds since 1970-01-01 UTC, NaN where a cell is not a
    date: a datetime column's graph input."""
    import pandas as pd

    parsed = parse_dates(column)
    return ((parsed - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)).to_numpy(
        dtype=np.float64, na_value=np.nan
    )
