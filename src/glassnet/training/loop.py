"""The training loop: data -> model -> loss (+ L2) -> optimizer, one epoch at a time.

``fit`` prints nothing; it reports through callbacks so the CLI, the estimator and
sweeps share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.data.checks import check_class_indices, check_features, check_targets
from glassnet.errors import ConfigError, DataError, DivergenceError
from glassnet.nn.layers import Layer, Sequential
from glassnet.nn.losses import Loss, SoftmaxCrossEntropy
from glassnet.nn.objective import loss_and_gradients
from glassnet.nn.optim import Optimizer
from glassnet.training.history import Augment, Callback, History, StopTraining

if TYPE_CHECKING:
    pass


# Rows that ``evaluate`` runs through the model at once: more are taken in chunks of this
# many (the mean loss is then the chunks' means weighted by their rows).
EVALUATE_ROWS = 65_536


def evaluate(
    model: Sequential, loss: Loss, x: np.ndarray, y: np.ndarray
) -> tuple[float, float | None]:
    """Mean loss on ``(x, y)`` in evaluation mode, and accuracy for classification; more
    than ``EVALUATE_ROWS`` rows are run through the model in chunks of that many.

    Examples:
        >>> import numpy as np
        >>> from glassnet import SoftmaxCrossEntropy, mlp
        >>> net = mlp([4, 3], rng=np.random.default_rng(0))
        >>> x, y = np.zeros((5, 4)), np.zeros(5, dtype=int)
        >>> loss, accuracy = evaluate(net, SoftmaxCrossEntropy(), x, y)
        >>> print(round(loss, 4), accuracy)  # zero inputs, zero biases: all classes equally likely
        1.0986 1.0
    """
    was_training = model.training
    model.eval()
    if len(x) <= EVALUATE_ROWS:
        output = model.forward(x)
        model.train(was_training)
        value = loss.forward(output, y)
        loss.release()  # inference: no backward follows
        accuracy = None
        if isinstance(loss, SoftmaxCrossEntropy):
            accuracy = np.count_nonzero(output.argmax(axis=1) == y) / len(y)
        return value, accuracy
    # In chunks: a large table's validation rows through a hidden layer of 100 would hold a
    # (rows, 100) activation per layer at once (80 MB for 200,000 float32 rows).
    total, right = 0.0, 0
    for start in range(0, len(x), EVALUATE_ROWS):
        rows = slice(start, start + EVALUATE_ROWS)
        output = model.forward(x[rows])
        total += loss.forward(output, y[rows]) * len(output)
        loss.release()
        if isinstance(loss, SoftmaxCrossEntropy):
            right += int(np.count_nonzero(output.argmax(axis=1) == y[rows]))
    model.train(was_training)
    accuracy = right / len(y) if isinstance(loss, SoftmaxCrossEntropy) else None
    return total / len(y), accuracy


def fit(
    model: Sequential,
    loss: Loss,
    optimizer: Optimizer,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    epochs: int,
    batch_size: int | None = None,
    l2: float = 0.0,
    rng: np.random.Generator | None = None,
    sample_weight: np.ndarray | None = None,
    callbacks: Sequence[Callback] = (),
    history: History | None = None,
    augment: Augment | None = None,
    shuffle: bool = True,
    l2_per_batch: bool = False,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train`` and return its History.

    ``batch_size=None`` is full-batch gradient descent; an integer gives shuffled
    minibatches drawn from ``rng`` each epoch. After every epoch the validation loss and
    accuracy are recorded (when ``validation`` is given) and each callback is called with
    ``(epoch, history, model)``; a callback raises ``StopTraining`` to end early, and its
    optional ``on_train_begin(history, model)`` / ``on_train_end(history, model)`` run once
    before the first and after the last epoch. ``shuffle=False`` takes the minibatches in
    row order. ``l2_per_batch=True`` scales each batch's L2 term by that batch's size
    instead of the training set's (scikit-learn's MLP: 0.5 * l2 / len(batch) * ||W||^2 per
    step). ``x`` may be a scipy.sparse matrix (rows are indexed, the first Linear multiplies
    it). ``augment(x_batch, rng)``,
    when given, replaces each batch's inputs by a randomly altered copy (labels unchanged).

    A NaN or infinite loss stops training at once with ``DivergenceError``; the model is
    left with the weights of its best epoch so far (lowest validation loss, or train loss
    without validation), also attached to the error as ``.model``, with ``.history``. A
    KeyboardInterrupt does the same (``.model`` is None if no epoch finished).

    Examples:
        >>> import numpy as np
        >>> from glassnet import SGD, SoftmaxCrossEntropy, mlp
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(200, 2))
        >>> y = (x[:, 0] + x[:, 1] > 0).astype(int)  # two classes, split by a line
        >>> net = mlp([2, 8, 2], activation_name="tanh", rng=rng)
        >>> history = fit(net, SoftmaxCrossEntropy(), SGD(net.parameters(), lr=0.5, momentum=0.9),
        ...               (x[:150], y[:150]), (x[150:], y[150:]), epochs=50)
        >>> len(history.train_loss), history.train_loss[-1] < history.train_loss[0]
        (50, True)
        >>> print(history.validation_accuracy[-1] > 0.9)
        True
    """
    x, y = check_training_data(model, loss, train, what="training")
    if validation is not None:
        validation = check_training_data(model, loss, validation, what="validation")
    n_samples = x.shape[0]
    if sample_weight is not None:
        sample_weight = check_targets(sample_weight, n_samples, what="sample_weight")
        if sample_weight.ndim != 1 or np.any(sample_weight < 0):
            raise DataError("sample_weight must be one non-negative number per sample")
    if epochs < 0 or int(epochs) != epochs:
        raise ConfigError(f"epochs must be a non-negative integer, got {epochs}")
    if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
        raise ConfigError(f"batch_size must be a positive integer or None, got {batch_size}")
    if shuffle and batch_size is not None and batch_size < n_samples and rng is None:
        raise ConfigError("minibatch training shuffles: pass rng=numpy.random.default_rng(seed)")
    if augment is not None and rng is None:
        raise ConfigError("augmentation is random: pass rng=numpy.random.default_rng(seed)")
    history = history if history is not None else History()
    full_batch = batch_size is None or batch_size >= n_samples
    best = BestWeights(model)
    _notify(callbacks, "on_train_begin", history, model)
    model.train()
    try:
        for epoch in range(len(history.train_loss), len(history.train_loss) + epochs):
            batches = (
                [slice(None)]
                if full_batch
                else _batches(rng if shuffle else None, n_samples, batch_size)  # type: ignore[arg-type]
            )
            epoch_loss = 0.0
            for batch in batches:
                weight = None if sample_weight is None else sample_weight[batch]
                x_batch = x[batch] if augment is None else augment(x[batch], rng)  # type: ignore[arg-type]
                # Overflow warnings would only precede the clear DivergenceError below.
                with np.errstate(over="ignore", invalid="ignore"):
                    batch_loss = loss_and_gradients(
                        model,
                        loss,
                        x_batch,
                        y[batch],
                        l2=l2,
                        n_samples=_batch_size(batch, n_samples) if l2_per_batch else n_samples,
                        sample_weight=weight,
                    )
                if not np.isfinite(batch_loss):
                    raise best.diverged(batch_loss, epoch, optimizer, history)
                optimizer.step()
                epoch_loss += batch_loss * (_batch_size(batch, n_samples) / n_samples)
            history.train_loss.append(epoch_loss)
            if validation is not None:
                validation_loss, accuracy = evaluate(model, loss, *validation)
                history.validation_loss.append(validation_loss)
                if accuracy is not None:
                    history.validation_accuracy.append(accuracy)
            best.update(
                epoch, history.validation_loss[-1] if validation is not None else epoch_loss
            )
            try:
                for callback in callbacks:
                    callback(epoch, history, model)
            except StopTraining:
                break
    except KeyboardInterrupt as exc:
        # Ctrl-C (or a saved-state stop): leave the model holding its best epoch's weights,
        # attached to the exception, so the caller can still write a usable model file.
        best.interrupted(exc)
        raise
    finally:
        release_training_caches(model, loss)
    _notify(callbacks, "on_train_end", history, model)
    model.eval()
    return history


