"""How well a model does on labelled data: for a classifier accuracy, per-class metrics and
the confusion matrix; for a regressor R^2, RMSE and MAE.

An ``Evaluation`` holds the true class indices and the predicted probabilities, a
``RegressionEvaluation`` the true and predicted values; every number in the CLI tables,
``metrics.json`` and the report is computed from those two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from glassnet.data.checks import check_known_labels, check_targets
from glassnet.data.datasets import Dataset
from glassnet.errors import DataError
from glassnet.models.model import Model


@dataclass
class Evaluation:
    """``y_true`` (n,) indexes ``classes``; ``proba`` (n, n_classes) are predicted probabilities."""

    classes: np.ndarray
    y_true: np.ndarray
    proba: np.ndarray

    @property
    def y_pred(self) -> np.ndarray:
        return self.proba.argmax(axis=1)

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.y_pred == self.y_true))

    def confusion_matrix(self) -> np.ndarray:
        """Counts (n_classes, n_classes): row = true class, column = predicted class."""
        # Counted here rather than by scikit-learn: importing sklearn.metrics costs a whole
        # second of every `glassnet run`.
        n = len(self.classes)
        cells = np.asarray(self.y_true, dtype=np.intp) * n + self.y_pred
        return np.bincount(cells, minlength=n * n).reshape(n, n)

    def per_class(self) -> list[dict[str, Any]]:
        """Precision, recall, F1 and support of each class (0 where a class is never predicted)."""
        matrix = self.confusion_matrix()
        hits, support, predicted = np.diag(matrix), matrix.sum(axis=1), matrix.sum(axis=0)

        def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
            return np.divide(
                numerator, denominator, out=np.zeros(len(matrix)), where=denominator > 0
            )

        # F1 = 2 tp / (2 tp + fp + fn) = 2 tp / (support + predicted): no 0/0 from p = r = 0.
        precision, recall = ratio(hits, predicted), ratio(hits, support)
        f1 = ratio(2 * hits, support + predicted)
        columns = zip(self.classes.tolist(), precision, recall, f1, support, strict=True)
        return [
            {
                "class": label,
                "precision": float(p),
                "recall": float(r),
                "f1": float(f),
                "support": int(s),
            }
            for label, p, r, f, s in columns
        ]

    def worst(self, k: int) -> np.ndarray:
        """Indices of up to ``k`` misclassified samples, most confidently wrong first."""
        wrong = np.flatnonzero(self.y_pred != self.y_true)
        true_proba = self.proba[wrong, self.y_true[wrong]]
        return wrong[np.argsort(true_proba, kind="stable")][:k]

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "n_samples": int(len(self.y_true)),
            "classes": self.classes.tolist(),
            "per_class": self.per_class(),
            "confusion_matrix": self.confusion_matrix().tolist(),
        }


@dataclass
class RegressionEvaluation:
    """``y_true`` and ``y_pred``, both (n,), in the target's own units."""

    y_true: np.ndarray
    y_pred: np.ndarray

    @property
    def residuals(self) -> np.ndarray:
        return self.y_true - self.y_pred

    @property
    def r2(self) -> float:
        """1 - SS_res / SS_tot; 0 when the targets are all equal (nothing to explain)."""
        total = float(np.sum((self.y_true - self.y_true.mean()) ** 2))
        return 1.0 - float(np.sum(self.residuals**2)) / total if total > 0 else 0.0

    @property
    def rmse(self) -> float:
        return float(np.sqrt(np.mean(self.residuals**2)))

    @property
    def mae(self) -> float:
        return float(np.mean(np.abs(self.residuals)))

    def to_dict(self) -> dict[str, Any]:
        return {"r2": self.r2, "rmse": self.rmse, "mae": self.mae, "n_samples": len(self.y_true)}


def class_indices(classes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Position of each label in ``classes``; a label the model never saw is a DataError."""
    return check_known_labels(labels, classes)


def evaluate_model(model: Model, data: Dataset) -> Evaluation | RegressionEvaluation:
    """Predict ``data`` with ``model`` and keep what the metrics need."""
    if data.y is None:
        raise DataError(f"{data.name} has no labels to evaluate against")
    if model.task == "regression":
        y_true = check_targets(data.y, len(data.x), what=f"targets of {data.name}")
        return RegressionEvaluation(y_true.astype(np.float64), model.predict(data.x))
    if model.classes is None:
        raise DataError("this model has no class labels; evaluation needs a classifier")
    y_true = class_indices(model.classes, data.y)
    return Evaluation(model.classes, y_true, model.predict_proba(data.x))
