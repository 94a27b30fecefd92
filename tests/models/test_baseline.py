"""The honest report's numbers: scikit-learn's scores beside the trivial baseline's, and the
warnings a model that does not beat it (or predicts one class) gets."""

import numpy as np
import pytest
from sklearn import metrics

from glassnet.data.datasets import Dataset
from glassnet.data.preprocessing import Scaler
from glassnet.models.evaluation import (
    Evaluation,
    RegressionEvaluation,
    baseline_warning,
    evaluate_model,
)
from glassnet.models.model import Model
from glassnet.nn.layers import mlp


def imbalanced(n=1000, positive_share=0.06, seed=0):
    """Caravan-like labels: 6% positives, as class indices into ["No", "Yes"]."""
    rng = np.random.default_rng(seed)
    return (rng.random(n) < positive_share).astype(np.int64), rng


def test_binary_scores_are_scikit_learns():
    y, rng = imbalanced()
    p_yes = np.clip(0.3 * y + rng.random(len(y)) * 0.7, 0, 1)
    proba = np.column_stack([1 - p_yes, p_yes])
    evaluation = Evaluation(np.array(["No", "Yes"]), y, proba, np.array([940, 60]))
    scores = evaluation.scores()
    y_pred = proba.argmax(axis=1)
    assert scores["accuracy"] == pytest.approx(metrics.accuracy_score(y, y_pred))
    assert scores["balanced_accuracy"] == pytest.approx(metrics.balanced_accuracy_score(y, y_pred))
    assert scores["macro_f1"] == pytest.approx(metrics.f1_score(y, y_pred, average="macro"))
    assert scores["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, p_yes))
    assert scores["average_precision"] == pytest.approx(metrics.average_precision_score(y, p_yes))


def test_the_baseline_always_answers_the_training_majority():
    y, _ = imbalanced()
    proba = np.tile([0.2, 0.8], (len(y), 1))  # the model says "Yes" everywhere
    evaluation = Evaluation(np.array(["No", "Yes"]), y, proba, np.array([940, 60]))
    baseline = evaluation.to_dict()["baseline"]
    assert baseline["class"] == "No"
    assert baseline["accuracy"] == pytest.approx(np.mean(y == 0))
    assert baseline["balanced_accuracy"] == pytest.approx(0.5)
    assert baseline["roc_auc"] == pytest.approx(0.5)
    assert baseline["average_precision"] == pytest.approx(np.mean(y == 1))
    # The majority of the training rows, not of the test rows, is the baseline's answer.
    flipped = Evaluation(np.array(["No", "Yes"]), y, proba, np.array([10, 90]))
    assert flipped.to_dict()["baseline"]["class"] == "Yes"


def test_a_model_answering_only_the_majority_is_warned_about():
    # Caravan: test accuracy 0.9356 below always "No"'s 0.9399, no positive found.
    y, rng = imbalanced()
    p_yes = rng.random(len(y)) * 0.4  # never above 0.5: always "No", a few ranked right
    evaluation = Evaluation(
        np.array(["No", "Yes"]), y, np.column_stack([1 - p_yes, p_yes]), np.array([940, 60])
    )
    found = evaluation.to_dict()["warnings"]
    text = " ".join(found)
    assert "does not beat the baseline" in text and "always answering 'No'" in text
    assert "predicts only 'No'" in text
    assert "--class-weight balanced" in text
    assert baseline_warning({"evaluation": evaluation.to_dict()}) == "; ".join(found)
    # Trained with class weights already: the warning no longer suggests them.
    weighted = Evaluation(evaluation.classes, y, evaluation.proba, np.array([940, 60]), "balanced")
    assert "--class-weight" not in " ".join(weighted.warnings())


def test_a_model_that_beats_the_baseline_gets_no_warning():
    y, rng = imbalanced()
    p_yes = np.where(y == 1, 0.9, 0.1) + rng.normal(0, 0.05, len(y))
    evaluation = Evaluation(
        np.array(["No", "Yes"]), y, np.column_stack([1 - p_yes, p_yes]), np.array([940, 60])
    )
    assert evaluation.to_dict()["warnings"] == []
    assert baseline_warning({"evaluation": evaluation.to_dict()}) is None


def test_below_the_baseline_on_accuracy_but_clearly_above_on_balanced_accuracy_is_said():
    y, _ = imbalanced()
    p_yes = np.where(y == 1, 0.7, 0.0)
    p_yes[np.flatnonzero(y == 0)[:100]] = 0.7  # finds every "Yes", and 100 false alarms
    evaluation = Evaluation(
        np.array(["No", "Yes"]), y, np.column_stack([1 - p_yes, p_yes]), np.array([940, 60])
    )
    first, *_ = evaluation.warnings()
    assert "does not beat the baseline" in first
    balanced = (1.0 + (np.sum(y == 0) - 100) / np.sum(y == 0)) / 2  # recall of each class
    assert f"its balanced accuracy {balanced:.4f} does beat that rule's 0.5000" in first


def test_without_training_counts_there_is_no_baseline():
    y, _ = imbalanced(50)
    evaluation = Evaluation(np.array(["No", "Yes"]), y, np.tile([0.9, 0.1], (50, 1)))
    assert evaluation.to_dict()["baseline"] is None
    assert all("baseline" not in w for w in evaluation.warnings())


def test_regression_baseline_predicts_the_training_mean():
    rng = np.random.default_rng(1)
    y = rng.normal(10.0, 2.0, 200)
    good = RegressionEvaluation(y, y + rng.normal(0, 0.5, 200), train_mean=9.8)
    record = good.to_dict()
    constant = np.full(200, 9.8)
    assert record["baseline"]["value"] == 9.8
    assert record["baseline"]["r2"] == pytest.approx(metrics.r2_score(y, constant))
    assert record["baseline"]["rmse"] == pytest.approx(np.sqrt(np.mean((y - 9.8) ** 2)))
    assert record["baseline"]["mae"] == pytest.approx(metrics.mean_absolute_error(y, constant))
    assert record["r2"] == pytest.approx(metrics.r2_score(y, good.y_pred))
    assert record["warnings"] == []
    useless = RegressionEvaluation(y, rng.normal(10.0, 2.0, 200), train_mean=9.8)
    (warning,) = useless.warnings()
    assert "does not beat the baseline" in warning and "training mean" in warning


def test_evaluate_model_reads_the_baseline_from_the_model_file_info():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3))
    classifier = Model(
        [mlp([3, 2], rng=rng)],
        classes=np.array(["No", "Yes"]),
        info={"train_class_counts": [25, 5]},
    )
    evaluation = evaluate_model(classifier, Dataset(x, np.array(["No"] * 20 + ["Yes"] * 10)))
    assert evaluation.to_dict()["baseline"]["class"] == "No"
    target = Scaler("standard", np.array([4.0]), np.array([2.0]))
    regressor = Model([mlp([3, 1], rng=rng)], task="regression", target_scaler=target)
    evaluation = evaluate_model(regressor, Dataset(x, rng.normal(size=30)))
    assert evaluation.to_dict()["baseline"]["value"] == 4.0


def test_imbalanced_data_where_the_rare_class_is_mostly_missed_suggests_class_weights():
    # Beats always "No" (finds 20 of the 60 positives, no false alarm), yet misses most of them.
    y, _ = imbalanced()
    p_yes = np.zeros(len(y))
    p_yes[np.flatnonzero(y == 1)[:20]] = 0.9
    evaluation = Evaluation(
        np.array(["No", "Yes"]), y, np.column_stack([1 - p_yes, p_yes]), np.array([940, 60])
    )
    (warning,) = evaluation.warnings()
    positives = int(np.sum(y == 1))
    assert f"the model finds 20 of the {positives} 'Yes' rows" in warning
    assert "--class-weight balanced" in warning
    # Balanced data, the same misses: no suggestion (nothing is imbalanced).
    even = Evaluation(evaluation.classes, y, evaluation.proba, np.array([500, 500]))
    assert even.warnings() == []