def release_training_caches(model: Sequential, loss: Loss) -> None:
    """Drop what training kept of the last batch (the layers' and the loss's caches, the
    gradients): however training ends, the model holds weights, not data."""
    model.release()
    loss.release()
    for param in model.parameters():
        param.grad[...] = 0.0


def _notify(callbacks: Sequence[Callback], hook: str, history: History, model: Sequential) -> None:
    """Call the optional ``hook`` (``on_train_begin`` / ``on_train_end``) of each callback."""
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if method is not None:
            method(history, model)


class BestWeights:
    """A copy of the weights of the epoch with the lowest loss, to fall back on if training
    diverges. The buffers are allocated once, so tracking costs a copy per improving epoch."""

    def __init__(self, model: Sequential) -> None:
        self.model = model
        self.weights = {key: value.copy() for key, value in model.state_dict().items()}
        self.loss, self.epoch = np.inf, -1

    def update(self, epoch: int, loss: float) -> None:
        if loss < self.loss:  # a NaN loss never counts as an improvement
            self.loss, self.epoch = loss, epoch
            for key, value in self.model.state_dict().items():
                np.copyto(self.weights[key], value)

    def interrupted(self, exc: KeyboardInterrupt) -> KeyboardInterrupt:
        """``exc`` with ``.model`` (restored to the best weights) and ``.best_epoch`` attached;
        ``.model`` is None when no epoch finished."""
        exc.model = None  # type: ignore[attr-defined]
        if self.epoch >= 0:
            self.model.load_state_dict(self.weights)
            exc.model = self.model.eval()  # type: ignore[attr-defined]
        exc.best_epoch = self.epoch  # type: ignore[attr-defined]
        return exc

    def diverged(
        self, loss: float, epoch: int, optimizer: Optimizer, history: History
    ) -> DivergenceError:
        """Restore the best weights and return the error that explains what happened."""
        self.model.load_state_dict(self.weights)
        self.model.eval()
        kept = "its initial weights" if self.epoch < 0 else f"the weights of epoch {self.epoch + 1}"
        error = DivergenceError(
            f"training loss became {loss} at epoch {epoch + 1} with learning rate "
            f"{optimizer.lr:g}; try a smaller learning rate (e.g. {optimizer.lr / 10:g}). "
            f"The model keeps {kept}, the best so far"
        )
        error.model, error.history, error.best_epoch = self.model, history, self.epoch
        return error


