"""A trained model applied to new data: loaded (checked), fed rows from a file, a name, a
DataFrame or arrays (a table's columns matched by name, through its own preprocessing),
evaluated, asked for predictions, exported."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.data.datasets import Dataset
from glassnet.errors import DataError
from glassnet.models import checkpoint
from glassnet.models.evaluation import Evaluation, RegressionEvaluation, evaluate_model
from glassnet.models.model import Model
from glassnet.workflow.inputs import Status, source_kind


def load_model(path: str | Path | Model, *, expect_digest: str | None = None) -> Model:
    """The model in a model.npz file (checked: damage is refused, no code runs; with
    ``expect_digest``, any content but that one is refused), or the model itself."""
    if isinstance(path, Model):
        return path
    return checkpoint.load(path, expect_digest=expect_digest)


def load_model_with_digest(path: str | Path) -> tuple[Model, str]:
    """The model in a model.npz file and its content digest (what ``expect_digest`` takes)."""
    return checkpoint.load_with_digest(path)


def read_rows(
    model: Model,
    data: Any,
    target: Any = None,
    *,
    need_target: bool,
    data_home: str | None = None,
    status: Status = lambda _: contextlib.nullcontext(),
) -> Dataset:
    """``data`` as rows ``model`` takes: a table (file or DataFrame) through its own
    preprocessing (columns found by name, in any order, extra ones ignored), other files by
    the feature names it remembers, arrays as they are. Labels come from ``target`` (the
    model's own label column by default) when ``need_target``, or when present."""
    kind = source_kind(data)
    if kind == "arrays":
        x = np.asarray(data)
        y = None if target is None or isinstance(target, str) else np.asarray(target)
        if need_target and y is None:
            raise DataError("evaluating arrays needs their labels: evaluate(model, x, target=y)")
        return Dataset(x, y, name="arrays")
    target = target if target is not None else model.info.get("target")
    name = "DataFrame" if kind == "table" else str(data)
    with status(f"loading {name} ..."):
        if model.table is not None:
            return table_rows(model, data, target, need_target=need_target)
        if kind == "table":
            raise DataError("this model was trained on arrays, not on a table's columns")
        return file_rows(model, str(data), target, need_target=need_target, data_home=data_home)


def file_rows(
    model: Model, source: str, target: str | None, *, need_target: bool, data_home: str | None
) -> Dataset:
    """A file or name for a model trained on arrays: CSV columns by the names it remembers,
    images laid out as in training (channels first), from the shape it remembers."""
    from glassnet.data.sources import load_dataset

    features = model.info.get("feature_names") if source.lower().endswith(".csv") else None
    return load_dataset(
        source,
        target,
        features=features,
        need_target=need_target,
        image_shape=model.image_shape,
        image_hint="give images of that shape (or train a model on these)",
        data_home=data_home,
    )


def table_rows(model: Model, source: Any, target: str | None, *, need_target: bool) -> Dataset:
    """A table's rows through the model's own preprocessing; labels from ``target`` when the
    table has that column. Evaluating leaves out rows without a label, with a warning;
    predicting keeps every row."""
    from glassnet.data.preprocessing import warn
    from glassnet.data.tables import TABLE_SUFFIXES, frame_table, read_table, table_suffix
    from glassnet.data.tabular import target_values

    if isinstance(source, (str, Path)) and table_suffix(source) not in TABLE_SUFFIXES:
        raise DataError(
            f"{source}: this model was trained on a table; give it the rows as a "
            f"{', '.join(TABLE_SUFFIXES)} file with the training columns"
        )
    table = read_table(source) if isinstance(source, (str, Path)) else frame_table(source)
    for note in table.notes:
        warn(note)
    frame, y = table.frame, None
    where = source if isinstance(source, (str, Path)) else table.name
    if target is not None and target in frame.columns:
        labelled = frame[target].notna()
        if need_target and not labelled.all():
            warn(f"{int((~labelled).sum())} rows have no {target!r} value; they are left out")
            frame = frame[labelled].reset_index(drop=True)
        if need_target:  # predicting ignores the labels, so gaps in them do not matter
            y = target_values(frame[target], model.task, where=f"{where}, column {target!r}")
    elif need_target:
        raise DataError(
            f"{where} has no label column {target!r} to evaluate against; name it with --target"
        )
    x = model.features(frame, what=str(where))
    return Dataset(x, y if y is None or len(y) == len(x) else None, name=table.name)


def evaluate(
    model: str | Path | Model, data: Any, target: Any = None, *, data_home: str | None = None
) -> Evaluation | RegressionEvaluation:
    """Accuracy, per-class metrics and the confusion matrix (or R², RMSE and MAE of a
    regression) of ``model`` on labelled ``data`` (a file, a DataFrame, or arrays with
    ``target=y``); ``.to_dict()`` gives them as plain data."""
    model = load_model(model)
    rows = (
        data
        if isinstance(data, Dataset)
        else read_rows(model, data, target, need_target=True, data_home=data_home)
    )
    return evaluate_model(model, rows)


def predict(
    model: str | Path | Model, data: Any, *, proba: bool = False, data_home: str | None = None
) -> np.ndarray:
    """``model``'s predictions for every row of ``data`` (a file, a DataFrame or arrays):
    labels (or numbers), or with ``proba`` the class probabilities (n_rows, n_classes)."""
    model = load_model(model)
    rows = (
        data
        if isinstance(data, Dataset)
        else read_rows(model, data, need_target=False, data_home=data_home)
    )
    if proba:
        if model.task != "classification":
            raise DataError("probabilities need a classifier; this model predicts numbers")
        return model.predict_proba(rows.x)
    return model.predict(rows.x)


def export_rows(model: Model, source: str) -> Any:
    """What ``export --check`` runs through both the model and its graph: a table's raw
    columns (a DataFrame), or the feature rows of other data (its label column ignored)."""
    if model.table is not None:  # a table model's graph takes the raw columns
        from glassnet.data.tables import read_table

        frame = read_table(source).frame
        absent = [name for name in model.table.input_columns if name not in frame.columns]
        if absent:
            raise DataError(
                f"--check {source} lacks the column(s) {absent} the model was trained on; "
                "add them (cells may be empty)"
            )
        return frame
    return file_rows(model, source, model.info.get("target"), need_target=False, data_home=None).x


def export(
    model_path: str | Path,
    out: str | Path | None = None,
    *,
    dtype: str | None = None,
    check: str | None = None,
    status: Status = lambda _: contextlib.nullcontext(),
) -> dict[str, Any]:
    """Write the model in ``model_path`` as an ONNX graph (``out``, default beside it with
    .onnx), checked in onnxruntime against glassnet on the rows of ``check`` when given;
    returns what was written, its inputs and outputs, and the comparison."""
    from glassnet.errors import ConfigError
    from glassnet.export.onnx import OPSET, save_onnx
    from glassnet.export.onnx_table import input_layout
    from glassnet.export.verify import save_checked

    model_path = Path(model_path)
    model = checkpoint.load(model_path)
    path = Path(out) if out is not None else model_path.with_suffix(".onnx")
    if path.resolve() == model_path.resolve():
        raise ConfigError(f"--out {path} is the model file itself; choose another name")
    comparison = None
    if check is None:
        with status(f"exporting {model_path} ..."):
            save_onnx(model, path, dtype=dtype)
    else:
        x = export_rows(model, check)
        with status(f"exporting {model_path}, checking it on {check} ..."):
            comparison = save_checked(model, path, x, dtype=dtype)
    if model.table is None:
        inputs: Any = {"input": ["n_samples", model.n_features]}
    else:  # one (n, 1) input per raw column
        inputs = {item["name"]: item["type"] for item in input_layout(model.table)}
    return {
        "model": str(model_path),
        "out": str(path),
        "opset": OPSET,
        "bytes": path.stat().st_size,
        "parameters": sum(
            int(param.value.size) for network in model.networks for param in network.parameters()
        ),
        "dtype": dtype or str(model.dtype),
        "members": len(model.networks),
        "n_features": model.n_features,
        "inputs": inputs,
        "outputs": ["label", "probabilities"] if model.task == "classification" else ["values"],
        "check": None if comparison is None else {"data": check, **vars(comparison)},
    }
