"""A trained model as a user holds it: network(s), preprocessing and class labels."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.data.checks import check_features, check_known_labels, check_targets
from glassnet.data.images import describe, image_array
from glassnet.data.preprocessing import Scaler, TablePreprocessor
from glassnet.errors import DataError
from glassnet.nn.layers import Sequential
from glassnet.nn.losses import softmax

# Rows predicted at a time.
CHUNK = 2048


@dataclass
class Model:
    """One network or an ensemble of networks sharing inputs and outputs.

    ``predict_proba`` averages the members' class probabilities (one member: its own).
    ``classes`` maps output index -> original label; ``scaler`` is applied to raw inputs.
    ``target_scaler`` (regression) maps the networks' standardised outputs back to the
    target's units. ``table`` turns a DataFrame's columns into the raw inputs
    (``features(frame)``); arrays skip it.
    """

    networks: list[Sequential]
    task: str = "classification"
    classes: np.ndarray | None = None
    scaler: Scaler | None = None
    info: dict[str, Any] = field(default_factory=dict)
    target_scaler: Scaler | None = None
    table: TablePreprocessor | None = None

    @property
    def network(self) -> Sequential:
        return self.networks[0]

    @property
    def n_features(self) -> int:
        return self.network.in_features

    @property
    def dtype(self) -> np.dtype:
        return self.network.dtype

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """``(height, width, channels)`` of the images the model was trained on (as
        ``--image-shape`` takes it), None for a model of other rows."""
        shape = self.info.get("image_shape")
        if shape is None:
            return None
        height, width = (int(side) for side in shape)
        return height, width, int(self.info.get("channels", 1))

    def features(self, frame: Any, *, what: str = "data") -> np.ndarray:
        """The raw inputs (n_rows, n_features) of a DataFrame, through ``table``."""
        if self.table is None:
            raise DataError("this model was trained on arrays, not on a table's columns")
        from glassnet.data.tables import with_text_names

        return self.table.transform(with_text_names(frame), what=what)

    def prepare(self, x: Any) -> np.ndarray:
        """Check raw inputs, scale them, and cast to the model's dtype. A DataFrame goes
        through the table preprocessing (``features``); images ``(n, h, w)`` or channels-last
        ``(n, h, w, c)`` become rows as in training (``glassnet.data.images``)."""
        if self.table is not None and _is_frame(x):
            x = self.features(x)
        elif np.ndim(x) in (3, 4):
            x = self._image_rows(np.asarray(x))
        x = check_features(x, n_features=self.n_features)
        if self.scaler is not None:
            x = self.scaler.transform(x)
        return np.ascontiguousarray(x, dtype=self.dtype)

    def _image_rows(self, images: np.ndarray) -> np.ndarray:
        rows, shape, channels = image_array(images, what="the images")
        wanted = self.image_shape
        if wanted is not None and (*shape, channels) != wanted:
            raise DataError(
                f"the images are {describe((*shape, channels))} (height x width x channels), "
                f"but this model takes {describe(wanted)}"
            )
        return rows

    def outputs(self, x: Any) -> np.ndarray:
        """Mean over members of softmax probabilities (classification) or outputs (regression)."""
        x = self.prepare(x)
        total = None
        for network in self.networks:
            network.eval()
            # In chunks: a convolution's im2col holds channels * kernel**2 values per pixel.
            out = np.concatenate(
                [network.forward(x[start : start + CHUNK]) for start in range(0, len(x), CHUNK)]
            )
            out = softmax(out) if self.task == "classification" else out
            total = out if total is None else total + out
        mean = total / len(self.networks)  # type: ignore[operator]
        if self.target_scaler is not None:
            mean = self.target_scaler.inverse_transform(mean.astype(np.float64))
        return mean

    def predict_proba(self, x: Any) -> np.ndarray:
        return self.outputs(x)

    def predict(self, x: Any) -> np.ndarray:
        return self.predictions_from(self.outputs(x))

    def predictions_from(self, out: np.ndarray) -> np.ndarray:
        """What ``predict`` answers for these ``outputs`` (class probabilities or numbers):
        so probabilities already computed give their labels without running the networks
        again."""
        if self.task != "classification":
            return out[:, 0] if out.shape[1] == 1 else out
        index = out.argmax(axis=1)
        return self.classes[index] if self.classes is not None else index

    def to_onnx(self, path: str | os.PathLike[str], *, dtype: str | None = None) -> Path:
        """Write this model, preprocessing included, as an ONNX file for onnxruntime.

        ``dtype`` is the graph's (default: the model's). Needs the optional ``onnx`` extra
        (``pip install 'glassnet[onnx]'``); ``glassnet.export.onnx`` describes the graph.
        """
        from glassnet.export.onnx import save_onnx

        return save_onnx(self, path, dtype=dtype)

    def _repr_html_(self) -> str:
        """The model as a notebook shows it: task, layers, classes and the table columns
        its preprocessing takes."""
        import html

        layers = " → ".join(type(layer).__name__ for layer in self.network.layers)
        count = sum(int(p.value.size) for net in self.networks for p in net.parameters())
        rows = [
            ("task", self.task),
            ("networks", f"{len(self.networks)} × {layers}"),
            ("parameters", f"{count:,}"),
            ("inputs", f"{self.n_features} features ({self.dtype})"),
        ]
        if self.classes is not None:
            shown = ", ".join(map(str, self.classes[:10].tolist()))
            rows.append(("classes", shown + (", ..." if len(self.classes) > 10 else "")))
        if self.table is not None:
            rows.append(
                (
                    "columns",
                    ", ".join(f"{name} ({role})" for name, role in self.table.roles.items()),
                )
            )
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(name)}</th>"
            f"<td style='text-align:left'>{html.escape(str(value))}</td></tr>"
            for name, value in rows
        )
        return f"<table><caption>glassnet Model</caption>{cells}</table>"

    def score(self, x: Any, y: Any) -> float:
        """Accuracy for classification, R^2 for regression (scikit-learn's ``score``).

        Every label in ``y`` must be one the model was trained on: an unseen label is a
        DataError, not a silent miss.
        """
        x = self.features(x) if self.table is not None and _is_frame(x) else x
        x = check_features(x, n_features=self.n_features)
        if self.task == "classification":
            n_outputs = self.network.output_features(self.n_features)
            classes = self.classes if self.classes is not None else np.arange(n_outputs)
            indices = check_known_labels(y, classes, n_samples=len(x))
            return float(np.mean(self.outputs(x).argmax(axis=1) == indices))
        y = check_targets(y, len(x))
        predicted = self.predict(x)
        predicted = predicted.reshape(y.shape)
        residual = np.sum((y - predicted) ** 2)
        total = np.sum((y - y.mean(axis=0)) ** 2)
        return float(1.0 - residual / total) if total > 0 else 0.0


def _is_frame(x: Any) -> bool:
    """A pandas DataFrame (pandas is not imported to ask)."""
    return hasattr(x, "columns") and hasattr(x, "iloc")
