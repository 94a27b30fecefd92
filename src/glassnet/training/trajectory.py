"""Validation curves scored after training, from the weights every epoch ended with.

A sweep scores each of its trainings on validation, but only the winner's per-epoch curves
are ever drawn, and the winner is known only when every training has finished. Scoring the
validation set after every epoch costs a third of a seed training (a forward pass over 482
more rows). So a sweep's trainings score validation once, at their last epoch, and keep a
``WeightTrajectory``; ``validation_curves`` then scores the winner's epochs afterwards.

The curves are the ones ``fit`` would have recorded, bit for bit: each epoch's weights are
put back into a network of the same shape and scored by the same ``evaluate``.
"""

from __future__ import annotations

import numpy as np

from glassnet.nn.layers import Sequential
from glassnet.nn.losses import Loss
from glassnet.nn.objective import split_like
from glassnet.training.history import History
from glassnet.training.loop import evaluate


class WeightTrajectory:
    """Callback: a copy of the model's learned arrays after every epoch of ``fit``.

    Row ``e`` of ``rows`` holds every array of ``state_dict()`` after epoch ``e``, laid end to
    end in its key order (``objective.split_like``). The buffer is allocated at the first epoch, for
    ``epochs`` epochs; ``epochs_done`` tells how many rows hold weights (fewer when training
    stopped early).
    """

    def __init__(self, epochs: int) -> None:
        self.epochs = int(epochs)
        self.rows: np.ndarray | None = None
        self.epochs_done = 0

    def __call__(self, epoch: int, history: History, model: Sequential) -> None:
        arrays = list(model.state_dict().values())
        if self.rows is None:
            size = sum(array.size for array in arrays)
            self.rows = np.empty((self.epochs, size), np.result_type(*arrays))
        np.concatenate([array.ravel() for array in arrays], out=self.rows[self.epochs_done])
        self.epochs_done += 1

    def weights(self) -> np.ndarray:
        """The rows of the epochs that ran, ``(epochs_done, n_values)``."""
        if self.rows is None:
            return np.empty((0, 0))
        return self.rows[: self.epochs_done]


def trajectory_bytes(model: Sequential, epochs: int) -> int:
    """What a ``WeightTrajectory`` of ``model`` over ``epochs`` epochs holds, in bytes."""
    return epochs * sum(value.nbytes for value in model.state_dict().values())


def validation_curves(
    model: Sequential,
    loss: Loss,
    rows: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray],
) -> tuple[list[float], list[float]]:
    """The validation loss and accuracy (empty for a regression) of every epoch whose weights
    ``rows`` holds (a ``WeightTrajectory``'s), scored by ``model``'s shape with ``loss``.

    ``model``'s own weights are overwritten; ``validation`` must be prepared as ``fit`` got it
    (the training dtype)."""
    state = list(model.state_dict().values())
    size = sum(value.size for value in state)
    if rows.ndim != 2 or rows.shape[1] != size:
        raise ValueError(
            f"the trajectory has rows of shape {rows.shape[1:]}, the model {size} values: "
            "not its weights"
        )
    losses: list[float] = []
    accuracies: list[float] = []
    for row in rows:
        for target, saved in zip(state, split_like(row, state), strict=True):
            target[...] = saved
        value, accuracy = evaluate(model, loss, *validation)
        losses.append(value)
        if accuracy is not None:
            accuracies.append(accuracy)
    return losses, accuracies
