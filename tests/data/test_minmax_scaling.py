"""``--scaling minmax`` maps each feature's training range onto [0, 1], wherever it starts."""

import numpy as np
import pytest
from sklearn.preprocessing import MinMaxScaler

from glassnet.data.preprocessing import Scaler


def test_minmax_maps_the_training_range_to_zero_one_for_features_not_starting_at_zero(rng):
    # Minima of 5 and -3: dividing by the maximum instead of the range would not give [0, 1].
    x = np.column_stack([rng.uniform(5.0, 9.0, 40), rng.uniform(-3.0, 2.0, 40)])
    scaled = Scaler.fit("minmax", x).transform(x)
    np.testing.assert_allclose(scaled.min(axis=0), [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(scaled.max(axis=0), [1.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(scaled, MinMaxScaler().fit_transform(x), atol=1e-12)


def test_minmax_keeps_a_constant_feature_finite(rng):
    x = np.column_stack([np.full(5, 4.0), rng.uniform(1.0, 2.0, 5)])
    scaled = Scaler.fit("minmax", x).transform(x)
    np.testing.assert_array_equal(scaled[:, 0], 0.0)


@pytest.mark.parametrize("kind", ["standard", "minmax", "global"])
def test_numbers_too_large_to_scale_are_refused_naming_the_column(kind):
    import warnings

    from glassnet.errors import DataError

    x = np.random.default_rng(0).normal(size=(50, 3))
    x[7, 2] = 1e308
    x[8, 2] = -1e308
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw NumPy RuntimeWarning either
        with pytest.raises(DataError, match="feature 2 holds numbers too large to scale"):
            Scaler.fit(kind, x)
