"""Run many independent trainings (a grid of TrainConfigs x seeds) in parallel processes.

Each trial gets its own ``numpy.random.Generator`` spawned from the run's one seed, so a
trial's result does not depend on which process ran it or in which order.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import json
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from glassnet.atomic import write_atomic
from glassnet.data.preprocessing import Scaler
from glassnet.errors import ConfigError, DivergenceError
from glassnet.experiments.records import Trial, TrialResult
from glassnet.experiments.trajectories import Leader, save_trajectory, scratch_folder
from glassnet.training.config import (
    fit_from_config,
    make_loss,
    scored_validation,
    shaped_network,
)
from glassnet.training.history import History
from glassnet.training.loop import evaluate
from glassnet.training.trajectory import WeightTrajectory, trajectory_bytes

# The most a trial keeps of its weights' trajectory (for curves scored after the sweep); a
# larger network scores validation after every epoch instead. The seed network's 1000 epochs
# take 20 MB.
TRAJECTORY_LIMIT_BYTES = 64 * 2**20


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
    score_every_epoch: bool = True,
) -> TrialResult:
    """Train one trial with one BLAS thread: small matrices run faster single-threaded and
    the cores are better spent on other trials. ``keep_state`` returns the learned weights;
    ``image_shape`` and ``scaler`` describe the inputs for augmentation.

    ``score_every_epoch=False`` scores validation once, after the last epoch (a third of a
    seed training's time goes to scoring it every epoch), unless the training itself watches
    it (early stopping, the plateau schedule); with ``keep_state`` the result then also keeps
    the weights of every epoch, so ``trajectories.complete_curves`` can score the curves
    later, exactly (a network too large for that, see TRAJECTORY_LIMIT_BYTES, is scored
    every epoch). A trial that diverges is trained again scoring every epoch, so its record
    holds the scores of its last epoch before the blow-up, as it always did."""
    config = trial.config
    at_end = not score_every_epoch and validation is not None and not config.watches_validation
    trajectory = None
    if at_end and keep_state:
        probe = shaped_network(config, train_data[0].shape[1], n_outputs)
        if trajectory_bytes(probe, config.epochs) <= TRAJECTORY_LIMIT_BYTES:
            trajectory = WeightTrajectory(config.epochs)
        else:
            at_end = False
    fresh = copy.deepcopy(trial.rng) if at_end else trial.rng  # for a rerun after a blow-up
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
            if at_end:
                again = dataclasses.replace(trial, rng=fresh)
                return run_trial(again, train_data, validation, n_outputs, keep_state,
                                 image_shape, scaler)  # fmt: skip
            # One bad setting in a grid should not sink the sweep: record it and move on.
            return TrialResult(trial.index, trial.params, exc.history, diverged=str(exc))
        last = None
        if at_end:
            assert validation is not None  # at_end needs it
            loss = make_loss(config)
            last = evaluate(model, loss, *scored_validation(config, model, loss, validation))
    return TrialResult(
        trial.index,
        trial.params,
        history,
        state=model.state_dict() if keep_state else None,
        last_validation=last,
        trajectory=trajectory.weights() if trajectory is not None else None,
    )


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
    score_every_epoch: bool = True,
    scratch: str | Path | None = None,
) -> list[TrialResult]:
    """Run every trial, calling ``on_result`` as each one finishes; results in trial order.

    ``score_every_epoch=False`` (see ``run_trial``) with ``keep_state``: of the trials'
    weight trajectories only the best trial's is kept (``trajectories``), passed through a
    folder made inside ``scratch`` (the system's temporary folder when None) and removed
    before this returns."""
    n_jobs = resolve_n_jobs(n_jobs, len(trials))
    settings: dict[str, Any] = {
        "train_data": train_data,
        "validation": validation,
        "n_outputs": n_outputs,
        "keep_state": keep_state,
        "image_shape": image_shape,
        "scaler": scaler,
        "score_every_epoch": score_every_epoch,
    }
    collected = []
    trajectories = keep_state and not score_every_epoch
    with scratch_folder(scratch) if trajectories else contextlib.nullcontext() as folder:
        if trajectories and folder is None:
            settings["score_every_epoch"] = True  # nowhere to keep the weights: no shortcut
        leader = None if folder is None else Leader(folder)
        task = functools.partial(
            run_trial if folder is None else run_trial_saving_trajectory,
            **settings,
            **({} if folder is None else {"folder": folder}),
        )
        with in_processes(task, trials, n_jobs) as results:
            for result in results:
                if leader is not None:
                    leader.offer(result)
                if on_result is not None:
                    on_result(result)
                collected.append(result)
        if leader is not None:
            leader.read()
    return sorted(collected, key=lambda r: r.index)


def run_trial_saving_trajectory(trial: Trial, *, folder: Path, **settings: Any) -> TrialResult:
    """``run_trial`` in a worker, its trajectory (if any) saved in ``folder`` instead of sent
    back (``trajectories.save_trajectory``)."""
    return save_trajectory(run_trial(trial, **settings), folder)


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
                last_validation=_last_validation_of(record),
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(f"{path} is not a trial record ({exc}); delete it to rerun") from None
        trial = by_index.get(result.index)
        if trial is None or result.params != trial.params:
            raise ConfigError(f"{path} was recorded by a different sweep; use a fresh folder")
        finished[result.index] = result
    return finished


def _last_validation_of(record: dict[str, Any]) -> tuple[float, float | None] | None:
    """A trial record's ``last_validation`` (a JSON pair, or absent) as TrialResult holds it."""
    value = record.get("last_validation")
    if value is None:
        return None
    loss, accuracy = value
    return float(loss), None if accuracy is None else float(accuracy)
