"""Checking an exported graph against the model it came from, in onnxruntime, before it is
written: largest difference of the probabilities (or values) and agreement of the labels."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.atomic import write_atomic
from glassnet.errors import ExportError
from glassnet.export.onnx import INSTALL_HINT, to_onnx
from glassnet.export.onnx_table import column_feeds

# Probabilities are in [0, 1]; values are compared relative to their largest magnitude.
TOLERANCE = 1e-5


@dataclass
class Comparison:
    """How an exported graph's outputs on ``rows`` inputs compare with the model's."""

    rows: int
    max_difference: float
    label_mismatches: int

    @property
    def passed(self) -> bool:
        return self.max_difference <= TOLERANCE and self.label_mismatches == 0


def compare(model: Any, graph_bytes: bytes, x: np.ndarray) -> Comparison:
    """Run the serialized graph in onnxruntime on raw features ``x`` (n_samples,
    n_features), or a DataFrame of raw columns for a table model, and compare with
    ``model.predict_proba`` / ``predict`` (or ``outputs``)."""
    try:
        import onnxruntime
    except ImportError:
        raise ExportError(f"checking an export needs onnxruntime: {INSTALL_HINT}") from None
    try:
        session = onnxruntime.InferenceSession(graph_bytes, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's errors derive from Exception only
        message = " ".join(str(exc).split())
        raise ExportError(
            f"onnxruntime cannot run the exported graph ({message}); its CPU kernels lack "
            "some float64 operators (Conv): try exporting with dtype float32"
        ) from None
    if getattr(model, "table", None) is not None and hasattr(x, "columns"):
        feed = column_feeds(model.table, x)  # a table's raw columns, one input each
        x = model.features(x)
    else:
        dtype = np.float32 if session.get_inputs()[0].type == "tensor(float)" else np.float64
        feed = {"input": np.asarray(x, dtype=dtype)}
    if model.task == "classification":
        labels, probabilities = session.run(["label", "probabilities"], feed)
        difference = np.max(np.abs(probabilities - model.predict_proba(x)), initial=0.0)
        mismatches = int(np.sum(labels != np.asarray(model.predict(x), dtype=labels.dtype)))
        return Comparison(len(x), float(difference), mismatches)
    (values,) = session.run(["values"], feed)
    expected = model.outputs(x)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    return Comparison(len(x), float(np.max(np.abs(values - expected), initial=0.0)) / scale, 0)


def save_checked(
    model: Any, path: str | os.PathLike[str], x: np.ndarray, *, dtype: str | None = None
) -> Comparison:
    """Export ``model`` to ``path`` only if, on ``x``, onnxruntime matches it (TOLERANCE,
    identical labels); otherwise raise ExportError and write nothing."""
    graph_bytes = to_onnx(model, dtype=dtype).SerializeToString()
    result = compare(model, graph_bytes, x)
    if not result.passed:
        raise ExportError(
            f"the exported graph differs from glassnet on {result.rows} rows (largest "
            f"difference {result.max_difference:.2e}, allowed {TOLERANCE:g}; "
            f"{result.label_mismatches} labels differ); nothing was written"
        )
    write_atomic(Path(path), lambda handle: handle.write(graph_bytes))
    return result
