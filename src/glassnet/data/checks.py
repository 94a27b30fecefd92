"""Input checks: features, targets and labels, refused with a message that says what to fix."""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.errors import DataError


def check_features(x: Any, *, n_features: int | None = None, what: str = "X") -> np.ndarray:
    """``x`` as a 2-D real array of finite numbers, or a DataError saying what is wrong.

    A scipy.sparse matrix is checked (2-D, finite stored values, width) and returned as is.
    """
    if is_sparse(x):
        return _check_sparse(x, n_features, what)
    array = _numeric_array(x, what)
    if array.ndim != 2:
        raise DataError(
            f"{what} must be 2-D (n_samples, n_features), got {array.ndim}-D with shape "
            f"{array.shape}; reshape it, e.g. X.reshape(len(X), -1)"
        )
    if array.shape[0] == 0:
        raise DataError(f"{what} is empty: it has no samples; pass at least one row")
    if array.shape[1] == 0:
        raise DataError(f"{what} has no features (shape {array.shape}); pass at least one column")
    array = array.astype(np.float64, copy=False) if array.dtype.kind in "biu" else array
    _check_finite(array, what)
    if n_features is not None and array.shape[1] != n_features:
        raise DataError(
            f"{what} has {array.shape[1]} features but the model expects {n_features}; "
            "pass the same columns the model was trained on"
        )
    return array


def check_targets(y: Any, n_samples: int, *, what: str = "y") -> np.ndarray:
    """``y`` as a 1-D (or 2-D, multi-output) array of finite values, one per sample."""
    array = _numeric_array(y, what)
    if array.ndim not in (1, 2):
        raise DataError(
            f"{what} must be 1-D (one target per sample), got shape {array.shape}; "
            "flatten it, e.g. y.ravel()"
        )
    if len(array) != n_samples:
        raise DataError(
            f"{what} has {len(array)} values but X has {n_samples} samples; "
            "pass one target per row of X"
        )
    _check_finite(array, what)
    return array


def check_classes(y: np.ndarray, *, what: str = "y") -> np.ndarray:
    """The sorted distinct labels of ``y``; a DataError when there are fewer than two."""
    classes = np.unique(y)
    if len(classes) < 2:
        raise DataError(
            f"{what} has only one class ({classes[0] if len(classes) else 'none'}); "
            "a classifier needs samples of at least two classes"
        )
    return classes


def check_class_indices(y: np.ndarray, n_classes: int, *, what: str = "y") -> np.ndarray:
    """``y`` as integer class indices in ``[0, n_classes)``, as the cross-entropy needs them."""
    if y.ndim != 1:
        raise DataError(f"{what} must be 1-D class indices for cross-entropy, got shape {y.shape}")
    indices = y.astype(np.int64)
    if not np.array_equal(indices, y):
        raise DataError(f"{what} must hold whole-number class indices; encode labels as 0..k-1")
    if indices.min() < 0 or indices.max() >= n_classes:
        raise DataError(
            f"{what} holds class indices outside 0..{n_classes - 1} (min {indices.min()}, "
            f"max {indices.max()}); the model has {n_classes} outputs"
        )
    return indices


def check_known_labels(
    y: Any, classes: np.ndarray, *, n_samples: int | None = None, what: str = "labels"
) -> np.ndarray:
    """The position in ``classes`` of each label of ``y``; a label the model never saw is a
    DataError. Numbers compare as numbers, anything else as text ("3" from a CSV is class 3)."""
    labels, classes = np.asarray(y), np.asarray(classes)
    if labels.ndim != 1:
        raise DataError(f"{what} must be 1-D (one label per sample), got shape {labels.shape}")
    if n_samples is not None and len(labels) != n_samples:
        raise DataError(
            f"{what} has {len(labels)} values but X has {n_samples} samples; "
            "pass one label per row of X"
        )
    labels, classes = _comparable(labels, classes)
    known = np.isin(labels, classes)
    if not known.all():
        unseen = sorted({str(label) for label in labels[~known]})[:10]
        listed = first_ten(classes)
        many = classes.dtype.kind in "iuf" and len(classes) > 20
        hint = "; a number to predict is a regression (--task regression)" if many else ""
        raise DataError(
            f"{what} {unseen} are not classes of this model (its classes: {listed}); "
            f"it never saw them in training{hint}"
        )
    order = np.argsort(classes, kind="stable")
    return order[np.searchsorted(classes, labels, sorter=order)]


def check_split_classes(y: Any, train_y: Any, part: str) -> None:
    """Refuse a split whose ``part`` rows ("validation", "test") hold a class that no training
    row has: nothing could learn it, and its rows could not be scored. DataError otherwise."""
    labels, classes = _comparable(np.asarray(y), np.unique(np.asarray(train_y)))
    unseen = np.unique(labels[~np.isin(labels, classes)])
    if len(unseen) == 0:
        return
    classes_word = "classes" if len(unseen) > 1 else "class"
    raise DataError(
        f"the {part} rows hold {classes_word} {first_ten(unseen)}, which no "
        "training row has; with so few rows of a class give a larger test/validation split or "
        "drop that class (or --task regression for a numeric target)"
    )


def first_ten(classes: np.ndarray) -> str:
    """The first ten of ``classes``, comma-separated, and how many there are when more (a
    numeric target taken for classes has hundreds)."""
    listed = ", ".join(map(str, classes[:10].tolist()))
    return listed + (f", ... ({len(classes)} classes)" if len(classes) > 10 else "")


def _comparable(labels: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``labels`` and ``classes`` as numbers when both are numbers, else both as text ("3"
    from a CSV is class 3)."""
    if not (classes.dtype.kind in "iuf" and labels.dtype.kind in "iuf"):
        return labels.astype(str), classes.astype(str)
    return labels, classes


def _numeric_array(values: Any, what: str) -> np.ndarray:
    """``values`` as a real numeric NumPy array (strings of numbers are converted)."""
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{what} is not an array of numbers ({exc}); pass a rectangular array"
        ) from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{what} contains non-numeric values; convert or drop them") from None
    if np.iscomplexobj(array):
        raise DataError(f"{what} contains complex numbers; glassnet needs real values")
    return array


def _check_finite(array: np.ndarray, what: str) -> None:
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.isfinite(array)))
        raise DataError(f"{what} contains {bad} NaN or infinite value(s); impute or drop them")


def is_sparse(x: Any) -> bool:
    """A scipy.sparse matrix or array, recognised without importing scipy."""
    return hasattr(x, "nnz") and hasattr(x, "tocsr") and hasattr(x, "toarray")


def _check_sparse(x: Any, n_features: int | None, what: str) -> Any:
    if len(x.shape) != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise DataError(f"{what} must be a non-empty 2-D sparse matrix, got shape {x.shape}")
    if x.dtype.kind not in "f":
        x = x.astype(np.float64)
    _check_finite(np.asarray(x.data), what)
    if n_features is not None and x.shape[1] != n_features:
        raise DataError(
            f"{what} has {x.shape[1]} features but the model expects {n_features}; "
            "pass the same columns the model was trained on"
        )
    return x
