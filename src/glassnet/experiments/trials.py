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
import tempfile
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
from glassnet.nn.layers import Sequential
from glassnet.nn.losses import Loss
from glassnet.processes import can_fork, in_two
from glassnet.training.config import (
    TrainConfig,
    build,
    fit_from_config,
    make_loss,
    prepare_validation,
)
from glassnet.training.history import History
from glassnet.training.loop import check_training_data, evaluate
from glassnet.training.trajectory import WeightTrajectory, trajectory_bytes, validation_curves

# The most a trial keeps of its weights' trajectory (for curves scored after the sweep); a
# larger network scores validation after every epoch instead. The seed network's 1000 epochs
# take 20 MB.
TRAJECTORY_LIMIT = 64 * 2**20


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
    # scored on validation only then (``run_trial(curves=False)``): its history has no
    # validation curves, unless ``complete_curves`` filled them in later.
    last_validation: tuple[float, float | None] | None = None
    # The weights after every epoch of such a trial, kept until its curves are scored.
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
    def score(self) -> float:
        """``final_accuracy`` for choosing a trial (a regression, which has no accuracy: minus
        the validation loss of the same epoch); -inf for a diverged one, which never wins."""
        accuracy = self.final_accuracy
        if accuracy is None and self.diverged is None:
            losses = self.history.validation_loss
            if losses:
                return -losses[-1 if self.history.best_epoch is None else self.history.best_epoch]
            if self.last_validation is not None:
                return -self.last_validation[0]
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
    curves: bool = True,
) -> TrialResult:
    """Train one trial with one BLAS thread: small matrices run faster single-threaded and
    the cores are better spent on other trials. ``keep_state`` returns the learned weights;
    ``image_shape`` and ``scaler`` describe the inputs for augmentation.

    ``curves=False`` scores validation once, after the last epoch, instead of after every
    epoch (a third of a seed training's time), unless the training itself watches it (early
    stopping, the plateau schedule); with ``keep_state`` the result also keeps the weights of
    every epoch, so ``complete_curves`` can score the curves exactly later (a network too
    large for that, see TRAJECTORY_LIMIT, is scored every epoch)."""
    config = trial.config
    at_end = not curves and validation is not None and not config.watches_validation
    trajectory = None
    if at_end and keep_state:
        probe = build(config, train_data[0].shape[1], n_outputs, np.random.default_rng(0))[0]
        if trajectory_bytes(probe, config.epochs) <= TRAJECTORY_LIMIT:
            trajectory = WeightTrajectory(config.epochs)
        else:
            at_end = False
    with threadpool_limits(limits=1, user_api="blas"):
        try:
            model, history = fit_from_config(
                config,
                train_data,
                None if at_end else validation,
                n_outputs=n_outputs,
                rng=trial.rng,
                callbacks=[trajectory] if trajectory is not None else (),
                image_shape=image_shape,
                scaler=scaler,
            )
        except DivergenceError as exc:
            # One bad setting in a grid should not sink the sweep: record it and move on.
            return TrialResult(trial.index, trial.params, exc.history, diverged=str(exc))
        last = None
        if at_end:
            loss = make_loss(config)
            last = evaluate(model, loss, *validation_arrays(model, loss, config, validation))  # type: ignore[arg-type]
    state = model.state_dict() if keep_state else None
    weights = trajectory.weights() if trajectory is not None else None
    return TrialResult(trial.index, trial.params, history, state, None, last, weights)


def complete_curves(
    result: TrialResult,
    config: TrainConfig,
    validation: tuple[np.ndarray, np.ndarray],
    n_outputs: int,
) -> TrialResult:
    """Give ``result`` (a trial scored only after its last epoch, with its trajectory) the
    validation curves it would have recorded after every epoch, bit for bit; ``config`` and
    ``validation`` are the trial's. A result without a trajectory is returned as it is."""
    if result.trajectory is None:
        return result
    model = build(config, validation[0].shape[1], n_outputs, np.random.default_rng(0))[0]
    loss = make_loss(config)
    arrays = validation_arrays(model, loss, config, validation)
    rows = result.trajectory

    def score(part: np.ndarray) -> tuple[list[float], list[float]]:
        return validation_curves(model, loss, part, arrays)

    with threadpool_limits(limits=1, user_api="blas"):  # as the trial was scored: run_trial
        if len(rows) > 1 and can_fork():
            # The sweep's cores are free now: a fork scores the later half of the epochs.
            # It only runs NumPy and writes to its pipe, so the threads of a progress display
            # hold no lock it needs.
            half = len(rows) // 2
            (losses, accuracies), (later, later_accuracies) = in_two(
                lambda: score(rows[:half]), lambda: score(rows[half:])
            )
            losses, accuracies = losses + later, accuracies + later_accuracies
        else:
            losses, accuracies = score(rows)
    result.history.validation_loss, result.history.validation_accuracy = losses, accuracies
    result.trajectory = None
    return result


