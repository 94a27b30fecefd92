"""A sweep's weight trajectories: saved by the workers, the leader's kept, its curves scored.

A trial scored on validation only after its last epoch (``run_trial(score_every_epoch=
False)``) can keep the weights of every epoch (``glassnet.training.trajectory``), so the
winner's validation curves are scored once the sweep has chosen it. For the seed network a
trajectory is 20 MB: sent back through a worker's pipe it was copied four times and cost
0.9 s of a 5.6 s sweep, more than scoring the curves. So each worker saves its trials'
trajectories in a scratch folder, the process collecting the results keeps only the leading
trial's file (``Leader``, in ``select_best``'s order) and reads it when the sweep ends.

Saving is a shortcut, never a requirement: a trial whose file cannot be written (a full
disk) keeps no trajectory, and a winner without one is retrained scoring every epoch
(``experiment.replay_winner``).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from glassnet.atomic import write_atomic
from glassnet.experiments.records import TrialResult
from glassnet.processes import can_fork, in_two
from glassnet.training.config import TrainConfig, make_loss, scored_validation, shaped_network
from glassnet.training.trajectory import validation_curves

SCRATCH_PREFIX = ".glassnet-trajectories-"


@contextmanager
def scratch_folder(where: str | Path | None) -> Iterator[Path | None]:
    """A fresh folder inside ``where`` (the system's temporary folder when None) for the
    trials' trajectory files, removed with everything in it afterwards; None when it cannot
    be made, and then no trial keeps a trajectory.

    ``where`` is a run folder, used by one run at a time: the scratch folders a killed run
    could not remove (SIGKILL, out of memory) are removed there first."""
    if where is not None:
        for stale in Path(where).glob(f"{SCRATCH_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
    try:
        scratch = tempfile.TemporaryDirectory(prefix=SCRATCH_PREFIX, dir=where)
    except OSError:
        yield None
        return
    with scratch as folder:
        yield Path(folder)


def trajectory_path(folder: Path, index: int) -> Path:
    return folder / f"trial-{index:05d}.npy"


def save_trajectory(result: TrialResult, folder: Path) -> TrialResult:
    """``result`` with its trajectory moved into ``folder`` (in the worker that trained it);
    a file that cannot be written (a full disk) leaves the trial without a trajectory."""
    rows, result.trajectory = result.trajectory, None
    if rows is not None:
        try:
            write_atomic(
                trajectory_path(folder, result.index), lambda handle: np.save(handle, rows)
            )
        except OSError:
            pass  # write_atomic removed its temporary file; the trial is retrained if it wins
    return result


class Leader:
    """The trial whose trajectory file is worth keeping as results come in, in any order:
    ``select_best``'s choice so far (the higher score, then the lower index) among the
    trials that saved one. Every other file is deleted, so the folder holds one trajectory
    and those still being written, not one per trial."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.result: TrialResult | None = None

    def offer(self, result: TrialResult) -> None:
        path = trajectory_path(self.folder, result.index)
        if not path.exists():
            return
        best = self.result
        if best is None or (result.score, -result.index) > (best.score, -best.index):
            if best is not None:
                trajectory_path(self.folder, best.index).unlink()
            self.result = result
        else:
            path.unlink()

    def read(self) -> None:
        """Give the leading trial its trajectory back from its file."""
        if self.result is not None:
            self.result.trajectory = np.load(trajectory_path(self.folder, self.result.index))


def complete_curves(
    result: TrialResult,
    config: TrainConfig,
    validation: tuple[np.ndarray, np.ndarray],
    n_outputs: int,
    *,
    fork: bool = True,
) -> TrialResult:
    """Give ``result`` (a trial scored only after its last epoch, with its trajectory) the
    validation curves it would have recorded after every epoch, bit for bit; ``config`` and
    ``validation`` are the trial's. ``fork``: let a fork of this process score the later
    half of the epochs where it can (``can_fork``). A result without a trajectory is
    returned as it is."""
    rows = result.trajectory
    if rows is None:
        return result
    model = shaped_network(config, validation[0].shape[1], n_outputs)
    loss = make_loss(config)
    arrays = scored_validation(config, model, loss, validation)

    def score(part: np.ndarray) -> tuple[list[float], list[float]]:
        return validation_curves(model, loss, part, arrays)

    with threadpool_limits(limits=1, user_api="blas"):  # as the trial was scored: run_trial
        # The copy only runs NumPy and writes its pipe, so other threads (a progress
        # display's) hold no lock it needs.
        if fork and len(rows) > 1 and can_fork(beside_threads=True):
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
