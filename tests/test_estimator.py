"""The scikit-learn estimators: sklearn's own conformance suite, then glassnet's promises."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from glassnet.estimator import GlassNetClassifier, GlassNetRegressor

# Small, fast settings: the checks fit hundreds of times on tiny data; these still reach
# the accuracy (0.83 on blobs) and R^2 (0.5) that the training checks demand.
FAST = dict(hidden_layer_sizes=(16,), max_epochs=40, learning_rate=0.02, random_state=0)


@parametrize_with_checks([GlassNetClassifier(**FAST), GlassNetRegressor(**FAST)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
