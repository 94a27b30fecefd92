"""The digits and the seed split, read and cut without importing scikit-learn: they must be
exactly what scikit-learn's load_digits and train_test_split give."""

import numpy as np
import pytest

from glassnet.data.datasets import load_digits, seed_split, shuffle_split


def test_load_digits_equals_scikit_learns():
    from sklearn.datasets import load_digits as sklearn_digits

    expected = sklearn_digits()
    digits = load_digits()
    np.testing.assert_array_equal(digits.x, expected.data)
    np.testing.assert_array_equal(digits.y, expected.target)
    assert digits.x.dtype == expected.data.dtype and digits.y.dtype == expected.target.dtype
    assert digits.image_shape == (8, 8)


@pytest.mark.parametrize(
    ("n_samples", "test_size", "state"), [(1797, 0.33, 111), (1203, 0.40, 123), (10, 0.25, 0)]
)
def test_shuffle_split_chooses_train_test_splits_rows(n_samples, test_size, state):
    from sklearn.model_selection import train_test_split

    rows = np.arange(n_samples)
    expected_train, expected_test = train_test_split(rows, test_size=test_size, random_state=state)
    train, test = shuffle_split(n_samples, test_size, state)
    np.testing.assert_array_equal(train, expected_train)
    np.testing.assert_array_equal(test, expected_test)


def test_seed_split_equals_the_tutorials_two_train_test_split_calls():
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x_rest, x_test, y_rest, y_test = train_test_split(
        digits.x, digits.y, test_size=0.33, random_state=111
    )
    x_train, x_valid, y_train, y_valid = train_test_split(
        x_rest, y_rest, test_size=0.40, random_state=123
    )
    splits = seed_split(digits)
    for part, (x, y) in zip(
        (splits.train, splits.validation, splits.test),
        ((x_train, y_train), (x_valid, y_valid), (x_test, y_test)),
        strict=True,
    ):
        np.testing.assert_array_equal(part.x, x)
        np.testing.assert_array_equal(part.y, y)
    assert splits.sizes() == {"train": 721, "validation": 482, "test": 594}
