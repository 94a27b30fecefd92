"""A table file as training data: label column and task, column roles, then the split with
the preprocessing fitted on the training rows only.

``load_table_data`` reads and describes (no learning); ``table_splits`` cuts the rows into
train / validation / test, fits a ``TablePreprocessor`` on the train rows, and returns
numeric ``Splits`` ready for the training code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.data.columns import EXPORTABLE_ROLES, ColumnInfo, infer_columns
from glassnet.data.datasets import Dataset, Splits, random_split
from glassnet.data.preprocessing import DATE_PARTS, TablePreprocessor, columnwise, warn
from glassnet.data.tables import read_labelled_table
from glassnet.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

TASKS = ("classification", "regression")
# Whole-number targets with at most this many distinct values are classes (e.g. 0/1, 1..10).
MAX_INTEGER_CLASSES = 20


@dataclass
class TableData:
    """The rows of a table (those with a label), their labels ``y`` (None without a target
    column), each column's role, and the task."""

    frame: pd.DataFrame
    y: np.ndarray | None
    columns: list[ColumnInfo]
    target: str | None
    task: str
    name: str
    # Each row's position among the file's data rows (rows without a label are left out).
    positions: np.ndarray | None = None

    def roles(self) -> dict[str, str]:
        """name -> role of the used columns, and ``dropped: why`` of the others."""
        return {
            info.name: info.role if info.used else f"dropped: {info.note}" for info in self.columns
        }


def infer_task(labels: pd.Series) -> str:
    """``regression`` for numbers with many distinct values or any fraction; otherwise
    (text, booleans, a few whole numbers) ``classification``."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(labels) or not pd.api.types.is_numeric_dtype(labels):
        return "classification"
    values = labels.dropna().to_numpy(dtype=np.float64)
    whole = bool(np.all(np.mod(values, 1.0) == 0.0))
    few = len(np.unique(values)) <= MAX_INTEGER_CLASSES
    return "classification" if whole and few else "regression"


def load_table_data(
    source: str | Path | pd.DataFrame,
    target: str | None,
    *,
    task: str | None = None,
    drop: Iterable[str] = (),
    features: Iterable[str] | None = None,
    categorical: Iterable[str] = (),
    numeric: Iterable[str] = (),
    need_target: bool = True,
) -> TableData:
    """Read the table at ``source`` (a file, or a DataFrame) and describe it: the label
    column ``target`` (rows without a label are dropped with a warning), the task (inferred
    unless given) and the role of every other column. Notes about the file (an encoding
    fallback) are warnings."""
    table, names, target = read_labelled_table(source, target, need_target=need_target)
    source = source if isinstance(source, (str, Path)) else table.name
    frame = table.frame
    if task is not None and task not in TASKS:
        raise DataError(f"unknown task {task!r}; choose classification or regression")
    y, positions = None, np.arange(len(frame))
    if target is not None:
        frame, positions = labelled_rows(frame, target, source, drop=need_target)
        task = task or infer_task(frame[target])
        y = target_values(frame[target], task, where=f"{source}, column {target!r}")
    columns = infer_columns(
        frame, target, drop=drop, features=features, categorical=categorical, numeric=numeric
    )
    for info in columns:
        if not info.used and info.note not in ("--drop", "not in --features"):
            warn(
                f"column {info.name!r} is dropped: {info.note}; keep it with --numeric or "
                "--categorical"
            )
    return TableData(frame, y, columns, target, task or "classification", table.name, positions)


def labelled_rows(
    frame: pd.DataFrame, target: str, source: object, *, drop: bool = True
) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows of ``frame`` that have a ``target`` value (with ``drop``; all rows without)
    and their positions in it; a warning counts the rows left out."""
    labelled = frame[target].notna()
    if not labelled.any():
        raise DataError(f"{source}: no row has a value in the target column {target!r}")
    positions = np.arange(len(frame))
    if not labelled.all() and drop:
        warn(
            f"{int((~labelled).sum())} of {len(frame)} rows of {source} have no {target!r} "
            "value; they are left out"
        )
        positions = positions[labelled.to_numpy()]
        frame = frame[labelled].reset_index(drop=True)
    return frame, positions


def labelled_part(source: str | Path | pd.DataFrame, data: TableData) -> TableData:
    """Another table of ``data``'s kind (a user's own validation or test rows): its rows with
    a label, read as ``data``'s target and task; its columns are taken by name."""
    table, _, target = read_labelled_table(source, data.target)
    where = source if isinstance(source, (str, Path)) else table.name
    frame, positions = labelled_rows(table.frame, target, where)  # type: ignore[arg-type]
    y = target_values(frame[target], data.task, where=f"{where}, column {target!r}")
    return TableData(frame, y, data.columns, target, data.task, table.name, positions)


def target_values(labels: pd.Series, task: str, *, where: str) -> np.ndarray:
    """Labels as a NumPy array: numbers (whole numbers as int64) or text for classes, float64
    for a regression, whose target must be numeric."""
    import pandas as pd

    if task == "regression":
        values = pd.to_numeric(labels, errors="coerce")
        if values.isna().any():
            bad = labels[values.isna()].iloc[0]
            raise DataError(
                f"{where}: {bad!r} is not a number; a regression target must be numeric "
                "(or pass --task classification)"
            )
        return values.to_numpy(dtype=np.float64)
    if pd.api.types.is_bool_dtype(labels) or not pd.api.types.is_numeric_dtype(labels):
        return labels.astype(str).str.strip().to_numpy(dtype=str)
    values = labels.to_numpy(dtype=np.float64)
    return values.astype(np.int64) if np.all(np.mod(values, 1.0) == 0.0) else values


