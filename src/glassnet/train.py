"""The training loop: data -> model -> loss (+ L2) -> optimizer, one epoch at a time.

``fit`` prints nothing; it reports through callbacks so the CLI, the estimator and
sweeps share it. ``TrainConfig`` is the plain-data recipe that ``train`` turns into a
model, a loss and an optimizer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from glassnet.errors import ConfigError, DataError, DivergenceError
from glassnet.layers import Sequential, mlp
from glassnet.losses import Loss, MeanSquaredError, SoftmaxCrossEntropy, l2_penalty
from glassnet.optim import Optimizer, make_optimizer


class StopTraining(Exception):
    """Raised by a callback to end ``fit`` after the current epoch."""


@dataclass
class History:
    """Per-epoch records of one training; plain lists that serialize to JSON."""

    train_loss: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)
    validation_accuracy: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[float]]:
        return dataclasses.asdict(self)


Callback = Callable[[int, History, Sequential], None]


def loss_and_gradients(
    model: Sequential,
    loss: Loss,
    x: np.ndarray,
    y: np.ndarray,
    *,
    l2: float = 0.0,
    n_samples: int | None = None,
    sample_weight: np.ndarray | None = None,
    need_grad_x: bool = False,
) -> float:
    """Forward and backward through ``model`` and ``loss``; sets every ``.grad``.

    Returns the objective: mean loss + L2 penalty (N = ``n_samples``, the size of the
    whole training set, defaulting to ``len(x)``). This is the only place where L2 joins
    the loss, so training and ``gradcheck`` see the same objective.
    """
    value = loss.forward(model.forward(x), y, sample_weight)
    model.backward(loss.backward(), need_grad_x)
    return value + l2_penalty(model.parameters(), l2, n_samples or len(x))


def evaluate(
    model: Sequential, loss: Loss, x: np.ndarray, y: np.ndarray
) -> tuple[float, float | None]:
    """Mean loss on ``(x, y)`` in evaluation mode, and accuracy for classification."""
    was_training = model.training
    model.eval()
    output = model.forward(x)
    model.train(was_training)
    value = loss.forward(output, y)
    accuracy = None
    if isinstance(loss, SoftmaxCrossEntropy):
        accuracy = np.count_nonzero(output.argmax(axis=1) == y) / len(y)
    return value, accuracy


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
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train`` and return its History.

    ``batch_size=None`` is full-batch gradient descent; an integer gives shuffled
    minibatches drawn from ``rng`` each epoch. After every epoch the validation loss and
    accuracy are recorded (when ``validation`` is given) and each callback is called with
    ``(epoch, history, model)``; a callback raises ``StopTraining`` to end early, and its
    optional ``on_train_end(history, model)`` runs once at the end. A NaN
    or infinite loss raises ``DivergenceError``.
    """
    x, y = train
    n_samples = len(x)
    if epochs < 0 or int(epochs) != epochs:
        raise ConfigError(f"epochs must be a non-negative integer, got {epochs}")
    if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
        raise ConfigError(f"batch_size must be a positive integer or None, got {batch_size}")
    if batch_size is not None and batch_size < n_samples and rng is None:
        raise ConfigError("minibatch training shuffles: pass rng=numpy.random.default_rng(seed)")
    history = history if history is not None else History()
    full_batch = batch_size is None or batch_size >= n_samples
    model.train()
    for epoch in range(len(history.train_loss), len(history.train_loss) + epochs):
        batches = [slice(None)] if full_batch else _batches(rng, n_samples, batch_size)  # type: ignore[arg-type]
        epoch_loss = 0.0
        for batch in batches:
            weight = None if sample_weight is None else sample_weight[batch]
            # Overflow warnings would only precede the clear DivergenceError below.
            with np.errstate(over="ignore", invalid="ignore"):
                batch_loss = loss_and_gradients(
                    model, loss, x[batch], y[batch], l2=l2, n_samples=n_samples,
                    sample_weight=weight,
                )
            if not np.isfinite(batch_loss):
                raise DivergenceError(
                    f"training loss became {batch_loss} at epoch {epoch + 1}; "
                    "try a smaller learning rate"
                )
            optimizer.step()
            epoch_loss += batch_loss * (1.0 if full_batch else len(batch) / n_samples)
        history.train_loss.append(epoch_loss)
        if validation is not None:
            validation_loss, accuracy = evaluate(model, loss, *validation)
            history.validation_loss.append(validation_loss)
            if accuracy is not None:
                history.validation_accuracy.append(accuracy)
        try:
            for callback in callbacks:
                callback(epoch, history, model)
        except StopTraining:
            break
    for callback in callbacks:
        on_train_end = getattr(callback, "on_train_end", None)
        if on_train_end is not None:
            on_train_end(history, model)
    model.eval()
    return history


