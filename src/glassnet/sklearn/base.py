"""What ``MLPClassifier`` and ``MLPRegressor`` share: scikit-learn's parameters, glassnet's loop.

The names, defaults and meaning of every parameter and fitted attribute are
scikit-learn's (``sklearn.neural_network``); the training is glassnet's: the network is
``glassnet.nn.mlp``, the losses ``glassnet.nn.losses``, adam and sgd are ``glassnet.nn.optim``
driven by ``glassnet.training.loop.fit`` (with the ``Convergence`` and ``InverseScaling``
callbacks), and lbfgs is scipy's L-BFGS-B over ``loss_and_gradients``
(``glassnet.training.lbfgs``). Where conventions differ from the core:

- L2: scikit-learn's ``alpha`` is scaled *per minibatch*, ``0.5 * alpha / len(batch) *
  ||W||^2`` each step; the core's ``l2`` divides by the training-set size. These
  estimators ask the loop for the per-batch scaling (``l2_per_batch=True``), so ``alpha``
  means what it means in scikit-learn. lbfgs is full batch, where both agree.
- Adam adds ``epsilon`` to the bias-corrected root (``sqrt(s_hat) + eps``); scikit-learn adds
  it to the raw root. The two differ only while ``1 - beta_2**t`` is far from 1.
- One ``numpy.random.Generator`` made from ``random_state`` feeds the initial weights, the
  validation split and every shuffle; a warm or partial fit continues that stream.
- ``ConvergenceWarning`` is filed under scikit-learn's MLP module, so filters written for it
  (``module="sklearn"``) match; one on ``module="glassnet"`` does not.

As everywhere in glassnet, a fitted estimator holds weights, not data (no rows, labels or
activations after ``fit`` or ``predict``); a pickled or copied one trains exactly like the
original; ``coefs_`` / ``intercepts_`` are the network's own arrays (docs/guide/sklearn.md).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import (
    InvalidParameterError as SklearnInvalidParameterError,
)
from sklearn.utils.validation import _check_sample_weight, validate_data
from threadpoolctl import threadpool_limits

from glassnet.data.checks import is_sparse
from glassnet.errors import ConfigError, DataError, DivergenceError, GlassnetError
from glassnet.nn.layers import ACTIVATIONS, Linear, Param, Sequential, mlp
from glassnet.nn.optim import SGD, Adam, Optimizer
from glassnet.sklearn.conversion import estimator_model
from glassnet.training.callbacks import Convergence
from glassnet.training.config import LOSSES, blas_threads, full_batch_blas_threads
from glassnet.training.history import History
from glassnet.training.lbfgs import fit_lbfgs, objective
from glassnet.training.loop import fit
from glassnet.training.schedules import InverseScaling


class NotFittedError(GlassnetError, SklearnNotFittedError):
    """``predict`` (or similar) was called before ``fit``."""


class InputTypeError(DataError, TypeError):
    """Input of a kind no estimator can use (dicts in X, ...); also a TypeError so code
    written for scikit-learn estimators catches it as before."""


class NonFiniteWeightsError(DivergenceError, ValueError):
    """Training produced NaN or infinite weights; a ValueError, as scikit-learn raises."""


class InvalidParameterError(ConfigError, SklearnInvalidParameterError):
    """A constructor parameter out of its range or of the wrong type: a glassnet ConfigError
    that is also scikit-learn's InvalidParameterError (a ValueError *and* a TypeError), so
    ``except TypeError`` written for scikit-learn's estimators catches it too."""


NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may contain large values "
    "and need to be preprocessed."
)
SOLVERS = ("adam", "sgd", "lbfgs")
LEARNING_RATES = ("constant", "invscaling", "adaptive")


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, training and state.

    Subclasses say which loss and output link they use and how targets are encoded.

    glassnet's extras, beyond scikit-learn's parameters: ``dropout`` (probability after
    each hidden layer, adam/sgd only), ``dtype`` (None keeps the input's float dtype, or
    "float32" / "float64"), ``fit(..., validation_data=(X_val, y_val))`` (recorded every
    epoch in ``validation_loss_curve_``; with ``early_stopping`` it is scored instead of a
    held-out ``validation_fraction``, and the best-scoring epoch's weights are restored).
    """

    # The notebook repr's documentation link: scikit-learn's page for the estimator of the
    # same name, whose parameters these take (glassnet's differences: docs/guide/sklearn.md).
    _doc_link_module = "glassnet"
    _doc_link_template = (
        "https://scikit-learn.org/stable/modules/generated/"
        "sklearn.neural_network.{estimator_name}.html"
    )

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
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.dtype = dtype

    # -- what subclasses define ---------------------------------------------------------

    _numeric_targets = False  # regression targets must be numbers; class labels need not

    def _loss_name(self) -> str:
        raise NotImplementedError

    def _out_activation(self) -> str:
        raise NotImplementedError

    def _encode(self, y: np.ndarray, *, first: bool, incremental: bool) -> np.ndarray:
        raise NotImplementedError

    def _score_outputs(self, outputs: np.ndarray, y: Any, weight: Any) -> float:
        raise NotImplementedError

    # -- parameters ---------------------------------------------------------------------

    def _sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]  # one hidden layer, as scikit-learn reads an int
        sizes = list(sizes)
        if any(int(size) != size or size <= 0 for size in sizes):
            raise InvalidParameterError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(size) for size in sizes]

    def _check_params(self) -> None:
        def check(ok: bool, message: str) -> None:
            if not ok:
                raise InvalidParameterError(message)

        check(self.solver in SOLVERS, f"solver must be one of {SOLVERS}, got {self.solver!r}")
        check(
            self.activation in ACTIVATIONS,
            f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}",
        )
        check(
            self.learning_rate in LEARNING_RATES,
            f"learning_rate must be one of {LEARNING_RATES}, got {self.learning_rate!r}",
        )
        check(
            _real(self.learning_rate_init) and self.learning_rate_init > 0,
            f"learning_rate_init must be > 0, got {self.learning_rate_init!r}",
        )
        check(_real(self.alpha) and self.alpha >= 0, f"alpha must be >= 0, got {self.alpha!r}")
        check(_real(self.tol) and self.tol >= 0, f"tol must be >= 0, got {self.tol!r}")
        check(
            _whole(self.max_iter) and self.max_iter >= 1,
            f"max_iter must be an integer >= 1, got {self.max_iter!r}",
        )
        check(
            _whole(self.max_fun) and self.max_fun >= 1,
            f"max_fun must be an integer >= 1, got {self.max_fun!r}",
        )
        check(
            _real(self.momentum) and 0 <= self.momentum < 1,
            f"momentum must be in [0, 1), got {self.momentum!r}",
        )
        for name in ("beta_1", "beta_2"):
            value = getattr(self, name)
            check(_real(value) and 0 <= value < 1, f"{name} must be in [0, 1), got {value!r}")
        check(_real(self.epsilon) and self.epsilon > 0, f"epsilon must be > 0, got {self.epsilon}")
        check(
            _real(self.validation_fraction) and 0 < self.validation_fraction < 1,
            f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}",
        )
        check(
            _real(self.n_iter_no_change, allow_inf=True) and self.n_iter_no_change > 0,
            f"n_iter_no_change must be > 0, got {self.n_iter_no_change!r}",
        )
        check(
            self.batch_size == "auto" or (_whole(self.batch_size) and self.batch_size >= 1),
            f"batch_size must be 'auto' or an integer >= 1, got {self.batch_size!r}",
        )
        check(
            _real(self.dropout) and 0 <= self.dropout < 1,
            f"dropout must be in [0, 1), got {self.dropout!r}",
        )
        check(
            self.dtype in (None, "float32", "float64"),
            f"dtype must be None, 'float32' or 'float64', got {self.dtype!r}",
        )

    def _make_rng(self) -> np.random.Generator:
        """The one stream a fresh fit draws from: ints seed a new Generator each time."""
        state = self.random_state
        if state is None or isinstance(state, (int, np.integer)):
            return np.random.default_rng(state)
        if isinstance(state, np.random.Generator):
            return state
        if isinstance(state, np.random.RandomState):
            return np.random.default_rng(state.randint(np.iinfo(np.int32).max))
        raise InvalidParameterError(
            f"random_state must be None, an int, a RandomState or a Generator, got {state!r}"
        )

    # -- training -----------------------------------------------------------------------

    def _fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any,
        *,
        incremental: bool,
        validation_data: tuple[Any, Any] | None = None,
    ):
        try:
            return self._fit_checked(X, y, sample_weight, incremental, validation_data)
        finally:
            # The labels _encode kept for the class weights: a fitted estimator keeps no data.
            self.__dict__.pop("_y_labels", None)

    def _fit_checked(
        self,
        X: Any,
        y: Any,
        sample_weight: Any,
        incremental: bool,
        validation_data: tuple[Any, Any] | None,
    ):
        self._check_params()
        sizes = self._sizes()
        first = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        x, y = self._check_x(X, reset=first, y=y, with_y=True)
        y = self._encode(y, first=first, incremental=incremental)
        if y.dtype.kind == "f":
            y = y.astype(x.dtype, copy=False)  # regression targets follow the input's dtype
        weight = self._sample_weight(sample_weight, x)
        if first:
            self._rng = self._make_rng()
            self._hold_out_seed: int | None = None
            self._history = History()
            self._convergence: Convergence | None = None
            self.t_ = 0
            self._build(sizes, x, y)
        else:
            self._resume(sizes, x, y)
        try:
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                if self.solver == "lbfgs":
                    self._fit_lbfgs(x, y, weight)
                else:
                    self._fit_stochastic(x, y, weight, incremental, validation_data)
        except DivergenceError as error:
            self._forget()
            epoch = len(getattr(error, "history", History()).train_loss) + 1
            raise NonFiniteWeightsError(
                f"{NON_FINITE} (the training loss became non-finite in epoch {epoch}; scale X "
                "or lower learning_rate_init)"
            ) from None
        if not all(np.isfinite(p.value).all() for p in self.network_.parameters()):
            self._forget()
            raise NonFiniteWeightsError(NON_FINITE)
        self._publish()
        return self

    def _build(self, sizes: list[int], x: Any, y: np.ndarray) -> None:
        """A fresh network, scikit-learn's Glorot-uniform init, from the stream."""
        dtype = x.dtype
        self.network_ = mlp(
            [x.shape[1], *sizes, y.shape[1] if y.ndim == 2 else len(self.classes_)],
            activation_name=self.activation,
            dropout=self.dropout if self.solver != "lbfgs" else 0.0,
            init="sklearn",
            rng=self._rng,
            dtype=dtype,
        )
        self._loss = LOSSES[self._loss_name()]()
        self._built = (sizes, self.activation, self.dropout)

    def _resume(self, sizes: list[int], x: Any, y: np.ndarray) -> None:
        """Continue the fitted network (or one made from hand-set ``coefs_``)."""
        if not hasattr(self, "network_"):
            # scikit-learn lets a user set coefs_ / intercepts_ and partial_fit from there.
            coefs, intercepts = self.coefs_, getattr(self, "intercepts_", None)
            if intercepts is None or len(intercepts) != len(coefs):
                raise InvalidParameterError(
                    "set both coefs_ and intercepts_ (one array per layer each) before "
                    "continuing from hand-set weights"
                )
            self._rng = self._make_rng()
            self._hold_out_seed = None
            self._history = History(train_loss=list(getattr(self, "loss_curve_", [])))
            self._convergence = None
            self.t_ = int(getattr(self, "t_", 0))
            shapes = [np.shape(coef) for coef in coefs]
            self._build([shape[1] for shape in shapes[:-1]], x, y)
            self.__dict__.pop("_hand_set", None)
            self.coefs_, self.intercepts_ = coefs, intercepts
        elif (sizes, self.activation, self.dropout) != self._built:
            raise ConfigError(
                f"warm_start continues the fitted network (hidden_layer_sizes, activation, "
                f"dropout) = {self._built}, which {(sizes, self.activation, self.dropout)} "
                "cannot change: set warm_start=False to train a new one"
            )

    def _fit_lbfgs(self, x: Any, y: np.ndarray, weight: np.ndarray | None) -> None:
        alpha, weight = _weighted_alpha(self.alpha, weight)
        # Full batch: one BLAS thread unless the products are long (full_batch_blas_threads).
        with threadpool_limits(full_batch_blas_threads(self.network_, x.shape[0]), "blas"):
            result = fit_lbfgs(
                self.network_,
                self._loss,
                (x, y),
                max_iter=self.max_iter,
                max_fun=self.max_fun,
                tol=self.tol,
                l2=alpha,
                sample_weight=weight,
                history=self._history,
            )
        self.n_iter_ = min(result.n_iter, self.max_iter)
        self.loss_ = result.loss
        self.best_loss_ = result.loss
        self.validation_scores_ = self.best_validation_score_ = None
        self._no_improvement_count = 0
        if not result.converged:
            _warn_convergence(
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                f"({result.message}). Increase max_iter (now {self.max_iter}) or max_fun "
                f"(now {self.max_fun}), or scale the data."
            )

    def _fit_stochastic(
        self,
        x: Any,
        y: np.ndarray,
        weight: np.ndarray | None,
        incremental: bool,
        validation_data: tuple[Any, Any] | None,
    ) -> None:
        if self.early_stopping and incremental:
            raise ConfigError("partial_fit does not support early_stopping=True")
        fresh_optimizer = not incremental or not hasattr(self, "_optimizer")
        if fresh_optimizer:
            self._optimizer = self._make_optimizer()
        optimizer: Optimizer = self._optimizer
        x_valid = y_valid = weight_valid = None
        if validation_data is not None:
            x_valid, y_valid = self._check_x(
                validation_data[0], reset=False, y=validation_data[1], with_y=True
            )
            y_valid = self._encode(y_valid, first=False, incremental=True)
            y_valid = y_valid.astype(x.dtype) if y_valid.dtype.kind == "f" else y_valid
        elif self.early_stopping:
            x, y, weight, (x_valid, y_valid, weight_valid) = self._hold_out(x, y, weight)
        n_samples = x.shape[0]
        batch_size = self._batch_size(n_samples)
        score = None
        if self.early_stopping:

            def score(model: Sequential) -> float:
                model.eval()
                outputs = model.forward(x_valid)
                model.train()
                if not np.all(np.isfinite(outputs)):
                    return float("nan")  # as scikit-learn scores a diverged network
                return self._score_outputs(outputs, y_valid, weight_valid)

        convergence = self._convergence
        if convergence is None or (score is not None) != self._scored:
            convergence = Convergence(self.tol, self.n_iter_no_change, score=score)
            if self.early_stopping and self._convergence is not None:
                convergence.scores = list(self._convergence.scores)
            self._convergence = convergence
        convergence.tol, convergence.n_iter_no_change = float(self.tol), self.n_iter_no_change
        convergence.score, convergence.optimizer = score, optimizer
        self._scored = score is not None
        convergence.adaptive = self.solver == "sgd" and self.learning_rate == "adaptive"
        callbacks: list[Any] = []
        if self.verbose:
            callbacks.append(_print_iteration)
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            # The schedule's base is learning_rate_init; a partial_fit keeps the rate the
            # last call's schedule set.
            rate, optimizer.lr = optimizer.lr, self.learning_rate_init
            callbacks.append(InverseScaling(optimizer, self.power_t, n_samples, self.t_))
            optimizer.lr = self.learning_rate_init if fresh_optimizer else rate
        callbacks.append(convergence)
        alpha, weight = _weighted_alpha(self.alpha, weight)
        validation = None
        if x_valid is not None and (validation_data is not None or not incremental):
            validation = (x_valid, y_valid)
        epochs = 1 if incremental else self.max_iter
        done_before = len(self._history.train_loss)
        threads = blas_threads(self.network_, batch_size)
        try:
            with threadpool_limits(threads, "blas"):
                fit(
                    self.network_,
                    self._loss,
                    optimizer,
                    (x, y),
                    validation,
                    epochs=epochs,
                    batch_size=batch_size,
                    l2=alpha,
                    l2_per_batch=True,
                    rng=self._rng,
                    sample_weight=weight,
                    callbacks=callbacks,
                    history=self._history,
                    shuffle=self.shuffle,
                )
        except DivergenceError:
            if convergence.score is None:
                raise
            # scikit-learn keeps going on NaN scores and restores the best epoch's weights;
            # here the loop stops at the first non-finite loss, and the best epoch is restored.
            convergence.scores.append(float("nan"))
            self._history.train_loss.append(float("nan"))
            convergence.on_train_end(self._history, self.network_)
            self.network_.eval()
        finally:
            # The score closes over the validation rows: a fitted estimator keeps no data.
            convergence.score = None
        self.n_iter_ = len(self._history.train_loss) - done_before
        self.t_ += self.n_iter_ * n_samples
        self.loss_ = float(self._history.train_loss[-1])
        self._no_improvement_count = convergence.no_improvement_count
        if self.early_stopping:
            self.validation_scores_ = list(convergence.scores)
            self.best_validation_score_ = float(convergence.best_score)
            self.best_epoch_ = convergence.best_epoch  # glassnet's: 0-based, into the curves
            self.best_loss_ = None
        else:
            self.validation_scores_ = self.best_validation_score_ = self.best_epoch_ = None
            self.best_loss_ = float(convergence.best_loss)
        if not incremental and not convergence.converged and self.n_iter_ == self.max_iter:
            _warn_convergence(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet."
            )

    def _batch_size(self, n_samples: int) -> int:
        """scikit-learn's: "auto" is min(200, n); larger than n is clipped, with a warning."""
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. "
                "It is going to be clipped",
                stacklevel=4,
            )
        return int(np.clip(self.batch_size, 1, n_samples))

    def _make_optimizer(self) -> Optimizer:
        params = self.network_.parameters()
        if self.solver == "sgd":
            # Nesterov with zero momentum is plain gradient descent: the same update.
            nesterov = bool(self.nesterovs_momentum) and self.momentum > 0
            return SGD(params, self.learning_rate_init, self.momentum, nesterov)
        return Adam(params, self.learning_rate_init, (self.beta_1, self.beta_2), self.epsilon)

    def _hold_out(self, x, y, weight):
        """Split ``validation_fraction`` off, drawn from the stream once; later warm-started
        fits hold out the same rows, so no held-out row is ever trained on."""
        if self._hold_out_seed is None:
            self._hold_out_seed = int(self._rng.integers(np.iinfo(np.int32).max))
        stratify = self._stratify(y)
        arrays = [x, y] if weight is None else [x, y, weight]
        try:
            parts = train_test_split(
                *arrays,
                test_size=self.validation_fraction,
                random_state=self._hold_out_seed,
                stratify=stratify,
            )
        except ValueError as exc:
            raise DataError(f"{exc} (early stopping's validation split)") from None
        x_train, x_valid, y_train, y_valid = parts[:4]
        weight_train, weight_valid = (None, None) if weight is None else parts[4:]
        if x_valid.shape[0] < 2:
            raise DataError(
                "The validation set is too small. Increase 'validation_fraction' or the size "
                "of your dataset."
            )
        return x_train, y_train, weight_train, (x_valid, y_valid, weight_valid)

    def _stratify(self, y: np.ndarray) -> np.ndarray | None:
        return None

    def _forget(self) -> None:
        """Back to plainly not fitted: no half-trained state survives a failed fit."""
        for name in list(vars(self)):
            if (
                name.endswith("_")
                and not name.startswith("__")
                or name in ("_optimizer", "_hand_set")
            ):
                delattr(self, name)

    def _linears(self) -> list[Linear]:
        return [layer for layer in self.network_.layers if isinstance(layer, Linear)]

    # -- the weights: one copy, the network's -------------------------------------------

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices ``(n_in, n_out)`` per layer: the network's own arrays, so what
        ``predict`` uses. Assigning the list, or one item, copies the values in."""
        return self._weights("coefs_")

    @coefs_.setter
    def coefs_(self, arrays: list[Any]) -> None:
        self._set_weights("coefs_", arrays)

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors ``(n_out,)`` per layer, the network's own (as ``coefs_``)."""
        return self._weights("intercepts_")

    @intercepts_.setter
    def intercepts_(self, arrays: list[Any]) -> None:
        self._set_weights("intercepts_", arrays)

    def _weights(self, name: str) -> list[np.ndarray]:
        if "network_" in vars(self):
            return _LayerArrays(name, self._layer_params(name))
        hand_set = vars(self).get("_hand_set", {})
        if name in hand_set:  # set before any fit: kept as given, for partial_fit to start from
            return hand_set[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _set_weights(self, name: str, arrays: list[Any]) -> None:
        if "network_" not in vars(self):
            self.__dict__.setdefault("_hand_set", {})[name] = arrays
            return
        params = self._layer_params(name)
        if len(arrays) != len(params):
            raise InvalidParameterError(
                f"{name} needs {len(params)} arrays, one per layer of the fitted network, "
                f"got {len(arrays)}"
            )
        for index, array in enumerate(arrays):
            _copy_into(name, index, params[index].value, array)

    def _layer_params(self, name: str) -> list[Param]:
        return [layer.weight if name == "coefs_" else layer.bias for layer in self._linears()]

    def _publish(self) -> None:
        """scikit-learn's fitted attributes (``coefs_`` and ``intercepts_`` are properties
        that read the network's own arrays)."""
        linears = self._linears()
        self.n_layers_ = len(linears) + 1
        self.n_outputs_ = linears[-1].out_features
        self.out_activation_ = self._out_activation()
        self.loss_curve_ = list(self._history.train_loss)
        self.validation_loss_curve_ = list(self._history.validation_loss)

    # -- input checks -------------------------------------------------------------------

    def _float_dtype(self) -> Any:
        return (np.float64, np.float32) if self.dtype is None else np.dtype(self.dtype)

    def _check_x(self, X: Any, *, reset: bool, y: Any = None, with_y: bool = False) -> Any:
        """Validated ``X`` (dense C-contiguous or CSR) in its float dtype; ``(x, y)`` with
        ``with_y`` (nothing of either is kept on the estimator)."""
        checked_y = None
        try:
            if not with_y:
                x = validate_data(
                    self, X, reset=reset, accept_sparse=["csr", "csc"], dtype=self._float_dtype()
                )
            else:
                x, checked_y = validate_data(
                    self,
                    X,
                    y,
                    reset=reset,
                    accept_sparse=["csr", "csc"],
                    multi_output=True,
                    y_numeric=self._numeric_targets,
                    dtype=self._float_dtype(),
                )
        except GlassnetError:
            raise
        except ValueError as exc:
            raise DataError(str(exc)) from None
        except TypeError as exc:
            raise InputTypeError(str(exc)) from None
        if hasattr(self, "network_") and not reset:
            x = x.astype(self.network_.dtype, copy=False)
        x = x.tocsr() if is_sparse(x) else np.ascontiguousarray(x)
        return (x, checked_y) if with_y else x

    def _sample_weight(self, sample_weight: Any, x: Any) -> np.ndarray | None:
        try:
            weight = _check_sample_weight(
                sample_weight, x, dtype=np.float64, ensure_non_negative=True
            )
        except ValueError as exc:
            raise DataError(str(exc)) from None
        weight = weight * self._class_weights()
        if not np.any(weight > 0):
            raise DataError("sample weights (times class weights) are all zero; nothing to fit")
        return None if np.all(weight == 1.0) else weight

    def _class_weights(self) -> np.ndarray | float:
        return 1.0

    def _outputs(self, X: Any) -> np.ndarray:
        if not hasattr(self, "network_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(X, y) first"
            )
        x = self._check_x(X, reset=False)
        self.network_.eval()
        return self.network_.forward(x)

    def _loss_grad_lbfgs(self, packed: np.ndarray, X: Any, y: Any, sample_weight=None, *_):
        """(objective, gradient) at the flat parameters ``packed`` (coefs, then intercepts),
        scikit-learn's packing; ``y`` as its LabelBinarizer gives it (or the targets)."""
        y = np.asarray(y)
        x = self._check_x(X, reset=False)
        if self._loss_name() == "cross_entropy":
            y = y.argmax(axis=1) if y.ndim == 2 else y  # one-hot rows -> class indices
        else:
            y = y.astype(x.dtype)
        function, _, _ = objective(self.network_, self._loss, x, y, l2=self.alpha)
        return function(np.asarray(packed, dtype=np.float64))

    def to_model(self):
        """The fitted network alone as a glassnet ``Model``, with a warning: a pipeline's
        steps before this estimator are invisible here (``glassnet.sklearn.to_model``)."""
        # An estimator cannot see the pipeline around it, so a scaler before it would be lost
        # without a word (issue 14 measured 0.78 instead of 0.97); say so every time.
        warnings.warn(
            f"{type(self).__name__}.to_model() converts only the network: inputs must be "
            "preprocessed as they were in fit; for a pipeline use "
            "glassnet.sklearn.to_model(pipeline), which keeps its preprocessing",
            UserWarning,
            stacklevel=2,
        )
        if not hasattr(self, "network_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")
        return estimator_model(self, [])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class _LayerArrays(list):
    """``coefs_`` / ``intercepts_`` of a fitted estimator: a list of the network's arrays in
    which ``coefs_[i] = array`` copies the values into layer ``i`` instead of replacing
    the list's item (which ``predict`` would never see)."""

    def __init__(self, name: str, params: list[Param]) -> None:
        super().__init__(param.value for param in params)
        self._name, self._params = name, params

    def __setitem__(self, index: Any, array: Any) -> None:
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"{self._name} takes one layer's array at a time, by position")
        _copy_into(self._name, int(index), self._params[index].value, array)


