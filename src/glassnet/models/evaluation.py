"""How well a model does on labelled data: for a classifier accuracy, balanced accuracy,
macro-F1 (ROC AUC and average precision for two classes), per-class metrics and the confusion
matrix; for a regressor R^2, RMSE and MAE. Each score stands beside the trivial baseline's
(always the training majority class; always the training mean), and ``warnings()`` says so
when the model does not beat it.

An ``Evaluation`` holds the true class indices and the predicted probabilities, a
``RegressionEvaluation`` the true and predicted values; every number in the CLI tables,
``metrics.json`` and the report is computed from those two (and the training labels' class
counts or mean, which the model file keeps in ``info``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from warnings import catch_warnings, simplefilter

import numpy as np

from glassnet.data.checks import check_known_labels, check_targets
from glassnet.data.datasets import Dataset
from glassnet.errors import DataError
from glassnet.models.model import Model

# The majority class holding at least this share of the training rows makes the data
# imbalanced enough for the warnings to suggest class weights.
IMBALANCED_SHARE = 0.8
# A balanced accuracy this far above the baseline's is worth saying beside a lost accuracy.
CLEAR_LEAD = 0.05
# On imbalanced data, a class the model finds less than this share of (its recall) makes the
# warnings suggest class weights even when the model beats the baseline.
MIN_RECALL = 0.5


@dataclass
class Evaluation:
    """``y_true`` (n,) indexes ``classes``; ``proba`` (n, n_classes) are predicted probabilities.

    ``train_counts`` (n_classes,), the training rows of each class, defines the baseline
    (always the training majority class); without it there is no baseline.
    """

    classes: np.ndarray
    y_true: np.ndarray
    proba: np.ndarray
    train_counts: np.ndarray | None = None
    class_weight: str | None = None  # the training's class weighting ("balanced" or None)

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

    def scores(self, y_pred: np.ndarray | None = None, proba: np.ndarray | None = None):
        """accuracy, balanced_accuracy and macro_f1 of ``y_pred`` (default: the model's), and
        for two classes roc_auc and average_precision of ``proba`` (the second class is the
        positive one), computed by scikit-learn; a score the test rows cannot define (AUC
        with one class present) is None."""
        from sklearn import metrics

        y_pred = self.y_pred if y_pred is None else y_pred
        proba = self.proba if proba is None else proba
        labels = np.arange(len(self.classes))
        with catch_warnings():
            # A class absent from the test rows: scikit-learn warns and scores what it can.
            simplefilter("ignore")
            scores: dict[str, float | None] = {
                "accuracy": float(metrics.accuracy_score(self.y_true, y_pred)),
                "balanced_accuracy": float(metrics.balanced_accuracy_score(self.y_true, y_pred)),
                "macro_f1": float(
                    metrics.f1_score(
                        self.y_true, y_pred, labels=labels, average="macro", zero_division=0
                    )
                ),
            }
            if len(self.classes) == 2:
                both = len(np.unique(self.y_true)) == 2
                positive = self.y_true == 1
                scores["roc_auc"] = (
                    float(metrics.roc_auc_score(positive, proba[:, 1])) if both else None
                )
                scores["average_precision"] = (
                    float(metrics.average_precision_score(positive, proba[:, 1])) if both else None
                )
        return scores

    @property
    def baseline_class(self) -> int | None:
        """The index of the training majority class (the first of equal counts), or None."""
        if self.train_counts is None or len(self.train_counts) != len(self.classes):
            return None
        return int(np.argmax(self.train_counts))

    def baseline_scores(self) -> dict[str, float | None] | None:
        """``scores()`` of always answering the training majority class, its probabilities
        the training class shares; None without ``train_counts``."""
        majority = self.baseline_class
        if majority is None:
            return None
        counts = np.asarray(self.train_counts, dtype=np.float64)
        shares = np.broadcast_to(counts / counts.sum(), self.proba.shape)
        return self.scores(np.full(len(self.y_true), majority), shares)

    def warnings(self, scores: dict[str, Any] | None = None) -> list[str]:
        """Plain sentences for a model that does no better than the baseline, or predicts a
        single class, on these rows; [] when neither holds."""
        scores = scores or self.scores()
        baseline = self.baseline_scores()
        found: list[str] = []
        majority = self.baseline_class
        if baseline is not None and majority is not None:
            label = self.classes[majority]
            balanced, chance = scores["balanced_accuracy"], baseline["balanced_accuracy"]
            if scores["accuracy"] <= baseline["accuracy"]:
                tail = (
                    f"; its balanced accuracy {balanced:.4f} does beat that rule's {chance:.4f}"
                    if balanced >= chance + CLEAR_LEAD
                    else f", nor its balanced accuracy {balanced:.4f} that rule's {chance:.4f}"
                )
                found.append(
                    f"the model does not beat the baseline: its accuracy {scores['accuracy']:.4f}"
                    f" is no better than always answering {str(label)!r} "
                    f"({baseline['accuracy']:.4f}){tail}"
                )
        predicted = np.unique(self.y_pred)
        if len(predicted) == 1 and len(self.classes) > 1:
            missed = int(np.sum(self.y_true != predicted[0]))
            found.append(
                f"the model predicts only {str(self.classes[predicted[0]])!r}: {missed} of "
                f"{len(self.y_true)} rows of the other classes are never found"
            )
        if self.imbalanced and self.class_weight is None:
            matrix = self.confusion_matrix()
            support = matrix.sum(axis=1)
            recall = np.divide(
                np.diag(matrix), support, out=np.ones(len(support)), where=support > 0
            )
            missed = int(np.argmin(recall))
            if found or recall[missed] < MIN_RECALL:
                share = float(np.max(self.train_counts) / np.sum(self.train_counts))  # type: ignore[arg-type]
                finds = (
                    f"the model finds {matrix[missed, missed]} of the {support[missed]} "
                    f"{str(self.classes[missed])!r} rows; "
                    if recall[missed] < MIN_RECALL
                    else ""
                )
                found.append(
                    f"the classes are imbalanced ({share:.0%} of the training rows are one "
                    f"class): {finds}judge by balanced accuracy and macro-F1, and try "
                    "--class-weight balanced"
                )
        return found

    @property
    def imbalanced(self) -> bool:
        if self.train_counts is None:
            return False
        counts = np.asarray(self.train_counts, dtype=np.float64)
        return bool(counts.sum() > 0 and counts.max() / counts.sum() >= IMBALANCED_SHARE)

    def to_dict(self) -> dict[str, Any]:
        scores = self.scores()
        return {
            **scores,
            "n_samples": int(len(self.y_true)),
            "classes": self.classes.tolist(),
            "per_class": self.per_class(),
            "confusion_matrix": self.confusion_matrix().tolist(),
            "baseline": self.baseline_record(),
            "warnings": self.warnings(scores),
        }

    def baseline_record(self) -> dict[str, Any] | None:
        """What the baseline is and its scores, for ``metrics.json``; None without one."""
        scores = self.baseline_scores()
        if scores is None:
            return None
        label = self.classes[self.baseline_class].item()  # type: ignore[index]
        rule = f"always {str(label)!r} (the training majority class)"
        return {"rule": rule, "class": label, **scores}


@dataclass
class RegressionEvaluation:
    """``y_true`` and ``y_pred``, both (n,), in the target's own units; ``train_mean``, the
    training targets' mean, is the baseline's constant prediction (None: no baseline)."""

    y_true: np.ndarray
    y_pred: np.ndarray
    train_mean: float | None = None

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

    def scores(self, y_pred: np.ndarray | None = None) -> dict[str, float]:
        """r2, rmse and mae of ``y_pred`` (default: the model's), computed by scikit-learn."""
        from sklearn import metrics

        y_pred = self.y_pred if y_pred is None else y_pred
        # scikit-learn scores constant targets 1.0 or 0.0 by the fit; with nothing to explain
        # glassnet says 0, as ``r2`` does.
        r2 = metrics.r2_score(self.y_true, y_pred) if np.ptp(self.y_true) > 0 else 0.0
        return {
            "r2": float(r2),
            "rmse": float(np.sqrt(metrics.mean_squared_error(self.y_true, y_pred))),
            "mae": float(metrics.mean_absolute_error(self.y_true, y_pred)),
        }

    def baseline_scores(self) -> dict[str, float] | None:
        """``scores()`` of always predicting the training mean; None without it."""
        if self.train_mean is None:
            return None
        return self.scores(np.full(len(self.y_true), float(self.train_mean)))

    def warnings(self, scores: dict[str, Any] | None = None) -> list[str]:
        """A sentence when the model's RMSE is no better than the baseline's; [] otherwise."""
        scores = scores or self.scores()
        baseline = self.baseline_scores()
        if baseline is None or scores["rmse"] < baseline["rmse"]:
            return []
        return [
            f"the model does not beat the baseline: its RMSE {scores['rmse']:.4g} (R² "
            f"{scores['r2']:.4f}) is no better than always predicting the training mean "
            f"{self.train_mean:.4g} (RMSE {baseline['rmse']:.4g}, R² {baseline['r2']:.4f})"
        ]

    def to_dict(self) -> dict[str, Any]:
        scores = self.scores()
        baseline = self.baseline_scores()
        return {
            **scores,
            "n_samples": len(self.y_true),
            "baseline": None
            if baseline is None
            else {
                "rule": "always the training mean",
                "value": float(self.train_mean),  # type: ignore[arg-type]
                **baseline,
            },
            "warnings": self.warnings(scores),
        }


def class_indices(classes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Position of each label in ``classes``; a label the model never saw is a DataError."""
    return check_known_labels(labels, classes)


def evaluate_model(model: Model, data: Dataset) -> Evaluation | RegressionEvaluation:
    """Predict ``data`` with ``model`` and keep what the metrics need."""
    if data.y is None:
        raise DataError(f"{data.name} has no labels to evaluate against")
    if model.task == "regression":
        y_true = check_targets(data.y, len(data.x), what=f"targets of {data.name}")
        return RegressionEvaluation(
            y_true.astype(np.float64), model.predict(data.x), training_mean(model)
        )
    if model.classes is None:
        raise DataError("this model has no class labels; evaluation needs a classifier")
    y_true = class_indices(model.classes, data.y)
    return Evaluation(
        model.classes,
        y_true,
        model.predict_proba(data.x),
        training_counts(model),
        model.info.get("train_config", {}).get("class_weight"),
    )


def training_counts(model: Model) -> np.ndarray | None:
    """The training rows of each class, as the model file keeps them (``info``), or None."""
    counts = model.info.get("train_class_counts")
    if not isinstance(counts, list) or model.classes is None or len(counts) != len(model.classes):
        return None
    return np.asarray(counts, dtype=np.int64)


def training_mean(model: Model) -> float | None:
    """A one-output regression's training-target mean: the offset of its standardisation."""
    scaler = model.target_scaler
    if scaler is None or scaler.kind != "standard" or scaler.offset.shape != (1,):
        return None
    return float(scaler.offset[0])


def baseline_warning(metrics: dict[str, Any]) -> str | None:
    """The warnings of a run's ``metrics.json`` (its test evaluation) as one text for the
    console, or None when the model beats its baseline."""
    evaluation = metrics.get("evaluation") or {}
    found = evaluation.get("warnings") if isinstance(evaluation, dict) else None
    if not found or not isinstance(found, list):
        return None
    return "; ".join(str(item) for item in found)