def _batches(rng: np.random.Generator, n_samples: int, batch_size: int) -> list[np.ndarray]:
    """A fresh shuffle of the sample indices, cut into batches (the last may be smaller)."""
    order = rng.permutation(n_samples)
    return [order[start : start + batch_size] for start in range(0, n_samples, batch_size)]


@dataclass
class TrainConfig:
    """Everything that defines one training, as plain data."""

    hidden_layer_sizes: tuple[int, ...] = (48, 32)
    activation: str = "sigmoid"
    output_activation: str = "identity"
    loss: str = "cross_entropy"
    init: str | None = None
    dropout: float = 0.0
    optimizer: str = "sgd"
    lr: float = 0.2
    momentum: float = 0.9
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    l2: float = 0.0
    epochs: int = 1000
    batch_size: int | None = None
    dtype: str = "float64"

    def __post_init__(self) -> None:
        self.hidden_layer_sizes = tuple(int(size) for size in self.hidden_layer_sizes)
        self.betas = (float(self.betas[0]), float(self.betas[1]))
        if any(size < 1 for size in self.hidden_layer_sizes):
            raise ConfigError(f"hidden layer sizes must be positive, got {self.hidden_layer_sizes}")
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown loss {self.loss!r}; choose one of {sorted(LOSSES)}")
        if self.dtype not in ("float32", "float64"):
            raise ConfigError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if not np.isfinite(self.l2) or self.l2 < 0:
            raise ConfigError(f"l2 must be a non-negative number, got {self.l2}")
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise ConfigError(f"epochs must be a positive integer, got {self.epochs}")
        if self.batch_size is not None and (int(self.batch_size) != self.batch_size or self.batch_size < 1):
            raise ConfigError(f"batch_size must be a positive integer or None, got {self.batch_size}")
        if not np.isfinite(self.lr) or self.lr <= 0:
            raise ConfigError(f"learning rate must be a positive number, got {self.lr}")

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a dict, refusing unknown keys with the list of known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown training setting(s) {unknown}; known: {sorted(known)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["hidden_layer_sizes"] = list(self.hidden_layer_sizes)
        data["betas"] = list(self.betas)
        return data


LOSSES: dict[str, type[Loss]] = {"cross_entropy": SoftmaxCrossEntropy, "mse": MeanSquaredError}


def build(
    config: TrainConfig, n_features: int, n_outputs: int, rng: np.random.Generator
) -> tuple[Sequential, Loss, Optimizer]:
    """The model, loss and optimizer that ``config`` describes, initialised from ``rng``."""
    model = mlp(
        [n_features, *config.hidden_layer_sizes, n_outputs],
        activation_name=config.activation,
        output_activation=config.output_activation,
        dropout=config.dropout,
        init=config.init,
        rng=rng,
        dtype=np.dtype(config.dtype),
    )
    settings: dict[str, Any] = {"lr": config.lr}
    if config.optimizer == "sgd":
        settings.update(momentum=config.momentum, nesterov=config.nesterov)
    elif config.optimizer == "adam":
        settings.update(betas=config.betas)
    return model, LOSSES[config.loss](), make_optimizer(config.optimizer, model.parameters(), **settings)


def fit_from_config(
    config: TrainConfig,
    train_data: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    *,
    n_outputs: int,
    rng: np.random.Generator,
    callbacks: Sequence[Callback] = (),
) -> tuple[Sequential, History]:
    """Build a fresh model from ``config`` and ``rng`` and fit it; returns (model, history)."""
    dtype = np.dtype(config.dtype)
    x, y = train_data
    if len(x) == 0:
        raise DataError("the training set is empty")
    x = np.ascontiguousarray(x, dtype=dtype)
    if config.loss == "mse":
        y = np.asarray(y, dtype=dtype)
    if validation is not None:
        x_valid, y_valid = validation
        validation = (
            np.ascontiguousarray(x_valid, dtype=dtype),
            np.asarray(y_valid, dtype=dtype) if config.loss == "mse" else y_valid,
        )
    model, loss, optimizer = build(config, x.shape[1], n_outputs, rng)
    threads = blas_threads(model, min(config.batch_size or len(x), len(x)))
    with threadpool_limits(limits=threads, user_api="blas"):
        history = fit(
            model, loss, optimizer, (x, y), validation,
            epochs=config.epochs, batch_size=config.batch_size, l2=config.l2, rng=rng,
            callbacks=callbacks,
        )
    return model, history


# Below this many multiply-adds in a batch's largest product, OpenBLAS spends more waking
# threads than it saves (BENCHMARKS.md: 721x64 @ 64x48 ran many times slower on 2 threads).
SMALL_PRODUCT = 4_000_000


def blas_threads(model: Sequential, batch_size: int) -> int | None:
    """1 BLAS thread for small matrix products; None (keep the current setting) for large."""
    largest = max((p.value.size for p in model.parameters() if p.value.ndim == 2), default=0)
    return 1 if batch_size * largest < SMALL_PRODUCT else None