def _copy_into(name: str, index: int, target: np.ndarray, array: Any) -> None:
    source = np.asarray(array)
    if source.size != target.size or source.ndim > target.ndim:
        raise InvalidParameterError(
            f"{name}[{index}] has shape {source.shape}, the fitted layer's is {target.shape}: "
            "assign arrays of the fitted shapes, or fit a new network"
        )
    target[...] = source.reshape(target.shape)


def stochastic_solver(estimator: _BaseMLP) -> bool:
    """Whether ``partial_fit`` exists: only for adam and sgd, as in scikit-learn."""
    if estimator.solver not in ("sgd", "adam"):
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. "
            f"{estimator.solver} is not stochastic."
        )
    return True


# Where scikit-learn's MLP raises its ConvergenceWarning from: the module a warning filter
# matches (``filterwarnings(..., module="sklearn")`` is scikit-learn's own idiom).
WARNING_MODULE = "sklearn.neural_network._multilayer_perceptron"
# Frames from _warn_convergence up to the user's call: _fit_lbfgs or _fit_stochastic,
# _fit_checked, _fit, then fit.
_USER_FRAME = 5


def _warn_convergence(message: str) -> None:
    """Raise scikit-learn's ConvergenceWarning as its MLP does, for its filters.

    ``warnings.warn`` files a warning under the module of the frame it names, which here
    would be ``glassnet.sklearn.base`` (or the user's): a filter with ``module="sklearn"``,
    written for scikit-learn's MLP, would not match it. So the warning is filed under the
    module scikit-learn's MLP warns from, and shown at the line of the user's ``fit`` call.
    """
    try:
        frame = sys._getframe(_USER_FRAME)
    except ValueError:  # a shallower stack than fit's (no user frame): this module's caller
        frame = sys._getframe(1)
    warnings.warn_explicit(
        message,
        ConvergenceWarning,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=WARNING_MODULE,
        registry=frame.f_globals.setdefault("__warningregistry__", {}),
    )


def _print_iteration(epoch: int, history: History, model: Sequential) -> None:
    print(f"Iteration {epoch + 1}, loss = {history.train_loss[-1]:.8f}")


def _real(value: Any, allow_inf: bool = False) -> bool:
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool
    )
    return number and (bool(np.isfinite(value)) or (allow_inf and value == np.inf))


def _whole(value: Any) -> bool:
    return _real(value) and int(value) == value


def _weighted_alpha(alpha: float, weight: np.ndarray | None) -> tuple[float, np.ndarray | None]:
    """Sample weights rescaled to mean 1 and the L2 strength that goes with them.

    The loop averages ``w_i * loss_i`` over the rows and divides the L2 term by the row
    count; scikit-learn divides both by sum(w) instead (a weight of k acts like k copies),
    so weights and alpha are multiplied by n / sum(w).
    """
    if weight is None:
        return float(alpha), None
    factor = len(weight) / weight.sum()
    return float(alpha) * factor, weight * factor
