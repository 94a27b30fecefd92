"""scikit-learn's MLPClassifier, and glassnet's in its place.

The same code fits scikit-learn's `MLPClassifier` and `glassnet.sklearn.MLPClassifier`
(same parameters, same defaults, same fitted attributes) on standardised digits, and plots
both `loss_curve_`s. Their random draws differ (glassnet uses a `numpy.random.Generator`),
so the curves are close, not equal.
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from glassnet.sklearn import MLPClassifier as GlassnetMLP

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, estimator in [("scikit-learn", SklearnMLP), ("glassnet", GlassnetMLP)]:
    model = make_pipeline(StandardScaler(), estimator(max_iter=60, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 60 iterations, on purpose
        model.fit(X_train, y_train)
    network = model[-1]
    print(
        f"{name:12} test accuracy {model.score(X_test, y_test):.4f}, "
        f"{network.n_iter_} iterations, final loss {network.loss_:.4f}"
    )
    ax.plot(network.loss_curve_, label=name)
ax.set(xlabel="iteration (epoch)", ylabel="training loss", yscale="log", title="loss_curve_")
ax.legend()
fig.tight_layout()
fig.savefig("loss_curves.png", dpi=100)
