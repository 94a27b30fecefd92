"""Run many independent trainings (a grid of TrainConfigs x seeds) in parallel processes.

Each trial gets its own ``numpy.random.Generator`` spawned from the run's one seed, so a
trial's result does not depend on which process ran it or in which order.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from glassnet.atomic import write_atomic
from glassnet.data.preprocessing import Scaler
from glassnet.errors import ConfigError, DivergenceError
from glassnet.training.config import TrainConfig, fit_from_config
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

    def record(self) -> dict[str, Any]:
        """A flat summary for tables and JSON lines."""
        record: dict[str, Any] = {"trial": self.index, **self.params}
        if self.diverged is not None:
            record["diverged"] = self.diverged
        if self.history.validation_accuracy:
            record["validation_accuracy"] = self.final_accuracy
        if self.history.validation_loss:
            record["validation_loss"] = self.history.validation_loss[-1]
        if self.history.train_loss:
            record["train_loss"] = self.history.train_loss[-1]
        return record

    @property
    def final_accuracy(self) -> float | None:
        """Validation accuracy of the weights the trial ended with: after its last epoch, or
        at the best epoch when early stopping restored that one."""
        accuracy = self.history.validation_accuracy
        if not accuracy:
            return None
        return accuracy[-1 if self.history.best_epoch is None else self.history.best_epoch]

    @property
    def score(self) -> float:
        """``final_accuracy`` for choosing a trial (a regression, which has no accuracy: minus
        the validation loss of the same epoch); -inf for a diverged one, which never wins."""
        accuracy = self.final_accuracy
        losses = self.history.validation_loss
        if accuracy is None and losses and self.diverged is None:
            return -losses[-1 if self.history.best_epoch is None else self.history.best_epoch]
        return -np.inf if self.diverged is not None or accuracy is None else accuracy


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
        try:
            model, history = fit_from_config(
                trial.config,
                train_data,
                validation,
                n_outputs=n_outputs,
                rng=trial.rng,
                image_shape=image_shape,
                scaler=scaler,
            )
        except DivergenceError as exc:
            # One bad setting in a grid should not sink the sweep: record it and move on.
            return TrialResult(trial.index, trial.params, exc.history, diverged=str(exc))
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
        "keep_state": keep_state,
        "image_shape": image_shape,
        "scaler": scaler,
    }
    task = functools.partial(
        run_trial, train_data=train_data, validation=validation, n_outputs=n_outputs, **settings
    )
    collected = []
    with in_processes(task, trials, n_jobs) as results:
        for result in results:
            if on_result is not None:
                on_result(result)
            collected.append(result)
    return sorted(collected, key=lambda r: r.index)


@contextmanager
def in_processes(
    task: Callable[[Trial], TrialResult], trials: list[Trial], n_jobs: int
) -> Iterator[Iterator[TrialResult]]:
    """``task`` over ``trials`` in ``n_jobs`` processes (this one alone for 1), yielding the
    results as they finish.

    Where the system can fork (Linux), the workers are forks of this process: they start
    in milliseconds with NumPy and glassnet already imported, where loky's fresh interpreters
    (used elsewhere) cost ~0.5 s of CPU each to import them (benchmarks/end_to_end.py).
    """
    if n_jobs == 1:
        yield (task(trial) for trial in trials)
    elif "fork" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("fork")
        # Leaving the block terminates the workers, also on Ctrl-C or an error.
        with context.Pool(n_jobs, initializer=_leave_signals_to_parent) as pool:
            yield pool.imap_unordered(task, trials)
    else:
        # Imported here: joblib (with asyncio and psutil) costs ~0.12 s of start-up CPU that a
        # forking system never needs.
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        yield parallel(delayed(task)(trial) for trial in trials)


def _leave_signals_to_parent() -> None:
    """In a forked worker: Ctrl-C is the parent's to handle (it ends the pool), and SIGTERM
    ends the worker, instead of the handlers (e.g. StopSignals) copied from the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def save_trial(folder: str | Path, result: TrialResult) -> Path:
    """Record a finished trial as ``folder/trial-<index>.json`` (atomically), so an interrupted
    sweep can resume with only the missing trials."""
    path = Path(folder) / f"trial-{result.index:05d}.json"
    record = {
        "index": result.index,
        "params": result.params,
        "history": result.history.to_dict(),
        "diverged": result.diverged,
    }
    text = json.dumps(record)
    write_atomic(path, lambda handle: handle.write(text), mode="w")
    return path


def load_trials(folder: str | Path, trials: list[Trial]) -> dict[int, TrialResult]:
    """The trials of ``trials`` already recorded in ``folder``, by index.

    A record whose settings differ from its trial's is a ConfigError: it belongs to another
    sweep. A half-written file cannot exist (records are written atomically).
    """
    by_index = {trial.index: trial for trial in trials}
    finished: dict[int, TrialResult] = {}
    for path in sorted(Path(folder).glob("trial-*.json")):
        try:
            record = json.loads(path.read_text())
            result = TrialResult(
                int(record["index"]),
                dict(record["params"]),
                History(**record["history"]),
                diverged=record.get("diverged"),
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(f"{path} is not a trial record ({exc}); delete it to rerun") from None
        trial = by_index.get(result.index)
        if trial is None or result.params != trial.params:
            raise ConfigError(f"{path} was recorded by a different sweep; use a fresh folder")
        finished[result.index] = result
    return finished
