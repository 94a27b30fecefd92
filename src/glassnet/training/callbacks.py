"""Callbacks for ``fit``: objects called as ``callback(epoch, history, model)`` after each epoch.

A callback may also define ``on_train_end(history, model)``, which ``fit`` calls once when
training ends (normally or through ``StopTraining``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from glassnet.errors import ConfigError
from glassnet.nn.layers import Sequential
from glassnet.nn.optim import Optimizer
from glassnet.training.history import History, StopTraining

MONITORS = {"validation_loss": "min", "validation_accuracy": "max", "train_loss": "min"}


class EarlyStopping:
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best=True`` the model ends with the weights of its best epoch
    (``best_epoch``, 0-based: the best monitored value, however small its lead), whether
    training stopped early or ran out of epochs.
    """

    def __init__(
        self,
        patience: int = 10,
        *,
        monitor: str = "validation_loss",
        min_delta: float = 0.0,
        restore_best: bool = True,
    ) -> None:
        if monitor not in MONITORS:
            raise ConfigError(f"cannot monitor {monitor!r}; choose one of {sorted(MONITORS)}")
        if int(patience) != patience or patience < 1:
            raise ConfigError(f"patience must be a positive integer, got {patience}")
        self.patience, self.monitor = int(patience), monitor
        self.min_delta, self.restore_best = float(min_delta), restore_best
        self.sign = 1.0 if MONITORS[monitor] == "min" else -1.0
        self.on_train_begin(History(), None)

    def on_train_begin(self, history: History, model: Sequential | None) -> None:
        """Forget any earlier training, so one instance can serve several ``fit`` calls."""
        self.best_value = np.inf
        self.best_epoch = -1
        # The last improvement by more than min_delta, from which patience counts.
        self.reference_value, self.reference_epoch = np.inf, -1
        self.best_state: dict[str, np.ndarray] | None = None
        self.stopped_epoch: int | None = None

    def __call__(self, epoch: int, history: History, model: Sequential) -> None:
        values = getattr(history, self.monitor)
        if not values:
            raise ConfigError(f"early stopping on {self.monitor} needs validation data")
        value = self.sign * values[-1]
        # Any improvement is the new best epoch, the one restored; only an improvement by
        # more than min_delta restarts the patience count.
        if value < self.best_value:
            self.best_value, self.best_epoch = value, epoch
            if self.restore_best:
                self.best_state = {k: v.copy() for k, v in model.state_dict().items()}
        if value < self.reference_value - self.min_delta:
            self.reference_value, self.reference_epoch = value, epoch
        elif epoch - self.reference_epoch >= self.patience:
            self.stopped_epoch = epoch
            raise StopTraining

    def on_train_end(self, history: History, model: Sequential) -> None:
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(self.best_state)

    def state_dict(self) -> dict[str, Any]:
        """What an interrupted training must keep to stop and restore exactly as an
        uninterrupted one: the best and reference values and epochs, and the best weights
        (as ``weights.<name>`` arrays)."""
        state: dict[str, Any] = {
            "best_value": float(self.best_value),
            "best_epoch": self.best_epoch,
            "reference_value": float(self.reference_value),
            "reference_epoch": self.reference_epoch,
        }
        for key, value in (self.best_state or {}).items():
            state[f"weights.{key}"] = value
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state_dict``'s record."""
        self.best_value, self.best_epoch = float(state["best_value"]), int(state["best_epoch"])
        self.reference_value = float(state["reference_value"])
        self.reference_epoch = int(state["reference_epoch"])
        weights = {
            key.removeprefix("weights."): np.array(value)
            for key, value in state.items()
            if key.startswith("weights.")
        }
        self.best_state = weights or None

    @property
    def best_score(self) -> float:
        """The best monitored value, in its own sign."""
        return self.sign * self.best_value


class Convergence:
    """scikit-learn's stopping rule for its stochastic MLP solvers, as a callback.

    Each epoch counts as "no improvement" when the training loss is above the best so far
    minus ``tol`` or, with a ``score(model) -> float`` (early stopping), when that score is
    below the best plus ``tol``. More than ``n_iter_no_change`` such epochs in a row end
    training, unless ``adaptive`` divides ``optimizer.lr`` by 5 instead (until it is
    ``min_lr`` or less). With a score, the model ends with the weights of its best-scoring
    epoch. The state (counts, bests, ``scores``) carries over between ``fit`` calls, as a
    warm-started scikit-learn estimator keeps it.
    """

    def __init__(
        self,
        tol: float,
        n_iter_no_change: float,
        *,
        score: Callable[[Sequential], float] | None = None,
        optimizer: Optimizer | None = None,
        adaptive: bool = False,
        min_lr: float = 1e-6,
    ) -> None:
        if not tol >= 0.0 or not n_iter_no_change > 0:
            raise ConfigError(
                f"tol must be >= 0 and n_iter_no_change > 0, got {tol} and {n_iter_no_change}"
            )
        if adaptive and optimizer is None:
            raise ConfigError("an adaptive learning rate needs the optimizer")
        self.tol, self.n_iter_no_change = float(tol), n_iter_no_change
        self.score, self.optimizer = score, optimizer
        self.adaptive, self.min_lr = adaptive, float(min_lr)
        self.no_improvement_count = 0
        self.best_loss, self.best_score = np.inf, -np.inf
        self.scores: list[float] = []
        self.best_state: dict[str, np.ndarray] | None = None
        self.best_epoch: int | None = None  # with a score: the epoch whose weights are kept
        self.converged = False

    def on_train_begin(self, history: History, model: Sequential) -> None:
        self.converged = False
        if self.score is not None and self.best_state is None:
            # A score that never beats -inf (all NaN) restores the starting weights.
            self.best_state = {k: v.copy() for k, v in model.state_dict().items()}

    def __call__(self, epoch: int, history: History, model: Sequential) -> None:
        if self.score is not None:
            value = float(self.score(model))
            self.scores.append(value)
            worse = value < self.best_score + self.tol  # False for NaN, as in scikit-learn
            if value > self.best_score:
                self.best_score, self.best_epoch = value, epoch
                self.best_state = {k: v.copy() for k, v in model.state_dict().items()}
        else:
            value = history.train_loss[-1]
            worse = value > self.best_loss - self.tol
            self.best_loss = min(self.best_loss, value)
        self.no_improvement_count = self.no_improvement_count + 1 if worse else 0
        if self.no_improvement_count > self.n_iter_no_change:
            optimizer = self.optimizer
            if self.adaptive and optimizer is not None and optimizer.lr > self.min_lr:
                optimizer.lr /= 5.0
                self.no_improvement_count = 0
                return
            self.converged = True
            raise StopTraining

    def on_train_end(self, history: History, model: Sequential) -> None:
        if self.best_state is not None:  # only a score keeps weights
            model.load_state_dict(self.best_state)