def table_splits(
    data: TableData,
    *,
    validation_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    dtype: InputDtype = "float64",
    release: bool = False,
) -> tuple[Splits, TablePreprocessor]:
    """Train / validation / test splits (stratified by class when classes allow it) whose
    features are the ``TablePreprocessor`` outputs, fitted on the train rows only, in
    ``dtype`` (see ``preprocessed_splits``). The rows are picked by position: no part of the
    table is copied before the preprocessing reads it. With ``release``, a large table's
    columns are dropped from ``data.frame`` as they are preprocessed (the caller needs the
    table no more)."""
    if data.y is None:
        raise DataError("training needs a target column; pass --target COLUMN")
    # The split is made on row numbers, so the same rows of the frame can be picked out.
    rows = Dataset(np.arange(len(data.frame))[:, None], data.y, data.name)
    if data.task == "regression" and np.all(data.y == data.y[0]):
        raise DataError(f"{data.target!r} holds a single value; there is nothing to predict")
    parts = random_split(
        rows,
        validation_fraction=validation_fraction,
        test_fraction=test_fraction,
        seed=seed,
        task=data.task,
    )
    pieces = [
        Piece(part.name, data.frame, part.y, _at(data.positions, part.x[:, 0]), part.x[:, 0])
        for part in (parts.train, parts.validation, parts.test)
    ]
    del rows, parts  # only the pieces' rows are needed now
    return preprocessed_splits(data, pieces, dtype=dtype, release=release)


@dataclass
class Piece:
    """One part of a split before its preprocessing: its name, the table holding its rows
    (``index``: their positions in it; None: all of them), their labels, and their positions
    among the data rows of the file they came from."""

    name: str
    frame: pd.DataFrame
    y: np.ndarray
    positions: np.ndarray | None
    index: np.ndarray | None = None


# A split's inputs dtype: a name, or a function of (training rows, inputs) giving one.
InputDtype = str | Callable[[int, int], str]


def preprocessed_splits(
    data: TableData,
    pieces: list[Piece],
    *,
    dtype: InputDtype = "float64",
    release: bool = False,
) -> tuple[Splits, TablePreprocessor]:
    """``Splits`` of the train, validation and test ``pieces`` through a
    ``TablePreprocessor`` fitted on the train rows alone with ``data``'s column roles, their
    inputs made in ``dtype`` (a function of the training rows and the number of inputs: the
    dtype the network will train in, so a large table's float32 inputs are filled once). A
    used column whose role cannot be exported to ONNX is said now, with a warning, not first
    at export. With ``release``, when every piece is rows of one table of more than
    ``COLUMNWISE_ROWS`` training rows, its columns are dropped as they are preprocessed
    (``TablePreprocessor.transform_parts``)."""
    used = {info.name: info.role for info in data.columns if info.used}
    unexportable = sorted(name for name, role in used.items() if role not in EXPORTABLE_ROLES)
    if unexportable:
        warn(
            f"column(s) {unexportable} ({', '.join(sorted({used[n] for n in unexportable}))}) "
            "cannot be exported to ONNX: a model trained on them predicts in glassnet only; "
            "drop them (--drop) for a model you can export"
        )
    train = pieces[0]
    table = TablePreprocessor.fit(train.frame, used, rows=train.index)
    table.roles = data.roles()
    names = table.output_names()
    if callable(dtype):
        dtype = dtype(len(train.y), table.n_outputs)
    one_table = all(piece.frame is train.frame for piece in pieces)
    if release and one_table and columnwise(len(train.y)):
        parts = [(piece.name, piece.index) for piece in pieces]
        inputs = table.transform_parts(train.frame, parts, dtype=dtype, release=True)
    else:
        inputs = [
            table.transform(piece.frame, what=piece.name, rows=piece.index, dtype=dtype)
            for piece in pieces
        ]
    datasets: list[Any] = [
        Dataset(x, piece.y, piece.name, feature_names=names, rows=piece.positions)
        for x, piece in zip(inputs, pieces, strict=True)
    ]
    return Splits(*datasets, columns=column_records(data.columns, table)), table


def column_records(columns: list[ColumnInfo], table: TablePreprocessor) -> list[dict[str, Any]]:
    """Each column as plain data for ``metrics.json`` and the report: name, role, share of
    missing cells, distinct values, the note (why dropped or forced), and ``learned``, what
    the preprocessing fitted on the training rows keeps of it (numeric: median, mean and
    scale; categorical: the number of categories; datetime: its numeric parts)."""
    numeric = {name: index for index, name in enumerate(table.numeric)}
    categories = dict(zip(table.categorical, table.categories, strict=True))
    records = []
    for info in columns:
        learned: dict[str, Any] = {}
        if info.name in numeric:
            index = numeric[info.name]
            learned = {
                "median": float(table.medians[index]),
                "mean": float(table.means[index]),
                "scale": float(table.scales[index]),
            }
            if info.name in table.indicators:
                learned["missing_indicator"] = True
        elif info.name in categories:
            learned = {"categories": len(categories[info.name])}
        elif info.name in table.datetime:
            learned = {"parts": [f"{info.name}.{part}" for part in DATE_PARTS]}
        records.append(
            {
                "name": info.name,
                "role": info.role,
                "used": info.used,
                "missing": info.missing,
                "distinct": info.distinct,
                "note": info.note,
                "learned": learned,
            }
        )
    return records


def _at(positions: np.ndarray | None, index: np.ndarray) -> np.ndarray | None:
    return None if positions is None else positions[index]
