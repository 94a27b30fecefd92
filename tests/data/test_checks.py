"""The input checks: what each accepts (and returns), and what it refuses, by name."""

import numpy as np
import pytest

from glassnet.data.checks import (
    check_class_indices,
    check_classes,
    check_features,
    check_known_labels,
    check_split_classes,
    check_targets,
)
from glassnet.errors import DataError


def test_features_keep_float_dtypes_and_turn_integers_and_booleans_into_float64():
    x32 = np.ones((2, 3), dtype=np.float32)
    assert check_features(x32) is x32  # no copy of data that is already fine
    for raw in (np.ones((2, 3), dtype=np.int64), np.ones((2, 3), dtype=np.uint8), x32 > 0):
        checked = check_features(raw)
        assert checked.dtype == np.float64 and checked.shape == (2, 3)
        np.testing.assert_array_equal(checked, raw.astype(np.float64))
    np.testing.assert_array_equal(check_features([["1.5", "2"], ["3", "4"]]), [[1.5, 2], [3, 4]])
    assert check_features(np.array([[1, 2]], dtype=object)).dtype == np.float64


@pytest.mark.parametrize(
    ("x", "words"),
    [
        (np.ones(3), "X must be 2-D \\(n_samples, n_features\\), got 1-D with shape \\(3,\\)"),
        (np.ones((0, 3)), "X is empty: it has no samples"),
        (np.ones((3, 0)), "X has no features \\(shape \\(3, 0\\)\\)"),
        (np.array([[1.0, np.nan], [np.inf, -np.inf]]), "X contains 3 NaN or infinite value"),
        (np.array([[1 + 2j]]), "X contains complex numbers"),
        (np.array([["a", "1"]]), "X contains non-numeric values"),
        ([[1.0, 2.0], [3.0]], "X is not an array of numbers"),
    ],
)
def test_features_are_refused_with_what_is_wrong(x, words):
    with pytest.raises(DataError, match=words):
        check_features(x)


def test_features_of_the_wrong_width_name_both_widths():
    assert check_features(np.ones((2, 4)), n_features=4).shape == (2, 4)
    with pytest.raises(DataError, match="new X has 3 features but the model expects 4"):
        check_features(np.ones((2, 3)), n_features=4, what="new X")


def test_targets_one_per_sample_in_one_or_two_dimensions():
    np.testing.assert_array_equal(check_targets([0, 1, 1], 3), [0, 1, 1])
    assert check_targets(np.ones((3, 2)), 3).shape == (3, 2)
    assert check_targets(np.array([True, False]), 2).dtype == bool
    with pytest.raises(DataError, match="y must be 1-D .* got shape \\(3, 1, 1\\)"):
        check_targets(np.ones((3, 1, 1)), 3)
    with pytest.raises(DataError, match="y has 2 values but X has 3 samples"):
        check_targets([0, 1], 3)
    with pytest.raises(DataError, match="y contains 1 NaN or infinite"):
        check_targets([0.0, np.inf, 1.0], 3)
    with pytest.raises(DataError, match="y must be 1-D"):
        check_targets(np.float64(1.0), 1)


def test_classes_are_the_sorted_distinct_labels_and_need_two():
    np.testing.assert_array_equal(check_classes(np.array([5, 2, 5, 9])), [2, 5, 9])
    with pytest.raises(DataError, match="y has only one class \\(7\\)"):
        check_classes(np.array([7, 7]))
    with pytest.raises(DataError, match="only one class \\(none\\)"):
        check_classes(np.array([]))


def test_class_indices_are_whole_numbers_within_the_outputs():
    indices = check_class_indices(np.array([0.0, 2.0, 1.0]), 3)
    assert indices.dtype == np.int64 and indices.tolist() == [0, 2, 1]
    assert check_class_indices(np.array([0, 0]), 1).tolist() == [0, 0]
    with pytest.raises(DataError, match="whole-number class indices"):
        check_class_indices(np.array([0.0, 1.5]), 3)
    with pytest.raises(DataError, match="outside 0..2 \\(min 0, max 3\\)"):
        check_class_indices(np.array([0, 3]), 3)
    with pytest.raises(DataError, match="outside 0..2 \\(min -1, max 1\\)"):
        check_class_indices(np.array([-1, 1]), 3)
    with pytest.raises(DataError, match="1-D class indices"):
        check_class_indices(np.zeros((2, 2)), 3)


def test_known_labels_map_to_class_positions():
    classes = np.array([30, 10, 20])
    assert check_known_labels([20, 30, 10, 20], classes).tolist() == [2, 0, 1, 2]
    assert check_known_labels(["10", "20"], classes).tolist() == [1, 2]  # text from a CSV
    assert check_known_labels([2.0], np.array([1, 2])).tolist() == [1]
    letters = np.array(["b", "a"])
    assert check_known_labels(np.array(["a", "b", "a"]), letters).tolist() == [1, 0, 1]


def test_unknown_labels_are_listed_sorted_and_at_most_ten():
    classes = np.arange(3)
    with pytest.raises(DataError, match=r"labels \['5', '7'\] are not classes .*: 0, 1, 2\)"):
        check_known_labels([7, 0, 5, 7], classes)
    unseen = list(range(100, 120))
    with pytest.raises(DataError) as error:
        check_known_labels(unseen, classes)
    assert str([str(u) for u in unseen[:10]]) in str(error.value)
    assert "'110'" not in str(error.value)
    with pytest.raises(DataError, match="labels has 2 values but X has 3 samples"):
        check_known_labels([0, 1], classes, n_samples=3)
    with pytest.raises(DataError, match="labels must be 1-D"):
        check_known_labels(np.zeros((2, 1)), classes)


