"""Datasets as plain arrays, the built-in digits, and the seed experiment's split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glassnet.data.checks import check_classes
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