def validation_arrays(
    model: Sequential, loss: Loss, config: TrainConfig, validation: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """``validation`` as ``fit`` scores it: cast by ``prepare_validation``, then checked
    against ``model`` and ``loss``."""
    prepared = prepare_validation(config, validation)
    return check_training_data(model, loss, prepared, what="validation")


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
    curves: bool = True,
) -> list[TrialResult]:
    """Run every trial, calling ``on_result`` as each one finishes; results in trial order.
    ``curves=False``: validation scored after the last epoch only (see ``run_trial``)."""
    n_jobs = resolve_n_jobs(n_jobs, len(trials))
    settings: dict[str, Any] = {
        "keep_state": keep_state,
        "image_shape": image_shape,
        "scaler": scaler,
        "curves": curves,
    }
    collected = []
    with trajectory_folder(keep_state and not curves) as folder:
        task = functools.partial(
            run_trial_keeping_trajectory if folder is not None else run_trial,
            train_data=train_data,
            validation=validation,
            n_outputs=n_outputs,
            **settings,
            **({"folder": folder} if folder is not None else {}),
        )
        leader = None
        with in_processes(task, trials, n_jobs) as results:
            for result in results:
                if folder is not None:
                    leader = lead(leader, result, folder)
                if on_result is not None:
                    on_result(result)
                collected.append(result)
        if leader is not None:
            leader.trajectory = np.load(trajectory_path(folder, leader.index))  # type: ignore[arg-type]
    return sorted(collected, key=lambda r: r.index)


# A trial's trajectory (20 MB for the seed network) would cost more to send back through the
# worker's pipe than its validation curves cost to score (copied four times on the way, and
# 0.9 s of a 5.6 s sweep). So workers save it in a temporary folder instead, and only the
# leading trial's file is kept, and read once the sweep ends.


@contextmanager
def trajectory_folder(needed: bool) -> Iterator[str | None]:
    """A temporary folder for the trials' trajectories, removed afterwards (None if not
    ``needed``)."""
    if not needed:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="glassnet-trajectories-") as folder:
        yield folder


def trajectory_path(folder: str, index: int) -> Path:
    return Path(folder) / f"trial-{index:05d}.npy"


def run_trial_keeping_trajectory(trial: Trial, *, folder: str, **settings: Any) -> TrialResult:
    """``run_trial``, its trajectory (if any) saved to ``folder`` instead of returned."""
    result = run_trial(trial, **settings)
    if result.trajectory is not None:
        trajectory = result.trajectory
        write_atomic(
            trajectory_path(folder, result.index), lambda handle: np.save(handle, trajectory)
        )
        result.trajectory = None
    return result


def lead(leader: TrialResult | None, result: TrialResult, folder: str) -> TrialResult | None:
    """The trial whose trajectory is worth keeping after ``result`` came in: ``select_best``'s
    choice so far (higher score, then lower index) among those that saved one. The other
    trajectory file is deleted, so the folder holds one, not one per trial."""
    path = trajectory_path(folder, result.index)
    if not path.exists():
        return leader
    if leader is None or (result.score, -result.index) > (leader.score, -leader.index):
        if leader is not None:
            trajectory_path(folder, leader.index).unlink()
        return result
    path.unlink()
    return leader


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
        "last_validation": result.last_validation,
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
                last_validation=_pair(record.get("last_validation")),
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(f"{path} is not a trial record ({exc}); delete it to rerun") from None
        trial = by_index.get(result.index)
        if trial is None or result.params != trial.params:
            raise ConfigError(f"{path} was recorded by a different sweep; use a fresh folder")
        finished[result.index] = result
    return finished


def _pair(value: Any) -> tuple[float, float | None] | None:
    """A record's ``last_validation`` (a JSON list, or absent) as the tuple TrialResult holds."""
    if value is None:
        return None
    loss, accuracy = value
    return float(loss), None if accuracy is None else float(accuracy)