def check_training_data(
    model: Layer, loss: Loss, data: tuple[Any, Any], *, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` checked against ``model`` and ``loss``: a finite 2-D x as wide as the model's
    input, one finite target per row, and class indices within the outputs for cross-entropy."""
    x, y = data
    first = model.layers[0] if isinstance(model, Sequential) and model.layers else model
    x = check_features(x, n_features=getattr(first, "in_features", None), what=f"{what} X")
    y = check_targets(y, x.shape[0], what=f"{what} y")
    if isinstance(loss, SoftmaxCrossEntropy):
        y = check_class_indices(y, model.output_features(x.shape[1]), what=f"{what} y")
    return x, y


def _batches(
    rng: np.random.Generator | None, n_samples: int, batch_size: int
) -> list[np.ndarray | slice]:
    """A fresh shuffle of the sample indices, cut into batches (the last may be smaller);
    without ``rng``, consecutive row slices in order."""
    if rng is None:
        return [slice(start, start + batch_size) for start in range(0, n_samples, batch_size)]
    order = rng.permutation(n_samples)
    return [order[start : start + batch_size] for start in range(0, n_samples, batch_size)]


def _batch_size(batch: np.ndarray | slice, n_samples: int) -> int:
    """How many rows ``batch`` (an index array or a slice) selects."""
    if isinstance(batch, slice):
        return len(range(*batch.indices(n_samples)))
    return len(batch)
