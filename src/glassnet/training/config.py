"""``TrainConfig``: the plain-data recipe for one training, and ``fit_from_config``, which
turns it into a model, a loss, an optimizer, schedules and callbacks, and trains.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from glassnet.data.checks import check_classes, check_features, check_targets
from glassnet.data.preprocessing import Scaler
from glassnet.errors import ConfigError
from glassnet.nn.embeddings import PeriodicEmbedding
from glassnet.nn.layers import ACTIVATIONS, Sequential, mlp
from glassnet.nn.losses import (
    Loss,
    MeanSquaredError,
    PoissonLogLink,
    SigmoidBinaryCrossEntropy,
    SoftmaxCrossEntropy,
)
from glassnet.nn.optim import OPTIMIZERS, SGD, Optimizer, make_optimizer
from glassnet.training import schedules
from glassnet.training.architecture import build_network, check_layers
from glassnet.training.augment import ImageAugment
from glassnet.training.callbacks import EarlyStopping
from glassnet.training.history import Augment, Callback, History
from glassnet.training.loop import check_training_data, fit
from glassnet.training.resume import Checkpointer


@dataclass
class TrainConfig:
    """Everything that defines one training, as plain data."""

    hidden_layer_sizes: tuple[int, ...] = (48, 32)
    activation: str = "sigmoid"
    output_activation: str = "identity"
    loss: str = "cross_entropy"
    # Cross-entropy towards (1 - label_smoothing) * onehot + label_smoothing / n_classes.
    label_smoothing: float = 0.0
    # "balanced" weighs each training row of class k by n / (n_classes * n_k) in the training
    # loss (scikit-learn's class_weight="balanced"), so a rare class counts as much as a
    # common one; the validation loss stays unweighted. None: every row counts once.
    class_weight: str | None = None
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
    # Learning-rate schedule (glassnet.training.schedules): "constant", "step" (x lr_decay every
    # lr_step epochs), "cosine" (to lr_min at the last epoch) or "plateau" (x lr_decay after
    # lr_patience epochs without a lower validation loss).
    lr_schedule: str = "constant"
    lr_step: int = 100
    lr_decay: float = 0.1
    lr_patience: int = 10
    lr_min: float = 0.0
    # Stop after this many epochs without a lower validation loss and restore the best
    # epoch's weights; None trains all epochs.
    early_stopping_patience: int | None = None
    # Image augmentation (glassnet.training.augment), fresh each batch: shift by up to augment_shift
    # pixels, rotate by up to augment_degrees, shift by up to augment_subpixel pixels (bilinear).
    augment_shift: int = 0
    augment_degrees: float = 0.0
    augment_subpixel: float = 0.0
    # A network described layer by layer (glassnet.training.architecture), e.g. a CNN:
    # replaces hidden_layer_sizes / activation / dropout / init. input_shape is the
    # (channels, height, width) that flat input rows are reshaped to for image layers.
    layers: list[dict[str, Any]] | None = None
    input_shape: tuple[int, ...] | None = None
    # Periodic (PLR) embeddings of numeric inputs (glassnet.nn.embeddings), issue 24: each of
    # the first embedded_columns inputs (None: all; a table's numeric columns) becomes
    # numeric_embedding features; 0 embeds nothing.
    numeric_embedding: int = 0
    embedded_columns: int | None = None

    def __post_init__(self) -> None:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, (list, tuple)):
            raise ConfigError(
                f"hidden_layer_sizes must be a list of positive integers, got {sizes!r}"
            )
        self.hidden_layer_sizes = tuple(_whole("hidden layer size", size, 1) for size in sizes)
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("output_activation", self.output_activation, ACTIVATIONS)
        _choice("loss", self.loss, LOSSES)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("dtype", self.dtype, ("float32", "float64"))
        if self.init is not None:
            _choice("init", self.init, ("glorot", "he", "sklearn"))
        self.lr = _real("learning rate lr", self.lr, low=0.0, low_open=True)
        self.l2 = _real("l2", self.l2, low=0.0)
        self.augment_subpixel = _real("augment_subpixel", self.augment_subpixel, low=0.0)
        self.label_smoothing = _real("label_smoothing", self.label_smoothing, low=0.0, high=1.0)
        if self.class_weight is not None:
            _choice("class_weight", self.class_weight, CLASS_WEIGHTS)
            if self.loss != "cross_entropy":
                raise ConfigError("class_weight needs loss = 'cross_entropy' (classes to weigh)")
        if self.label_smoothing and self.loss != "cross_entropy":
            raise ConfigError("label_smoothing needs loss = 'cross_entropy'; set it to 0")
        self.dropout = _real("dropout", self.dropout, low=0.0, high=1.0)
        self.momentum = _real("momentum", self.momentum, low=0.0, high=1.0)
        if not isinstance(self.nesterov, bool):
            raise ConfigError(f"nesterov must be true or false, got {self.nesterov!r}")
        if self.nesterov and self.momentum == 0.0:
            raise ConfigError("nesterov needs momentum > 0; set momentum or nesterov = false")
        if not isinstance(self.betas, (list, tuple)) or len(self.betas) != 2:
            raise ConfigError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        self.betas = tuple(_real("Adam beta", beta, low=0.0, high=1.0) for beta in self.betas)  # type: ignore[assignment]
        self.epochs = _whole("epochs", self.epochs, 1)
        self.numeric_embedding = _whole("numeric_embedding", self.numeric_embedding, 0)
        if self.embedded_columns is not None:
            self.embedded_columns = _whole("embedded_columns", self.embedded_columns, 0)
        if self.batch_size is not None:
            self.batch_size = _whole("batch_size", self.batch_size, 1)
        _choice("lr_schedule", self.lr_schedule, SCHEDULES)
        if self.early_stopping_patience is not None:
            self.early_stopping_patience = _whole(
                "early_stopping_patience", self.early_stopping_patience, 1
            )
        if self.layers is not None:
            self.layers = check_layers(self.layers)
        if self.input_shape is not None:
            shape = self.input_shape
            if isinstance(shape, (str, bytes)) or not isinstance(shape, (list, tuple)):
                raise ConfigError(f"input_shape must be [channels, height, width], got {shape!r}")
            self.input_shape = tuple(_whole("input_shape size", size, 1) for size in shape)
        if self.layers is not None and self.input_shape is not None:
            # A network that cannot be built for its own input shape fails now, not in a worker.
            n_features = int(np.prod(self.input_shape))
            build_network(
                self.layers, n_features, 2, input_shape=self.input_shape, rng=None, dtype=np.float32
            )
        # Build the schedule and augmenter once now, so bad settings fail when the preset is
        # read rather than inside a sweep's worker process; their classes hold the rules.
        try:
            _schedule(self, SGD([], lr=self.lr), validation=True)
            ImageAugment(
                (1, 1), self.augment_shift, self.augment_degrees, None, self.augment_subpixel
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"bad schedule or augmentation setting: {exc}") from None

    @property
    def augments(self) -> bool:
        return self.augment_shift > 0 or self.augment_degrees > 0 or self.augment_subpixel > 0

    @property
    def watches_validation(self) -> bool:
        """Whether training itself reads the validation loss (early stopping, the plateau
        schedule), so validation must be scored after every epoch as it runs."""
        return self.early_stopping_patience is not None or self.lr_schedule == "plateau"

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
        if self.input_shape is not None:
            data["input_shape"] = list(self.input_shape)
        return data


LOSSES: dict[str, type[Loss]] = {
    "cross_entropy": SoftmaxCrossEntropy,
    "binary_cross_entropy": SigmoidBinaryCrossEntropy,  # binary and multilabel
    "mse": MeanSquaredError,
    "poisson": PoissonLogLink,
}


SCHEDULES = ("constant", "step", "cosine", "plateau")
CLASS_WEIGHTS = ("balanced",)


def balanced_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Each row's weight ``n / (n_classes_present * n_k)`` for its class ``k`` (class indices
    ``y``): scikit-learn's ``compute_class_weight("balanced")``; the weights average 1."""
    counts = np.bincount(y.astype(np.intp), minlength=n_classes).astype(np.float64)
    present = np.count_nonzero(counts)
    per_class = np.divide(len(y), present * counts, out=np.zeros(n_classes), where=counts > 0)
    return per_class[y.astype(np.intp)]


