"""scikit-learn estimators over glassnet's own layers, losses, optimizers and ``fit``.

``GlassNetClassifier`` and ``GlassNetRegressor`` turn their parameters into a
``TrainConfig`` and train with ``glassnet.training.loop.fit``; nothing here is a second
implementation of the network. One ``numpy.random.Generator``, made from
``random_state``, feeds the validation split, the initial weights and the minibatch
shuffles, in that order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_X_y
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data
from threadpoolctl import threadpool_limits

from glassnet.data.checks import check_classes, check_known_labels
from glassnet.errors import ConfigError, DataError, GlassnetError
from glassnet.models.model import Model
from glassnet.nn.layers import Sequential
from glassnet.nn.losses import softmax
from glassnet.nn.optim import Optimizer
from glassnet.training.callbacks import EarlyStopping
from glassnet.training.config import TrainConfig, blas_threads, build
from glassnet.training.history import History
from glassnet.training.loop import fit


class NotFittedError(GlassnetError, SklearnNotFittedError):
    """``predict`` (or similar) was called before ``fit``."""


# What build() bakes into the network and optimizer; warm_start cannot change these.
BUILT_SETTINGS = (
    "hidden_layer_sizes",
    "activation",
    "output_activation",
    "init",
    "dropout",
    "optimizer",
    "momentum",
    "nesterov",
    "betas",
    "dtype",
    "loss",
)
# TrainConfig names that differ from the estimator's parameter names.
PARAMETER_OF = {"optimizer": "solver", "lr": "learning_rate", "epochs": "max_epochs"}


class InputTypeError(DataError, TypeError):
    """Input of a kind no estimator can use (sparse matrices, dicts in X); also a TypeError
    so code written for scikit-learn estimators catches it as before."""


class _GlassNet(BaseEstimator):
    """What the classifier and the regressor share: parameters, training and state.

    The parameters map one to one onto ``TrainConfig`` (``solver`` -> ``optimizer``,
    ``learning_rate`` -> ``lr``, ``max_epochs`` -> ``epochs``); ``batch_size="auto"`` is
    min(200, n_samples) and None is full batch. ``early_stopping`` monitors the validation
    loss (``validation_data`` given to ``fit``, else a held-out ``validation_fraction``)
    and stops after ``patience`` epochs without an improvement of ``min_delta``.
    ``warm_start`` keeps the network, optimizer state and random stream of the last fit
    (and takes a new ``learning_rate``, ``l2``, ``max_epochs`` or ``batch_size``); changing
    a parameter baked into the network or optimizer raises ``ConfigError``. Its early
    stopping holds out the same rows of ``X`` every fit. An int ``hidden_layer_sizes``
    means one hidden layer, as in scikit-learn.
    """

    _loss_name = "cross_entropy"

    def __init__(
        self,
        hidden_layer_sizes: tuple[int, ...] = (100,),
        activation: str = "relu",
        *,
        output_activation: str = "identity",
        solver: str = "adam",
        learning_rate: float = 0.001,
        momentum: float = 0.9,
        nesterov: bool = False,
        betas: tuple[float, float] = (0.9, 0.999),
        l2: float = 0.0001,
        dropout: float = 0.0,
        init: str | None = None,
        batch_size: int | str | None = "auto",
        max_epochs: int = 200,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        min_delta: float = 0.0,
        warm_start: bool = False,
        random_state: Any = None,
        dtype: str = "float64",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output_activation = output_activation
        self.solver = solver
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.betas = betas
        self.l2 = l2
        self.dropout = dropout
        self.init = init
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.min_delta = min_delta
        self.warm_start = warm_start
        self.random_state = random_state
        self.dtype = dtype

    # -- what subclasses define ---------------------------------------------------------

    def _encode_targets(self, y: np.ndarray, *, first_fit: bool, classes: Any = None) -> np.ndarray:
        raise NotImplementedError

    def _n_outputs(self) -> int:
        raise NotImplementedError

    def _validation_score(self, x: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError

    # -- configuration ------------------------------------------------------------------

    def train_config(self, n_samples: int) -> TrainConfig:
        """The ``TrainConfig`` these parameters describe (validated there, in one place)."""
        if isinstance(self.batch_size, str):
            if self.batch_size != "auto":
                raise ConfigError(
                    f"batch_size must be 'auto', None or an integer, got {self.batch_size!r}"
                )
            batch_size: int | None = min(200, n_samples)  # scikit-learn's "auto"
        else:
            batch_size = self.batch_size
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, (int, np.integer)):
            sizes = (sizes,)  # one hidden layer, as scikit-learn reads an int
        try:
            return TrainConfig(
                hidden_layer_sizes=tuple(sizes),
                activation=self.activation,
                output_activation=self.output_activation,
                loss=self._loss_name,
                init=self.init,
                dropout=self.dropout,
                optimizer=self.solver,
                lr=self.learning_rate,
                momentum=self.momentum,
                nesterov=self.nesterov,
                betas=tuple(self.betas),  # type: ignore[arg-type]
                l2=self.l2,
                epochs=self.max_epochs,
                batch_size=batch_size,
                dtype=self.dtype,
            )
        except TypeError as exc:
            raise ConfigError(f"bad estimator parameter: {exc}") from None

    def _make_rng(self) -> np.random.Generator:
        """The one stream this fit draws from: ints seed a fresh Generator each fit."""
        state = self.random_state
        if state is None or isinstance(state, (int, np.integer)):
            return np.random.default_rng(state)
        if isinstance(state, np.random.Generator):
            return state
        if isinstance(state, np.random.RandomState):
            return np.random.default_rng(state.randint(np.iinfo(np.int32).max))
        raise ConfigError(f"random_state must be None, an int or a Generator, got {state!r}")

    # -- training -----------------------------------------------------------------------

    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        validation_data: tuple[Any, Any] | None = None,
    ) -> _GlassNet:
        """Train for up to ``max_epochs`` epochs (continuing the last fit if ``warm_start``).

        ``X`` (n_samples, n_features); ``y`` (n_samples,) or (n_samples, n_outputs) for
        regression. ``validation_data=(X_val, y_val)`` is recorded every epoch and, with
        ``early_stopping``, monitored instead of holding out ``validation_fraction``.
        """
        continuing = self.warm_start and hasattr(self, "network_")
        return self._train(X, y, sample_weight, validation_data, fresh=not continuing, epochs=None)

    def _train(
        self,
        X,
        y,
        sample_weight,
        validation_data,
        *,
        fresh: bool,
        epochs: int | None,
        classes: Any = None,
    ):
        x, y = self._check_xy(X, y, reset=fresh)
        y = self._encode_targets(y, first_fit=fresh, classes=classes)
        weight = self._check_weight(sample_weight, x, y)
        if fresh:
            self._rng = self._make_rng()
            self._hold_out_seed: int | None = None
        config = self.train_config(len(x))
        if fresh:
            self._built = config
        else:
            self._check_unchanged(config)
        validation = None
        if validation_data is not None:
            x_valid, y_valid = validation_data
            x_valid, y_valid = self._check_xy(x_valid, y_valid, reset=False, what="validation X")
            validation = (x_valid, self._encode_targets(y_valid, first_fit=False))
        elif self.early_stopping and epochs is None:
            x, y, weight, validation = self._hold_out(x, y, weight)
        dtype = np.dtype(config.dtype)
        x = np.ascontiguousarray(x, dtype=dtype)
        if validation is not None:
            validation = (np.ascontiguousarray(validation[0], dtype=dtype), validation[1])
        if self._loss_name == "mse":
            y = y.astype(dtype)
            if validation is not None:
                validation = (validation[0], validation[1].astype(dtype))
        if fresh:
            self.network_, self._loss, self.optimizer_ = build(
                config, x.shape[1], self._n_outputs(), self._rng
            )
            self._history = History()
            self._validation_scores: list[float] = []
        else:
            # Continuing keeps the optimizer's state but takes a learning rate set since,
            # so warm_start can follow a hand-made schedule.
            self.optimizer_.lr = float(config.lr)
        l2, weight = _weighted_l2(config.l2, weight)
        callbacks: list[Any] = []
        stopper = None
        if validation is not None:
            callbacks.append(self._record_score(validation))
            if self.early_stopping and epochs is None:
                stopper = EarlyStopping(self.patience, min_delta=self.min_delta, restore_best=True)
                callbacks.append(stopper)
        elif self.early_stopping and epochs is None:
            raise ConfigError("early_stopping needs validation data")
        network: Sequential = self.network_
        optimizer: Optimizer = self.optimizer_
        # Small products run faster on one BLAS thread (BENCHMARKS.md); large ones keep all.
        threads = blas_threads(network, min(config.batch_size or len(x), len(x)))
        with np.errstate(over="ignore", under="ignore"), threadpool_limits(threads, "blas"):
            fit(
                network,
                self._loss,
                optimizer,
                (x, y),
                validation,
                epochs=config.epochs if epochs is None else epochs,
                batch_size=config.batch_size,
                l2=l2,
                rng=self._rng,
                sample_weight=weight,
                callbacks=callbacks,
                history=self._history,
            )
        self.n_iter_ = len(self._history.train_loss)
        self.loss_curve_ = list(self._history.train_loss)
        self.validation_loss_curve_ = list(self._history.validation_loss)
        self.validation_scores_ = list(self._validation_scores)
        if stopper is not None:
            self.best_epoch_: int | None = stopper.best_epoch
        elif fresh:
            self.best_epoch_ = None
        return self

    def _check_unchanged(self, config: TrainConfig) -> None:
        """Refuse to continue a network whose architecture or optimizer the parameters changed."""
        built, now = self._built.to_dict(), config.to_dict()
        changed = [PARAMETER_OF.get(key, key) for key in BUILT_SETTINGS if built[key] != now[key]]
        if changed:
            raise ConfigError(
                f"warm_start continues the network and optimizer of the last fit, which "
                f"{', '.join(changed)} cannot change; set warm_start=False (or clone the "
                "estimator) to train a new network"
            )

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> _GlassNet:
        """One epoch over ``(X, y)`` from the current weights (a fresh net the first time)."""
        fresh = not hasattr(self, "network_")
        return self._train(X, y, sample_weight, None, fresh=fresh, epochs=1)

    def _record_score(self, validation: tuple[np.ndarray, np.ndarray]):
        def record(epoch: int, history: History, model: Sequential) -> None:
            self._validation_scores.append(self._validation_score(*validation))

        return record

    def _hold_out(self, x, y, weight):
        """Split ``validation_fraction`` of the training data off, drawn from the one stream
        once; later warm-started fits reuse that draw, so no held-out row is trained on."""
        fraction = self.validation_fraction
        if not 0.0 < fraction < 1.0:
            raise ConfigError(f"validation_fraction must be in (0, 1), got {fraction}")
        if self._hold_out_seed is None:
            self._hold_out_seed = int(self._rng.integers(np.iinfo(np.int32).max))
        seed = self._hold_out_seed
        stratify = y if self._loss_name == "cross_entropy" else None
        arrays = [x, y] if weight is None else [x, y, weight]
        try:
            parts = train_test_split(
                *arrays, test_size=fraction, random_state=seed, stratify=stratify
            )
        except ValueError as exc:
            raise DataError(
                f"cannot hold out validation_fraction={fraction} for early stopping ({exc}); "
                "pass validation_data=(X_val, y_val) or use more samples"
            ) from None
        x_train, x_valid, y_train, y_valid = parts[:4]
        return x_train, y_train, None if weight is None else parts[4], (x_valid, y_valid)

    # -- input checks -------------------------------------------------------------------

    def _check_xy(self, X, y, *, reset: bool, what: str = "X"):
        multi = self._loss_name == "mse"
        try:
            if what == "X":
                return validate_data(self, X, y, reset=reset, multi_output=multi, y_numeric=multi)
            x, y = check_X_y(X, y, multi_output=multi, y_numeric=multi)
            if x.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"{what} has {x.shape[1]} features, but {type(self).__name__} is "
                    f"expecting {self.n_features_in_} features as input"
                )
            return x, y
        except GlassnetError:
            raise
        except ValueError as exc:
            raise DataError(str(exc)) from None
        except TypeError as exc:
            raise InputTypeError(str(exc)) from None

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(X, y) first"
            )

    def _check_x(self, X) -> np.ndarray:
        self._check_fitted()
        try:
            x = validate_data(self, X, reset=False)
        except ValueError as exc:
            raise DataError(str(exc)) from None
        except TypeError as exc:
            raise InputTypeError(str(exc)) from None
        return np.ascontiguousarray(x, dtype=self.network_.dtype)

    def _check_weight(self, sample_weight, x, y) -> np.ndarray | None:
        try:
            weight = _check_sample_weight(
                sample_weight, x, dtype=np.float64, ensure_non_negative=True
            )
        except ValueError as exc:
            raise DataError(str(exc)) from None
        weight = weight * self._class_weights(y)
        if not np.any(weight > 0):
            raise DataError("sample weights (times class weights) are all zero; nothing to fit")
        if sample_weight is None and np.all(weight == 1.0):
            return None
        return weight

    def _class_weights(self, y: np.ndarray) -> np.ndarray | float:
        return 1.0

    def _outputs(self, X: Any) -> np.ndarray:
        x = self._check_x(X)
        self.network_.eval()
        return self.network_.forward(x)

    def to_model(self) -> Model:
        """The fitted network as a glassnet ``Model`` (save it with
        ``glassnet.models.checkpoint``)."""
        self._check_fitted()
        task = "classification" if self._loss_name == "cross_entropy" else "regression"
        return Model(
            [self.network_],
            task=task,
            classes=getattr(self, "classes_", None),
            info={"estimator": type(self).__name__},
        )


def _weighted_l2(l2: float, weight: np.ndarray | None) -> tuple[float, np.ndarray | None]:
    """Sample weights rescaled to mean 1 and the L2 strength that goes with them.

    ``fit`` averages ``w_i * loss_i`` over the n rows and puts N = n in the L2 term; a
    weight of k must instead act like k copies of the sample (scikit-learn's contract), so
    the objective divides by sum(w): weights times n / sum(w), l2 times n / sum(w).
    """
    if weight is None:
        return l2, None
    factor = len(weight) / weight.sum()
    return l2 * factor, weight * factor


class GlassNetClassifier(ClassifierMixin, _GlassNet):
    """A multilayer perceptron classifier: softmax cross-entropy over the output logits.

    ``class_weight`` (dict label -> weight, or ``"balanced"``) multiplies ``sample_weight``.
    Fitted state: ``classes_``, ``n_features_in_``, ``network_``, ``optimizer_``, ``n_iter_``,
    ``loss_curve_`` (training objective per epoch), ``validation_loss_curve_`` and
    ``validation_scores_`` (accuracy) when there is validation data, ``best_epoch_``
    (0-based epoch whose weights early stopping restored, else None).
    """

    _loss_name = "cross_entropy"

    def __init__(
        self,
        hidden_layer_sizes: tuple[int, ...] = (100,),
        activation: str = "relu",
        *,
        output_activation: str = "identity",
        solver: str = "adam",
        learning_rate: float = 0.001,
        momentum: float = 0.9,
        nesterov: bool = False,
        betas: tuple[float, float] = (0.9, 0.999),
        l2: float = 0.0001,
        dropout: float = 0.0,
        init: str | None = None,
        batch_size: int | str | None = "auto",
        max_epochs: int = 200,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        min_delta: float = 0.0,
        warm_start: bool = False,
        random_state: Any = None,
        dtype: str = "float64",
        class_weight: dict[Any, float] | str | None = None,
    ) -> None:
        super().__init__(
            hidden_layer_sizes,
            activation,
            output_activation=output_activation,
            solver=solver,
            learning_rate=learning_rate,
            momentum=momentum,
            nesterov=nesterov,
            betas=betas,
            l2=l2,
            dropout=dropout,
            init=init,
            batch_size=batch_size,
            max_epochs=max_epochs,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            patience=patience,
            min_delta=min_delta,
            warm_start=warm_start,
            random_state=random_state,
            dtype=dtype,
        )
        self.class_weight = class_weight

    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> GlassNetClassifier:
        """One epoch over ``(X, y)``; the first call needs ``classes``, every label to expect."""
        fresh = not hasattr(self, "network_")
        if fresh and classes is None:
            raise ConfigError("the first partial_fit call needs classes=[every label]")
        return self._train(X, y, sample_weight, None, fresh=fresh, epochs=1, classes=classes)

    def _encode_targets(self, y, *, first_fit: bool, classes: Any = None) -> np.ndarray:
        try:
            check_classification_targets(y)
        except ValueError as exc:
            raise DataError(
                f"{exc}; GlassNetClassifier needs class labels, "
                "use GlassNetRegressor for continuous targets"
            ) from None
        if first_fit:
            if classes is None:
                self.classes_ = check_classes(np.asarray(y))
            else:
                self.classes_ = np.unique(np.asarray(classes))
        return check_known_labels(y, self.classes_)

    def _n_outputs(self) -> int:
        return len(self.classes_)

    def _class_weights(self, y: np.ndarray) -> np.ndarray | float:
        if self.class_weight is None:
            return 1.0
        from sklearn.utils.class_weight import compute_class_weight

        present = np.unique(y)
        labels = self.classes_[present]
        try:
            if isinstance(self.class_weight, (str, dict)):
                weights = compute_class_weight(
                    self.class_weight, classes=labels, y=self.classes_[y]
                )
            else:
                raise ConfigError("class_weight must be a dict, 'balanced' or None")
        except ValueError as exc:
            raise ConfigError(f"bad class_weight: {exc}") from None
        per_class = np.ones(len(self.classes_))
        per_class[present] = weights
        return per_class[y]

    def _validation_score(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(self._history.validation_accuracy[-1])

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        return softmax(self._outputs(X))

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of ``predict_proba`` (-inf where a probability underflows to 0)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class label for each row of ``X``, shape (n_samples,)."""
        best = self._outputs(X).argmax(axis=1)
        return self.classes_[best]


class GlassNetRegressor(RegressorMixin, _GlassNet):
    """A multilayer perceptron regressor: half mean squared error, identity outputs.

    ``y`` may be (n_samples,) or (n_samples, n_outputs). Fitted state as for the
    classifier, with ``validation_scores_`` holding R^2 per epoch.
    """

    _loss_name = "mse"

    def _encode_targets(self, y, *, first_fit: bool, classes: Any = None) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        if first_fit:
            self._target_ndim = y.ndim
            self._n_targets = 1 if y.ndim == 1 else y.shape[1]
        elif (1 if y.ndim == 1 else y.shape[1]) != self._n_targets:
            raise DataError(
                f"y has {1 if y.ndim == 1 else y.shape[1]} targets, "
                f"the model was fitted with {self._n_targets}"
            )
        return y.reshape(len(y), -1)

    def _n_outputs(self) -> int:
        return self._n_targets

    def _validation_score(self, x: np.ndarray, y: np.ndarray) -> float:
        self.network_.eval()
        score = float(r2_score(y, self.network_.forward(x)))
        self.network_.train()
        return score

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets: (n_samples,) for one target, else (n_samples, n_outputs)."""
        out = self._outputs(X)
        return out[:, 0] if self._target_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


__all__ = ["GlassNetClassifier", "GlassNetRegressor", "InputTypeError", "NotFittedError"]
