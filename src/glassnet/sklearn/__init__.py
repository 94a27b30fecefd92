"""scikit-learn estimators over glassnet's own layers, losses, optimizers and ``fit``.

``MLPClassifier`` and ``MLPRegressor`` take scikit-learn's parameters (same names, defaults
and meaning) and are drop-ins for ``sklearn.neural_network``'s; ``GlassNetClassifier`` and
``GlassNetRegressor`` are the same classes under their earlier names. ``to_model`` turns a
fitted estimator or pipeline into a pickle-free glassnet ``Model``.
"""

from glassnet.sklearn.base import InputTypeError, NonFiniteWeightsError, NotFittedError
from glassnet.sklearn.classifier import MLPClassifier
from glassnet.sklearn.export import to_model
from glassnet.sklearn.regressor import MLPRegressor

# Aliases kept for code written against glassnet before the drop-in: the same classes.
GlassNetClassifier = MLPClassifier
GlassNetRegressor = MLPRegressor

__all__ = [
    "GlassNetClassifier",
    "GlassNetRegressor",
    "InputTypeError",
    "MLPClassifier",
    "MLPRegressor",
    "NonFiniteWeightsError",
    "NotFittedError",
    "to_model",
]