def _is_number(value: Any) -> bool:
    """A real number, not a bool (TOML's ``true`` must not pass as 1)."""
    real = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    return real and bool(np.isfinite(value))


def _real(
    name: str, value: Any, *, low: float, high: float = np.inf, low_open: bool = False
) -> float:
    """``value`` as a float in ``[low, high)`` (``(low, high)`` if ``low_open``), or ConfigError."""
    below = not _is_number(value) or value < low or (low_open and value == low)
    if below or value >= high:
        where = f"{'(' if low_open else '['}{low:g}, {high:g})"
        raise ConfigError(f"{name} must be a number in {where}, got {value!r}")
    return float(value)


def _whole(name: str, value: Any, minimum: int) -> int:
    """``value`` as an integer of at least ``minimum``, or a ConfigError."""
    if not _is_number(value) or int(value) != value or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _choice(name: str, value: Any, choices: Any) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"unknown {name} {value!r}; choose one of {sorted(choices)}")


def build(
    config: TrainConfig, n_features: int, n_outputs: int, rng: np.random.Generator
) -> tuple[Sequential, Loss, Optimizer]:
    """The model, loss and optimizer that ``config`` describes, initialised from ``rng``."""
    if config.layers is not None:
        model = build_network(
            config.layers,
            n_features,
            n_outputs,
            input_shape=config.input_shape,
            output_activation=config.output_activation,
            rng=rng,
            dtype=np.dtype(config.dtype),
        )
        return model, make_loss(config), _optimizer(config, model)
    embedding = _embedding(config, n_features, rng)
    if embedding is not None:
        n_features = embedding.output_features(n_features)
    model = mlp(
        [n_features, *config.hidden_layer_sizes, n_outputs],
        activation_name=config.activation,
        output_activation=config.output_activation,
        dropout=config.dropout,
        init=config.init,
        rng=rng,
        dtype=np.dtype(config.dtype),
    )
    if embedding is not None:
        model = Sequential(embedding, *model.layers)
    return model, make_loss(config), _optimizer(config, model)


