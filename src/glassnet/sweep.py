"""Run many independent trainings (a grid of TrainConfigs x seeds) in parallel processes.

Each trial gets its own ``numpy.random.Generator`` spawned from the run's one seed, so a
trial's result does not depend on which process ran it or in which order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from glassnet.data import Scaler
from glassnet.train import History, TrainConfig, fit_from_config


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

    def record(self) -> dict[str, Any]:
        """A flat summary for tables and JSON lines."""
        record: dict[str, Any] = {"trial": self.index, **self.params}
        if self.history.validation_accuracy:
            record["validation_accuracy"] = self.score
        if self.history.validation_loss:
            record["validation_loss"] = self.history.validation_loss[-1]
        record["train_loss"] = self.history.train_loss[-1]
        return record

    @property
    def score(self) -> float:
        """Validation accuracy of the weights the trial ended with: after its last epoch, or
        at the best epoch when early stopping restored that one."""
        accuracy = self.history.validation_accuracy
        return accuracy[-1 if self.history.best_epoch is None else self.history.best_epoch]


def resolve_n_jobs(n_jobs: int | None, n_tasks: int) -> int:
    """``-1`` or ``None`` means all cores; never more processes than tasks."""
    cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs < 0:
        n_jobs = cores
    return max(1, min(n_jobs, n_tasks))


def run_trial(
    trial: Trial,
    train_data: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    n_outputs: int,
    keep_state: bool = False,
    image_shape: tuple[int, int] | None = None,
    scaler: Scaler | None = None,
) -> TrialResult:
    """Train one trial with one BLAS thread: small matrices run faster single-threaded and
    the cores are better spent on other trials. ``keep_state`` returns the learned weights;
    ``image_shape`` and ``scaler`` describe the inputs for augmentation."""
    with threadpool_limits(limits=1, user_api="blas"):
        model, history = fit_from_config(
            trial.config, train_data, validation, n_outputs=n_outputs, rng=trial.rng,
            image_shape=image_shape, scaler=scaler,
        )
    state = model.state_dict() if keep_state else None
    return TrialResult(trial.index, trial.params, history, state)


def run_trials(
    trials: list[Trial],
    train_data: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    *,
    n_outputs: int,
    n_jobs: int | None = -1,
    on_result: Callable[[TrialResult], None] | None = None,
    keep_state: bool = False,
    image_shape: tuple[int, int] | None = None,
    scaler: Scaler | None = None,
) -> list[TrialResult]:
    """Run every trial, calling ``on_result`` as each one finishes; results in trial order."""
    n_jobs = resolve_n_jobs(n_jobs, len(trials))
    settings: dict[str, Any] = {
        "keep_state": keep_state, "image_shape": image_shape, "scaler": scaler,
    }
    results: Iterator[TrialResult]
    if n_jobs == 1:
        results = (run_trial(t, train_data, validation, n_outputs, **settings) for t in trials)
    else:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        results = parallel(
            delayed(run_trial)(t, train_data, validation, n_outputs, **settings) for t in trials
        )
    collected = []
    for result in results:
        if on_result is not None:
            on_result(result)
        collected.append(result)
    return sorted(collected, key=lambda r: r.index)
