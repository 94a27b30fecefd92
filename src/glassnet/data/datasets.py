"""Datasets as plain arrays, the built-in digits, and the seed experiment's split."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.data.checks import check_classes
from glassnet.errors import DataError

# The seed experiment's split (DESIGN.md): test first, then validation out of the rest.
SEED_TEST_SIZE, SEED_TEST_STATE = 0.33, 111


SEED_VALIDATION_SIZE, SEED_VALIDATION_STATE = 0.40, 123


@dataclass
class Dataset:
    """Features ``x`` (n_samples, n_features) and targets ``y`` (None when unlabelled),
    with optional image shape.

    Image rows hold ``channels`` planes of ``image_shape`` (height, width) pixels one after
    the other (channels first, the networks' layout); the loaders convert channels-last
    files, ``(n, h, w, c)`` arrays or rows of pixels with their channels side by side.
    """

    x: np.ndarray
    y: np.ndarray  # type: ignore[assignment]  # None for unlabelled data (prediction)
    name: str = "data"
    image_shape: tuple[int, int] | None = None
    feature_names: list[str] | None = None
    channels: int = 1

    @property
    def input_shape(self) -> tuple[int, int, int] | None:
        """``(channels, height, width)`` of one image row, None for rows that are not images."""
        return None if self.image_shape is None else (self.channels, *self.image_shape)

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class Splits:
    """Train, validation and test rows; ``columns``: a table's column records (role, missing,
    distinct, what was learned: ``glassnet.data.tabular.column_records``), None otherwise."""

    train: Dataset
    validation: Dataset
    test: Dataset
    columns: list[dict[str, Any]] | None = None

    def sizes(self) -> dict[str, int]:
        parts = {"train": self.train, "validation": self.validation, "test": self.test}
        return {name: len(part) for name, part in parts.items()}


def load_digits() -> Dataset:
    """scikit-learn's bundled 8x8 digits: 1797 images, 64 pixels valued 0..16, 10 classes."""
    # Read from scikit-learn's own data file (located, not imported: importing
    # sklearn.datasets costs about a second of every `glassnet run`), as its load_digits does.
    import gzip
    from importlib.util import find_spec

    spec = find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the digits data ships with scikit-learn: pip install scikit-learn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    with gzip.open(path, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",")
    return Dataset(table[:, :-1], table[:, -1].astype(int), name="digits", image_shape=(8, 8))


def seed_split(data: Dataset) -> Splits:
    """The tutorial's split: 33% test (random_state=111), then 40% of the rest as validation
    (random_state=123). On digits this gives 721 train, 482 validation and 594 test samples."""
    rest, test = shuffle_split(len(data), SEED_TEST_SIZE, SEED_TEST_STATE)
    train, valid = shuffle_split(len(rest), SEED_VALIDATION_SIZE, SEED_VALIDATION_STATE)
    train, valid = rest[train], rest[valid]
    parts = [(data.x[rows], data.y[rows]) for rows in (train, valid, test)]
    return _splits_of(data, *parts)


def shuffle_split(
    n_samples: int, test_size: float, random_state: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, test) exactly as scikit-learn's ``train_test_split(test_size=...,
    random_state=...)`` chooses them: the first ceil(test_size * n) of a permutation drawn by
    ``RandomState(random_state)`` are the test rows, the rest the training rows."""
    n_test = math.ceil(test_size * n_samples)
    # A private legacy generator, seeded here: the split must be the one the tutorial's
    # scikit-learn call made, and no global state is touched.
    permutation = np.random.RandomState(random_state).permutation(n_samples)
    return permutation[n_test:], permutation[:n_test]


def _splits_of(data: Dataset, *parts: tuple[np.ndarray, np.ndarray]) -> Splits:
    """Train, validation and test Datasets cut from ``data``, keeping its name and metadata."""
    named = [
        Dataset(x, y, f"{data.name}:{suffix}", data.image_shape, data.feature_names, data.channels)
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
            pass
        try:
            return train_test_split(x, y, test_size=size, random_state=state)
        except ValueError:  # a split would be empty
            raise DataError(
                f"{data.name} has too few rows ({len(data)}) to split three ways; "
                "add rows or lower --validation-fraction / --test-fraction"
            ) from None

    x_rest, x_test, y_rest, y_test = split(data.x, data.y, test_fraction, seed)
    x_train, x_valid, y_train, y_valid = split(
        x_rest, y_rest, validation_fraction / (1.0 - test_fraction), seed + 1
    )
    if min(len(x_train), len(x_valid), len(x_test)) == 0:
        raise DataError(f"{data.name} has too few rows ({len(data)}) to split three ways")
    return _splits_of(data, (x_train, y_train), (x_valid, y_valid), (x_test, y_test))