def _embedding(
    config: TrainConfig, n_features: int, rng: np.random.Generator | None
) -> PeriodicEmbedding | None:
    """The PLR embedding of the first ``embedded_columns`` inputs, or None."""
    columns = n_features if config.embedded_columns is None else config.embedded_columns
    columns = min(columns, n_features)
    if config.numeric_embedding == 0 or columns == 0:
        return None
    return PeriodicEmbedding(
        n_features,
        columns,
        size=config.numeric_embedding,
        rng=rng,
        dtype=np.dtype(config.dtype),
    )


def shaped_network(config: TrainConfig, n_features: int, n_outputs: int) -> Sequential:
    """The network ``config`` describes, its weights drawn from a fixed stream: for its
    shape, or to load learned weights into."""
    return build(config, n_features, n_outputs, np.random.default_rng(0))[0]


def make_loss(config: TrainConfig) -> Loss:
    """The loss ``config`` names, with its settings."""
    if config.label_smoothing:
        return SoftmaxCrossEntropy(label_smoothing=config.label_smoothing)
    return LOSSES[config.loss]()


def _optimizer(config: TrainConfig, model: Sequential) -> Optimizer:
    settings: dict[str, Any] = {"lr": config.lr}
    if config.optimizer == "sgd":
        settings.update(momentum=config.momentum, nesterov=config.nesterov)
    elif config.optimizer == "adam":
        settings.update(betas=config.betas)
    return make_optimizer(config.optimizer, model.parameters(), **settings)


def fit_from_config(
    config: TrainConfig,
    train_data: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    *,
    n_outputs: int,
    rng: np.random.Generator,
    callbacks: Sequence[Callback] = (),
    image_shape: tuple[int, int] | None = None,
    scaler: Scaler | None = None,
    checkpointer: Checkpointer | None = None,
) -> tuple[Sequential, History]:
    """Build a fresh model from ``config`` and ``rng`` and fit it; returns (model, history).

    ``config`` also chooses the learning-rate schedule, early stopping and augmentation;
    augmentation needs the inputs' ``image_shape`` and the ``scaler`` they went through.
    With a ``checkpointer`` (see ``glassnet.training.resume``) training continues from its
    saved state when there is one, and saves its state if a stop is requested.
    """
    dtype = np.dtype(config.dtype)
    x = check_features(train_data[0], what="training X")
    y = check_targets(train_data[1], len(x), what="training y")
    if config.loss == "cross_entropy":
        check_classes(y, what="training y")
    x = np.ascontiguousarray(x, dtype=dtype)
    if config.loss == "mse":
        y = np.asarray(y, dtype=dtype)
    if validation is not None:
        validation = prepare_validation(config, validation)
    model, loss, optimizer = build(config, x.shape[1], n_outputs, rng)
    stopper = _early_stopping(config, validation)
    schedule = _schedule(config, optimizer, validation)  # reads the base lr: before a restore
    history = History()
    if checkpointer is not None:
        history = checkpointer.start(model, optimizer, rng, stateful=[stopper, *schedule])
    threads = blas_threads(model, min(config.batch_size or len(x), len(x)))
    with threadpool_limits(limits=threads, user_api="blas"):
        history = fit(
            model,
            loss,
            optimizer,
            (x, y),
            validation,
            epochs=config.epochs - len(history.train_loss),
            batch_size=config.batch_size,
            l2=config.l2,
            rng=rng,
            history=history,
            # The stopper goes last but for the checkpointer: callbacks before it still see
            # the epoch it stops at, and a saved state follows every other callback's work.
            callbacks=[*schedule, *callbacks, *filter(None, [stopper, checkpointer])],
            augment=_augment(config, image_shape, scaler),
            sample_weight=balanced_weights(y, n_outputs) if config.class_weight else None,
        )
    if stopper is not None and stopper.best_state is not None:
        history.best_epoch = stopper.best_epoch
    return model, history


