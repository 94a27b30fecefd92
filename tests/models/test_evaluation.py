"""Evaluation: metrics against scikit-learn, label matching, worst-misclassified order."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from glassnet import DataError
from glassnet.models.evaluation import Evaluation, class_indices


def example():
    proba = np.array(
        [
            [0.9, 0.1, 0.0],
            [0.2, 0.7, 0.1],
            [0.6, 0.3, 0.1],
            [0.1, 0.1, 0.8],
            [0.05, 0.9, 0.05],
            [0.3, 0.3, 0.4],
        ]
    )
    return Evaluation(np.array(["a", "b", "c"]), np.array([0, 1, 1, 2, 2, 0]), proba)


def test_metrics_match_scikit_learn():
    evaluation = example()
    y_pred = [0, 1, 0, 2, 1, 2]
    assert evaluation.accuracy == accuracy_score(evaluation.y_true, y_pred)
    np.testing.assert_array_equal(
        evaluation.confusion_matrix(), confusion_matrix(evaluation.y_true, y_pred)
    )
    f1 = [row["f1"] for row in evaluation.per_class()]
    np.testing.assert_allclose(f1, f1_score(evaluation.y_true, y_pred, average=None))
    assert [row["support"] for row in evaluation.per_class()] == [2, 2, 2]
    assert evaluation.to_dict()["classes"] == ["a", "b", "c"]


def test_worst_lists_the_most_confidently_wrong_first():
    # wrong: sample 2 (true b, p=0.3), 4 (true c, p=0.05), 5 (true a, p=0.3)
    assert example().worst(10).tolist() == [4, 2, 5]
    assert example().worst(1).tolist() == [4]


def test_class_indices_match_text_and_numbers_and_refuse_unknown_labels():
    assert class_indices(np.array([3, 5, 7]), np.array([7, 3])).tolist() == [2, 0]
    assert class_indices(np.array([3, 5, 7]), np.array(["5"])).tolist() == [1]
    assert class_indices(np.array(["x", "y"]), np.array(["y", "x"])).tolist() == [1, 0]
    with pytest.raises(DataError, match=r"labels \['z'\] are not classes of this model"):
        class_indices(np.array(["x", "y"]), np.array(["z"]))


@pytest.mark.parametrize("seed", range(4))
def test_per_class_metrics_equal_scikit_learn_with_absent_and_unpredicted_classes(seed):
    # Counted by glassnet itself (importing sklearn.metrics is slow): the numbers must be
    # scikit-learn's exactly, including the zero_division=0 cases of classes never predicted
    # or never present.
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(seed)
    n_classes = 6
    y_true = rng.integers(0, n_classes - 1, 40)  # the last class never occurs
    proba = rng.random((40, n_classes))
    proba[:, 0] = 0.0  # class 0 is never predicted
    evaluation = Evaluation(np.arange(n_classes), y_true, proba)
    expected = precision_recall_fscore_support(
        y_true, evaluation.y_pred, labels=np.arange(n_classes), zero_division=0
    )
    rows = evaluation.per_class()
    for column, name in zip(expected, ("precision", "recall", "f1", "support"), strict=True):
        assert [row[name] for row in rows] == column.tolist()
    np.testing.assert_array_equal(
        evaluation.confusion_matrix(),
        confusion_matrix(y_true, evaluation.y_pred, labels=np.arange(n_classes)),
    )
