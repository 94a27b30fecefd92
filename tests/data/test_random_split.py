"""data.random_split: the split the train command uses on a user's own data."""

import numpy as np
import pytest

from glassnet import DataError
from glassnet.data import Dataset, random_split


def dataset(n=100, n_classes=4):
    x = np.arange(n * 2, dtype=float).reshape(n, 2)
    return Dataset(x, np.arange(n) % n_classes, name="toy")


def test_sizes_are_stratified_and_disjoint():
    splits = random_split(dataset(), validation_fraction=0.2, test_fraction=0.2, seed=0)
    assert splits.sizes() == {"train": 60, "validation": 20, "test": 20}
    for part in (splits.train, splits.validation, splits.test):
        assert np.bincount(part.y).min() == np.bincount(part.y).max()  # stratified
    rows = np.concatenate([splits.train.x[:, 0], splits.validation.x[:, 0], splits.test.x[:, 0]])
    assert len(np.unique(rows)) == 100
    assert splits.train.name == "toy:train"


def test_same_seed_same_split_other_seed_other_split():
    a = random_split(dataset(), seed=3).test.x
    assert np.array_equal(a, random_split(dataset(), seed=3).test.x)
    assert not np.array_equal(a, random_split(dataset(), seed=4).test.x)


@pytest.mark.parametrize("validation, test", [(0.0, 0.2), (0.5, 0.5), (0.2, 1.2)])
def test_bad_fractions_are_data_errors(validation, test):
    with pytest.raises(DataError, match="fraction"):
        random_split(dataset(), validation_fraction=validation, test_fraction=test)


def test_one_class_is_refused():
    with pytest.raises(DataError, match="only one class"):
        random_split(Dataset(np.zeros((10, 2)), np.zeros(10), name="flat"))
