"""Datasets as plain arrays, the built-in digits, and the seed experiment's split."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.data.checks import check_classes, first_ten
from glassnet.errors import DataError, DataWarning

# The seed experiment's split (DESIGN.md): test first, then validation out of the rest.
SEED_TEST_SIZE, SEED_TEST_STATE = 0.33, 111


SEED_VALIDATION_SIZE, SEED_VALIDATION_STATE = 0.40, 123
# A class with fewer rows than this cannot be in the training, validation and test rows at
# once after a stratified split (each split rounds a class's share down to whole rows).
MIN_CLASS_ROWS = 3


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
    # Each row's position among the data rows of the file it came from (None: not recorded).
    rows: np.ndarray | None = None

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
    """scikit-learn's bundled 8x8 digits: 1797 images, 64 pixels valued 0..16, 10 classes.

    Examples:
        >>> digits = load_digits()
        >>> print(digits.x.shape, digits.image_shape, digits.x.max(), np.unique(digits.y))
        (1797, 64) (8, 8) 16.0 [0 1 2 3 4 5 6 7 8 9]
    """
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
    (random_state=123). On digits this gives 721 train, 482 validation and 594 test samples.

    Examples:
        >>> seed_split(load_digits()).sizes()
        {'train': 721, 'validation': 482, 'test': 594}
    """
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
    data: Dataset,
    *,
    validation_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    task: str | None = None,
) -> Splits:
    """Test first, then validation out of the rest, each stratified by class when every class
    has at least two samples; ``seed`` is the split's ``random_state``.

    For classes (``task="classification"``, or by default any target that is not floating
    point), a class with fewer than ``MIN_CLASS_ROWS`` rows, or one the split would leave
    out of the training rows, keeps all its rows in training, with a DataWarning naming it:
    the model learns it, and the validation and test scores do not pretend to cover it.

    Examples:
        >>> splits = random_split(load_digits(), validation_fraction=0.2, test_fraction=0.2)
        >>> splits.sizes()
        {'train': 1077, 'validation': 360, 'test': 360}
    """

    for name, fraction in (("validation", validation_fraction), ("test", test_fraction)):
        if not 0.0 < fraction < 1.0:
            raise DataError(f"{name} fraction must be between 0 and 1, got {fraction}")
    if validation_fraction + test_fraction >= 1.0:
        raise DataError("validation and test fractions together must leave some training data")
    check_classes(data.y, what=data.name)
    y = np.asarray(data.y)
    has_classes = task == "classification" or (task is None and y.dtype.kind != "f")
    labels, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    rare = has_classes & (counts < MIN_CLASS_ROWS)
    if len(y) < 3:
        raise DataError(
            f"{data.name} has too few rows ({len(data)}) to split three ways; "
            "add rows or lower --validation-fraction / --test-fraction"
        )
    if 2 * rare.sum() > len(labels):
        raise DataError(
            f"{rare.sum()} of the {len(labels)} classes of {data.name} have fewer than "
            f"{MIN_CLASS_ROWS} rows ({first_ten(labels[rare])}): too few to learn and score "
            "them; a target of many distinct numbers is a regression (--task regression), "
            "or merge the rare classes"
        )
    kept = np.flatnonzero(~rare[inverse.reshape(-1)]) if has_classes else np.arange(len(y))

    def split(rows, size, state):
        return stratified_cut(rows, y, size, state, name=data.name, n_rows=len(data))

    if len(kept) < 3:
        raise DataError(f"{data.name} has too few rows ({len(data)}) to split three ways")
    rest, test = split(kept, test_fraction, seed)
    train, valid = split(rest, validation_fraction / (1.0 - test_fraction), seed + 1)
    if has_classes:
        train, (valid, test) = classes_to_training(y, train, [valid, test], labels[rare])
    if min(len(train), len(valid), len(test)) == 0:
        raise DataError(f"{data.name} has too few rows ({len(data)}) to split three ways")
    return _splits_of(data, *((data.x[rows], y[rows]) for rows in (train, valid, test)))


def stratified_cut(
    rows: np.ndarray, y: np.ndarray, size: float, state: int, *, name: str, n_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` cut in two (kept, held out: a ``size`` share), stratified by ``y[rows]`` when
    every class among them has two rows or more and the share allows it; a DataError naming
    the data (``name``, of ``n_rows`` rows) when a part would be empty."""
    if not 0 < math.ceil(size * len(rows)) < len(rows):
        raise DataError(
            f"{name} has too few rows ({n_rows}) to split three ways; "
            "add rows or lower --validation-fraction / --test-fraction"
        )
    _, row_counts = np.unique(y[rows], return_counts=True)
    if row_counts.min() >= 2:
        from sklearn.model_selection import train_test_split

        try:
            return train_test_split(rows, test_size=size, random_state=state, stratify=y[rows])
        except ValueError:  # too few rows per class to stratify this share
            pass
    # Unstratified: train_test_split's own cut, without importing scikit-learn (90 MB, held
    # through a large table's preprocessing and training).
    kept, held = shuffle_split(len(rows), size, state)
    return rows[kept], rows[held]


def classes_to_training(
    y: np.ndarray, train: np.ndarray, held: list[np.ndarray], rare: np.ndarray | None = None
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Every row of the ``rare`` classes, and of the classes a cut left out of the ``train``
    rows, moved into ``train`` (from the ``held`` parts, or from no part), with a DataWarning
    naming them: the model learns them, and the held-out scores do not pretend to cover them.
    Row indices into ``y``; unchanged when there is no such class."""
    labels, counts = np.unique(y, return_counts=True)
    moved = ~np.isin(labels, y[train])
    if rare is not None:
        moved |= np.isin(labels, rare)
    if not moved.any():
        return train, held
    in_train = np.isin(y, labels[moved])
    held = [rows[~in_train[rows]] for rows in held]
    train = np.concatenate([train, np.flatnonzero(in_train & ~np.isin(np.arange(len(y)), train))])
    _warn_rare(labels[moved], counts[moved])
    return train, held


def _warn_rare(labels: np.ndarray, counts: np.ndarray) -> None:
    """Say which classes train on all their rows and are in no validation or test row."""
    listed = ", ".join(
        f"{label} ({count} row{'s' if count > 1 else ''})"
        for label, count in zip(labels[:10].tolist(), counts[:10].tolist(), strict=True)
    )
    more = f", ... ({len(labels)} classes)" if len(labels) > 10 else ""
    warnings.warn(
        DataWarning(
            f"too few rows to split class(es) {listed}{more} into training, validation and "
            "test rows: all their rows are training rows, so the model learns them but the "
            "validation and test scores do not cover them"
        ),
        stacklevel=4,
    )
