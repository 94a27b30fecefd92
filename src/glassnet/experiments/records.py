"""What a sweep trains and what it gets back, as plain data: a ``Trial`` (settings and its
own generator) and its ``TrialResult`` (history, weights, score). Both the trial runner
(``trials``) and the trajectories it saves (``trajectories``) speak these; neither imports
the other's module for them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from glassnet.training.config import TrainConfig
from glassnet.training.history import History


@dataclass
class Trial:
    """One training to run: its position in the sweep, its settings and its generator."""

    index: int
    config: TrainConfig
    rng: np.random.Generator
    params: dict[str, Any]


@dataclass
class TrialResult:
    index: int
    params: dict[str, Any]
    history: History
    state: dict[str, np.ndarray] | None = None
    diverged: str | None = None  # the DivergenceError's message when training blew up
    # Validation loss and accuracy (None for a regression) of the last epoch, for a trial
    # scored on validation only then (``run_trial(score_every_epoch=False)``): its history
    # has no validation curves, unless ``trajectories.complete_curves`` filled them in.
    last_validation: tuple[float, float | None] | None = None
    # The weights after every epoch of such a trial, (epochs, n_values) in WeightTrajectory's
    # layout, kept until its curves are scored.
    trajectory: np.ndarray | None = None

    def record(self) -> dict[str, Any]:
        """A flat summary for tables and JSON lines."""
        record: dict[str, Any] = {"trial": self.index, **self.params}
        if self.diverged is not None:
            record["diverged"] = self.diverged
        accuracy, losses = self.final_accuracy, self.history.validation_loss
        if accuracy is not None:
            record["validation_accuracy"] = accuracy
        if losses:
            record["validation_loss"] = losses[-1]
        elif self.last_validation is not None:
            record["validation_loss"] = self.last_validation[0]
        if self.history.train_loss:
            record["train_loss"] = self.history.train_loss[-1]
        return record

    @property
    def final_accuracy(self) -> float | None:
        """Validation accuracy of the weights the trial ended with: after its last epoch, or
        at the best epoch when early stopping restored that one."""
        accuracy = self.history.validation_accuracy
        if not accuracy:
            return None if self.last_validation is None else self.last_validation[1]
        return accuracy[-1 if self.history.best_epoch is None else self.history.best_epoch]

    @property
    def final_loss(self) -> float | None:
        """Validation loss of the same epoch as ``final_accuracy``."""
        losses = self.history.validation_loss
        if not losses:
            return None if self.last_validation is None else self.last_validation[0]
        return losses[-1 if self.history.best_epoch is None else self.history.best_epoch]

    @property
    def score(self) -> float:
        """``final_accuracy`` for choosing a trial (a regression, which has no accuracy: minus
        the validation loss of the same epoch); -inf for a diverged one, or one that scored
        NaN, which never win."""
        if self.diverged is not None:
            return -np.inf
        score = self.final_accuracy
        if score is None:
            loss = self.final_loss
            score = -np.inf if loss is None else -loss
        return -np.inf if np.isnan(score) else score
