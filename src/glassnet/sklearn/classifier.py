"""``MLPClassifier``: scikit-learn's MLP classifier on glassnet's layers, losses and loop."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from glassnet.errors import ConfigError, DataError, GlassnetError
from glassnet.nn.losses import sigmoid, softmax
from glassnet.sklearn.base import InvalidParameterError, _BaseMLP, stochastic_solver


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multilayer perceptron classifier, scikit-learn's ``MLPClassifier`` on glassnet.

    Multiclass ``y``: softmax outputs and cross-entropy; binary ``y``: one logistic output;
    a 2-D 0/1 ``y`` (multilabel): one independent logistic output per label, both with the
    fused sigmoid + binary cross-entropy. ``class_weight`` (dict label -> weight, or
    ``"balanced"``) multiplies ``sample_weight``. Fitted state as scikit-learn's
    (``classes_``, ``coefs_``, ``intercepts_``, ``n_iter_``, ``loss_curve_``, ...), plus
    ``network_`` (the glassnet ``Sequential``) and ``validation_loss_curve_``.
    """

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: float = 10,
        max_fun: int = 15000,
        dropout: float = 0.0,
        dtype: str | None = None,
        class_weight: dict[Any, float] | str | None = None,
    ) -> None:
        super().__init__(
            hidden_layer_sizes,
            activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dropout=dropout,
            dtype=dtype,
        )
        self.class_weight = class_weight

    def fit(
        self, X: Any, y: Any, sample_weight: Any = None, *, validation_data: Any = None
    ) -> MLPClassifier:
        """Train on ``X`` (n_samples, n_features), dense or sparse, and labels ``y``."""
        return self._fit(X, y, sample_weight, incremental=False, validation_data=validation_data)

    @available_if(stochastic_solver)
    def partial_fit(
        self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None
    ) -> MLPClassifier:
        """One epoch over ``(X, y)``; the first call needs ``classes``, every label to expect."""
        if not hasattr(self, "classes_"):
            if classes is None:
                raise ConfigError("classes must be passed on the first call to partial_fit.")
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            self.classes_ = self._label_binarizer.classes_
        elif classes is not None and not np.array_equal(
            np.sort(np.asarray(classes)), np.sort(self.classes_)
        ):
            raise ConfigError(
                f"`classes={np.asarray(classes)}` is not the same as on the first call to "
                f"partial_fit, which was {self.classes_}"
            )
        return self._fit(X, y, sample_weight, incremental=True)

    def _loss_name(self) -> str:
        return (
            "cross_entropy"
            if self._label_binarizer.y_type_ == "multiclass"
            else ("binary_cross_entropy")
        )

    def _encode(self, y: Any, *, first: bool, incremental: bool) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # with scikit-learn's DataConversionWarning
        try:
            if first and not incremental or not hasattr(self, "classes_"):
                self._label_binarizer = LabelBinarizer().fit(y)
                self.classes_ = self._label_binarizer.classes_
            else:
                labels = unique_labels(y)
                if self.warm_start and not incremental:
                    if set(labels) != set(self.classes_):
                        raise ConfigError(
                            "warm_start can only be used where `y` has the same classes as in "
                            f"the previous call to fit. Previously got {self.classes_}, `y` "
                            f"has {labels}"
                        )
                elif len(np.setdiff1d(labels, self.classes_, assume_unique=True)):
                    raise DataError(
                        f"`y` has classes not in `self.classes_`. `self.classes_` has "
                        f"{self.classes_}. 'y' has {labels}."
                    )
            encoded = self._label_binarizer.transform(y)
        except GlassnetError:
            raise
        except ValueError as exc:
            raise DataError(str(exc)) from None
        self._y_labels = y
        if self._label_binarizer.y_type_ == "multiclass":
            return encoded.argmax(axis=1)
        return encoded.astype(bool)

    def _stratify(self, y: np.ndarray) -> np.ndarray | None:
        # scikit-learn stratifies on its one binary column only (not multiclass, multilabel).
        return y if y.ndim == 2 and y.shape[1] == 1 else None

    def _score_outputs(self, outputs: np.ndarray, y: Any, weight: Any) -> float:
        truth = self._labels_of(y)
        predicted = self._label_binarizer.inverse_transform(
            self._probabilities(outputs, for_binarizer=True)
        )
        return float(accuracy_score(truth, predicted, sample_weight=weight))

    def _labels_of(self, y: np.ndarray) -> np.ndarray:
        """Encoded targets (indices or 0/1 columns) back to labels, for scoring."""
        if y.ndim == 1:
            return self.classes_[y]
        return self._label_binarizer.inverse_transform(y.astype(float))

    def _class_weights(self) -> np.ndarray | float:
        if self.class_weight is None:
            return 1.0
        from sklearn.utils.class_weight import compute_class_weight

        labels = np.asarray(self._y_labels)
        if labels.ndim != 1:
            raise ConfigError("class_weight needs one label per sample, not multilabel y")
        present = np.unique(labels)
        try:
            if not isinstance(self.class_weight, (str, dict)):
                raise InvalidParameterError("class_weight must be a dict, 'balanced' or None")
            weights = compute_class_weight(self.class_weight, classes=present, y=labels)
        except ValueError as exc:
            if isinstance(exc, GlassnetError):
                raise
            raise ConfigError(f"bad class_weight: {exc}") from None
        return weights[np.searchsorted(present, labels)]

    def _out_activation(self) -> str:
        return "softmax" if self._loss_name() == "cross_entropy" else "logistic"

    def _probabilities(self, outputs: np.ndarray, *, for_binarizer: bool = False) -> np.ndarray:
        if self._loss_name() == "cross_entropy":
            return softmax(outputs)
        probability = sigmoid(outputs)
        if probability.shape[1] == 1:
            return (
                probability.ravel() if for_binarizer else np.hstack([1 - probability, probability])
            )
        return probability

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n_samples, n_classes), columns in ``classes_`` order; for
        multilabel, each label's own probability (rows need not sum to 1)."""
        return self._probabilities(self._outputs(X))

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of ``predict_proba`` (-inf where a probability underflows to 0)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The predicted labels (n_samples,), or a 0/1 indicator matrix for multilabel."""
        outputs = self._outputs(X)
        return self._label_binarizer.inverse_transform(
            self._probabilities(outputs, for_binarizer=True)
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