# Each message: what is wrong, in the caller's name for the data (X, y, labels by default),
# then what to do; the advice is the part a user acts on, so it is checked whole.
@pytest.mark.parametrize(
    ("check", "words"),
    [
        (lambda: check_features(np.ones(3)), "^X must be 2-D .*; reshape it, e.g. X.reshape"),
        (
            lambda: check_features(np.ones((2, 3)), n_features=4),
            "^X has 3 features .*; pass the same columns the model was trained on$",
        ),
        (
            lambda: check_targets(np.ones((2, 1, 1)), 2),
            r"^y must be 1-D .*; flatten it, e\.g\. y\.ravel\(\)$",
        ),
        (lambda: check_targets([0, 1], 3), "^y has 2 .*; pass one target per row of X$"),
        (lambda: check_targets(["a"], 1), "^y contains non-numeric values; convert or drop them$"),
        (
            lambda: check_classes(np.array([1, 1])),
            r"^y has only one class \(1\); a classifier needs samples of at least two classes$",
        ),
        (
            lambda: check_class_indices(np.array([0.5]), 2),
            "^y must hold whole-number class indices; encode labels as 0..k-1$",
        ),
        (
            lambda: check_known_labels([0, 1], np.arange(2), n_samples=3),
            "^labels has 2 values but X has 3 samples; pass one label per row of X$",
        ),
        (
            lambda: check_features(np.array([[np.nan]])),
            "^X contains 1 NaN or infinite value\\(s\\); impute or drop them$",
        ),
        (
            lambda: check_features(np.array([[1j]])),
            "^X contains complex numbers; glassnet needs real values$",
        ),
    ],
)
def test_messages_name_the_data_and_end_with_what_to_do(check, words):
    with pytest.raises(DataError, match=words):
        check()


def test_a_sparse_float_matrix_passes_as_it_is():
    from scipy import sparse

    x = sparse.csr_matrix(np.array([[0.0, 1.5], [2.0, 0.0], [0.0, 0.0]], dtype=np.float32))
    assert check_features(x, n_features=2) is x
    assert check_features(sparse.csr_matrix(np.ones((1, 1)))).shape == (1, 1)


def test_a_sparse_integer_matrix_becomes_float64_with_the_same_values():
    from scipy import sparse

    x = sparse.csr_matrix(np.array([[0, 3], [2, 0]]))
    checked = check_features(x)
    assert checked.dtype == np.float64 and sparse.issparse(checked)
    np.testing.assert_array_equal(checked.toarray(), [[0.0, 3.0], [2.0, 0.0]])


@pytest.mark.parametrize(
    ("shape", "words"),
    [((0, 3), r"\(0, 3\)"), ((2, 0), r"\(2, 0\)")],
)
def test_an_empty_sparse_matrix_is_refused(shape, words):
    from scipy import sparse

    with pytest.raises(
        DataError, match=rf"^training X must be a non-empty 2-D sparse matrix, got shape {words}$"
    ):
        check_features(sparse.csr_matrix(shape), what="training X")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_sparse_matrix_with_non_finite_values_is_refused(bad):
    from scipy import sparse

    x = sparse.csr_matrix(np.array([[0.0, bad], [bad, 1.0]]))
    with pytest.raises(DataError, match=r"^X contains 2 NaN or infinite value\(s\); impute"):
        check_features(x, what="X")


def test_a_sparse_matrix_of_the_wrong_width_is_refused():
    from scipy import sparse

    with pytest.raises(
        DataError,
        match=r"^X has 3 features but the model expects 2; pass the same columns the model "
        r"was trained on$",
    ):
        check_features(sparse.csr_matrix(np.ones((2, 3))), n_features=2, what="X")


def test_a_split_class_no_training_row_has_is_named_by_part():
    check_split_classes(["1", "0"], np.array([0, 1, 1]), "test")  # "1" from a CSV is class 1
    with pytest.raises(DataError, match=r"^the validation rows hold classes 5, 7, which no tra"):
        check_split_classes([7, 0, 5, 7], np.array([0, 1, 0]), "validation")
    with pytest.raises(DataError) as error:
        check_split_classes(np.arange(100, 130), np.arange(3), "test")
    message = str(error.value)
    assert "classes 100, 101," in message and "109, ... (30 classes), which" in message
    assert "110" not in message and "--task regression" in message


def test_a_long_class_list_is_cut_at_ten_and_says_how_many():
    ten, eleven = np.arange(10), np.arange(11)
    with pytest.raises(DataError, match=r"classes: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9\); it never"):
        check_known_labels([99], ten)
    with pytest.raises(DataError, match=r"classes: 0, 1, .*, 9, \.\.\. \(11 classes\)\); it"):
        check_known_labels([99], eleven)
    with pytest.raises(DataError, match=r"hold classes 100, .*, 109, \.\.\. \(11 classes\), "):
        check_split_classes(np.arange(100, 111), np.arange(3), "test")
    with pytest.raises(DataError, match=r"hold class 100, which no training row has"):
        check_split_classes([100, 0], np.arange(3), "test")


def test_many_numeric_classes_suggest_a_regression_and_few_or_named_ones_do_not():
    hint = "; a number to predict is a regression (--task regression)"
    with pytest.raises(DataError) as error:
        check_known_labels([99.5], np.arange(21.0))
    assert str(error.value).endswith("it never saw them in training" + hint)
    for labels, classes in (([99.5], np.arange(20.0)), (["z"], [f"c{i}" for i in range(21)])):
        with pytest.raises(DataError) as error:
            check_known_labels(labels, np.array(classes))
        assert str(error.value).endswith("it never saw them in training")
