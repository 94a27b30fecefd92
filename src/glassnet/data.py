"""Datasets, the seed experiment's split, input checks and feature scaling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from glassnet.errors import DataError

# The seed experiment's split (DESIGN.md): test first, then validation out of the rest.
SEED_TEST_SIZE, SEED_TEST_STATE = 0.33, 111
SEED_VALIDATION_SIZE, SEED_VALIDATION_STATE = 0.40, 123


@dataclass
class Dataset:
    """Features ``x`` (n_samples, n_features) and targets ``y`` (None when unlabelled),
    with optional image shape."""

    x: np.ndarray
    y: np.ndarray  # type: ignore[assignment]  # None for unlabelled data (prediction)
    name: str = "data"
    image_shape: tuple[int, int] | None = None
    feature_names: list[str] | None = None

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class Splits:
    train: Dataset
    validation: Dataset
    test: Dataset

    def sizes(self) -> dict[str, int]:
        parts = {"train": self.train, "validation": self.validation, "test": self.test}
        return {name: len(part) for name, part in parts.items()}


def load_digits() -> Dataset:
    """scikit-learn's bundled 8x8 digits: 1797 images, 64 pixels valued 0..16, 10 classes."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    return Dataset(bunch.data, bunch.target, name="digits", image_shape=(8, 8))


def seed_split(data: Dataset) -> Splits:
    """The tutorial's split: 33% test (random_state=111), then 40% of the rest as validation
    (random_state=123). On digits this gives 721 train, 482 validation and 594 test samples."""
    from sklearn.model_selection import train_test_split

    x_rest, x_test, y_rest, y_test = train_test_split(
        data.x, data.y, test_size=SEED_TEST_SIZE, random_state=SEED_TEST_STATE
    )
    x_train, x_valid, y_train, y_valid = train_test_split(
        x_rest, y_rest, test_size=SEED_VALIDATION_SIZE, random_state=SEED_VALIDATION_STATE
    )
    return _splits_of(data, (x_train, y_train), (x_valid, y_valid), (x_test, y_test))


def _splits_of(data: Dataset, *parts: tuple[np.ndarray, np.ndarray]) -> Splits:
    """Train, validation and test Datasets cut from ``data``, keeping its name and metadata."""
    named = [
        Dataset(x, y, f"{data.name}:{suffix}", data.image_shape, data.feature_names)
        for (x, y), suffix in zip(parts, ("train", "validation", "test"), strict=True)
    ]
    return Splits(*named)


def random_split(
    data: Dataset, *, validation_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0
) -> Splits:
    """Test first, then validation out of the rest, each stratified by class when every class
    has at least two samples; ``seed`` is the split's ``random_state``."""
    from sklearn.model_selection import train_test_split

    for name, fraction in (("validation", validation_fraction), ("test", test_fraction)):
        if not 0.0 < fraction < 1.0:
            raise DataError(f"{name} fraction must be between 0 and 1, got {fraction}")
    if validation_fraction + test_fraction >= 1.0:
        raise DataError("validation and test fractions together must leave some training data")
    check_classes(data.y, what=data.name)
    _, counts = np.unique(data.y, return_counts=True)

    def split(x, y, size, state):
        stratify = y if counts.min() >= 2 else None
        try:
            return train_test_split(x, y, test_size=size, random_state=state, stratify=stratify)
        except ValueError:  # too few samples per class to stratify this split
            return train_test_split(x, y, test_size=size, random_state=state)

    x_rest, x_test, y_rest, y_test = split(data.x, data.y, test_fraction, seed)
    x_train, x_valid, y_train, y_valid = split(
        x_rest, y_rest, validation_fraction / (1.0 - test_fraction), seed + 1
    )
    if min(len(x_train), len(x_valid), len(x_test)) == 0:
        raise DataError(f"{data.name} has too few rows ({len(data)}) to split three ways")
    return _splits_of(data, (x_train, y_train), (x_valid, y_valid), (x_test, y_test))


def check_features(x: Any, *, n_features: int | None = None, what: str = "X") -> np.ndarray:
    """``x`` as a 2-D real array of finite numbers, or a DataError saying what is wrong."""
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
    if not (classes.dtype.kind in "iuf" and labels.dtype.kind in "iuf"):
        classes, labels = classes.astype(str), labels.astype(str)
    known = np.isin(labels, classes)
    if not known.all():
        unseen = sorted({str(label) for label in labels[~known]})[:10]
        raise DataError(
            f"{what} {unseen} are not classes of this model (its classes: "
            f"{', '.join(map(str, classes.tolist()))}); it never saw them in training"
        )
    order = np.argsort(classes, kind="stable")
    return order[np.searchsorted(classes, labels, sorter=order)]


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


@dataclass
class Scaler:
    """Affine feature scaling ``(x - offset) / scale``, fitted on training data only.

    ``kind="standard"``: zero mean, unit variance per feature; ``kind="minmax"``: range
    [0, 1] per feature; ``kind="global"``: one mean and one standard deviation over all
    features, for images, where a pixel moved by augmentation must keep its meaning (per-pixel
    scaling blows up nearly-always-blank border pixels). Constant features keep scale 1 so
    they map to 0 instead of dividing by zero.
    """

    kind: str
    offset: np.ndarray
    scale: np.ndarray

    KINDS = ("standard", "minmax", "global")

    @classmethod
    def fit(cls, kind: str, x: np.ndarray) -> Scaler:
        if kind == "standard":
            offset, scale = x.mean(axis=0), x.std(axis=0)
        elif kind == "minmax":
            offset, scale = x.min(axis=0), x.max(axis=0) - x.min(axis=0)
        elif kind == "global":
            offset, scale = np.full(x.shape[1], x.mean()), np.full(x.shape[1], x.std())
        else:
            raise DataError(f"unknown scaling {kind!r}; choose one of {list(cls.KINDS)}")
        scale = np.where(scale > 0, scale, 1.0)
        return cls(kind, offset.astype(np.float64), scale.astype(np.float64))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.offset) / self.scale

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Raw features back from scaled ones: ``x * scale + offset``."""
        return x * self.scale + self.offset