def prepare_validation(
    config: TrainConfig, validation: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Validation ``(x, y)`` checked and cast as ``fit_from_config`` trains on them: x
    contiguous in the training dtype, y too for a regression. Its width is checked against
    the model's input later, by ``fit``, like the training X's."""
    dtype = np.dtype(config.dtype)
    x_valid = check_features(validation[0], what="validation X")
    y_valid = check_targets(validation[1], len(x_valid), what="validation y")
    return (
        np.ascontiguousarray(x_valid, dtype=dtype),
        np.asarray(y_valid, dtype=dtype) if config.loss == "mse" else y_valid,
    )


def scored_validation(
    config: TrainConfig, model: Sequential, loss: Loss, validation: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Validation ``(x, y)`` exactly as ``fit_from_config`` scores it: cast by
    ``prepare_validation``, then checked against ``model`` and ``loss`` as ``fit`` checks it."""
    return check_training_data(
        model, loss, prepare_validation(config, validation), what="validation"
    )


# Below this many multiply-adds in a batch's largest product, OpenBLAS spends more waking
# threads than it saves (BENCHMARKS.md: 721x64 @ 64x48 ran many times slower on 2 threads).
SMALL_PRODUCT = 4_000_000


def blas_threads(model: Sequential, batch_size: int, small: int = SMALL_PRODUCT) -> int | None:
    """1 BLAS thread for small matrix products; None (keep the current setting) for large."""
    largest = max((p.value.size for p in model.parameters() if p.value.ndim == 2), default=0)
    return 1 if batch_size * largest < small else None


# Full-batch L-BFGS multiplies the whole training set hundreds of times in a row, each product
# too short to hide the wait for a second core: on the digits (1797 x 64 @ 64 x 100, 11.5M
# multiply-adds) scikit-learn's default lbfgs fit took 0.53 s on one thread and 13.0 s on two
# (scikit-learn's own: 0.58 and 12.2 s) on 2 cores shared with other work
# (benchmarks/sklearn_lbfgs_threads.py). Threads are left on only for products ~20x longer.
SMALL_FULL_BATCH_PRODUCT = 256_000_000


def full_batch_blas_threads(model: Sequential, n_samples: int) -> int | None:
    """``blas_threads`` for full-batch training (L-BFGS): one thread unless the products
    are long (``SMALL_FULL_BATCH_PRODUCT``)."""
    return blas_threads(model, n_samples, SMALL_FULL_BATCH_PRODUCT)


def _schedule(
    config: TrainConfig, optimizer: Optimizer, validation: object | None
) -> list[Callback]:
    if config.lr_schedule == "step":
        return [schedules.StepDecay(optimizer, config.lr_step, config.lr_decay)]
    if config.lr_schedule == "cosine":
        return [schedules.CosineDecay(optimizer, config.epochs, config.lr_min)]
    if config.lr_schedule == "plateau":
        # Without validation data (a refit on train+valid) the training loss is watched.
        monitor = "validation_loss" if validation is not None else "train_loss"
        return [
            schedules.ReduceOnPlateau(
                optimizer,
                config.lr_patience,
                config.lr_decay,
                monitor=monitor,
                min_lr=config.lr_min,
            )
        ]
    return []


def _early_stopping(config: TrainConfig, validation: object | None) -> Any:
    if config.early_stopping_patience is None:
        return None
    if validation is None:
        raise ConfigError("early stopping needs validation data; set epochs instead when refitting")
    return EarlyStopping(config.early_stopping_patience)


def _augment(
    config: TrainConfig, image_shape: tuple[int, int] | None, scaler: Scaler | None
) -> Augment | None:
    if not config.augments:
        return None
    if image_shape is None:
        raise ConfigError(
            "augment_shift / augment_degrees / augment_subpixel need image data "
            "(a known image shape)"
        )
    return ImageAugment(
        image_shape, config.augment_shift, config.augment_degrees, scaler, config.augment_subpixel
    )
