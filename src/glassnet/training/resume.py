"""Interrupt-safe training: on SIGINT or SIGTERM save the whole training state at the end of
the current epoch, and later continue from it to the same result, bit for bit, as a training
that was never interrupted.

The state file is an ``.npz`` of plain arrays (weights, optimizer state) and a JSON header
(learning rate, history, the generator's ``bit_generator.state``, free-form info), read with
``checkpoint.read_arrays``: loading never unpickles.
"""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from glassnet.atomic import write_atomic
from glassnet.errors import ConfigError, ModelFileError
from glassnet.models.checkpoint import READ_ERRORS, read_arrays
from glassnet.nn.layers import Sequential
from glassnet.nn.optim import Optimizer
from glassnet.training.history import History

FORMAT = "glassnet-training-state"
HEADER_KEY = "__state__"


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on a signal after saving its state to ``path``."""

    def __init__(self, path: Path, epoch: int) -> None:
        super().__init__(f"interrupted after epoch {epoch}; training state saved to {path}")
        self.path, self.epoch = path, epoch


@dataclass
class TrainingState:
    """Everything a training needs to continue exactly: weights, optimizer state and learning
    rate (a schedule may have changed it), the random generator's state and the history so
    far (its length is the number of finished epochs)."""

    weights: dict[str, np.ndarray]
    optimizer: dict[str, np.ndarray]
    lr: float
    rng_state: dict[str, Any]
    history: History
    info: dict[str, Any] = field(default_factory=dict)
    # The state of each callback that keeps one (early stopping's best epoch and weights, a
    # plateau schedule's best value), in the order the training lists them.
    callbacks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def epoch(self) -> int:
        return len(self.history.train_loss)

    @classmethod
    def capture(
        cls,
        model: Sequential,
        optimizer: Optimizer,
        rng: np.random.Generator,
        history: History,
        info: dict[str, Any] | None = None,
        callbacks: list[Any] = (),  # type: ignore[assignment]
    ) -> TrainingState:
        return cls(
            weights={key: value.copy() for key, value in model.state_dict().items()},
            optimizer={key: np.array(value) for key, value in optimizer.state_dict().items()},
            lr=optimizer.lr,
            rng_state=rng.bit_generator.state,
            history=_copy(history),
            info=dict(info or {}),
            callbacks=[callback.state_dict() for callback in callbacks],
        )

    def restore(self, model: Sequential, optimizer: Optimizer, rng: np.random.Generator) -> History:
        """Put weights, optimizer state and generator state back; returns a copy of the history."""
        try:
            model.load_state_dict(self.weights)
            optimizer.load_state_dict(self.optimizer)
            optimizer.lr = float(self.lr)
            rng.bit_generator.state = self.rng_state
        except (TypeError, ValueError, KeyError) as exc:
            raise ConfigError(f"the saved training state does not fit ({exc})") from None
        return _copy(self.history)


def _copy(history: History) -> History:
    return History(**json.loads(json.dumps(history.to_dict())))


def save_state(state: TrainingState, path: str | Path) -> Path:
    """Write ``state`` to ``path`` atomically: arrays in an ``.npz``, the rest as JSON."""
    path = Path(path)
    arrays = {f"weights.{key}": value for key, value in state.weights.items()}
    arrays.update({f"optimizer.{key}": value for key, value in state.optimizer.items()})
    callbacks = []  # each callback's plain values; its arrays go beside the weights
    for index, record in enumerate(state.callbacks):
        plain = {}
        for key, value in record.items():
            if isinstance(value, np.ndarray):
                arrays[f"callback{index}.{key}"] = value
            else:
                plain[key] = value
        callbacks.append(plain)
    header = {
        "format": FORMAT,
        "lr": state.lr,
        "rng_state": state.rng_state,
        "history": state.history.to_dict(),
        "info": state.info,
        "callbacks": callbacks,
    }
    arrays[HEADER_KEY] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    write_atomic(path, lambda handle: np.savez(handle, **arrays))
    return path


def load_state(path: str | Path) -> TrainingState:
    """Read a state file written by ``save_state``; any problem is a ``ModelFileError``."""
    path = Path(path)
    try:
        arrays = read_arrays(path)
        header = json.loads(arrays.pop(HEADER_KEY).tobytes().decode("utf-8"))
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ModelFileError("not a glassnet training state file (format marker missing)")
        history = History(**header["history"])
        lr, rng_state, info = float(header["lr"]), dict(header["rng_state"]), dict(header["info"])
        callbacks = [dict(record) for record in header.get("callbacks", [])]
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    except READ_ERRORS as exc:
        raise ModelFileError(f"{path} is not a readable training state file ({exc!r})") from None
    weights = {k.removeprefix("weights."): v for k, v in arrays.items() if k.startswith("weights.")}
    optimizer = {
        k.removeprefix("optimizer."): v for k, v in arrays.items() if k.startswith("optimizer.")
    }
    for index, record in enumerate(callbacks):
        prefix = f"callback{index}."
        record.update(
            {k.removeprefix(prefix): v for k, v in arrays.items() if k.startswith(prefix)}
        )
    n_callback_arrays = sum(key.startswith("callback") for key in arrays)
    if len(weights) + len(optimizer) + n_callback_arrays != len(arrays):
        raise ModelFileError(f"{path} holds unexpected arrays")
    return TrainingState(weights, optimizer, lr, rng_state, history, info, callbacks)


class StopSignals:
    """While active, SIGINT and SIGTERM request a stop: ``requested`` turns True and, unless
    ``deferred``, KeyboardInterrupt is raised at once. A second signal always raises.

    Deferring lets a training finish its epoch and save a consistent state first. Outside the
    main thread signals cannot be caught, and this does nothing.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self.deferred = False
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self.previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        already = self.requested
        self.requested = True
        if already or not self.deferred:
            raise KeyboardInterrupt


class Checkpointer:
    """Resume from and save to one state file around ``fit``.

    ``start`` (called by ``fit_from_config`` once the model is built) restores the state at
    ``path`` if there is one and returns the history to continue; as a callback, it saves
    the state after an epoch during which a stop was requested and raises
    ``TrainingInterrupted``. ``info`` (e.g. the config) is stored, and must match on resume.
    The callbacks given to ``start`` that keep a state of their own (``state_dict`` /
    ``load_state_dict``: early stopping, a plateau schedule) are saved and restored with it.
    """

    def __init__(
        self, path: str | Path, stop: StopSignals, info: dict[str, Any] | None = None
    ) -> None:
        self.path, self.stop, self.info = Path(path), stop, dict(info or {})
        self.optimizer: Optimizer | None = None
        self.rng: np.random.Generator | None = None
        self.stateful: list[Any] = []
        self.restored: list[dict[str, Any]] | None = None

    def start(
        self,
        model: Sequential,
        optimizer: Optimizer,
        rng: np.random.Generator,
        stateful: list[Any] = (),  # type: ignore[assignment]
    ) -> History:
        self.optimizer, self.rng = optimizer, rng
        # Only the callbacks that keep a state of their own (stateless schedules do not).
        self.stateful = [callback for callback in stateful if hasattr(callback, "state_dict")]
        if not self.path.exists():
            return History()
        state = load_state(self.path)
        if state.info != self.info or len(state.callbacks) != len(self.stateful):
            raise ConfigError(
                f"{self.path} was saved by a different training ({state.info} != {self.info}); "
                "delete it to start over"
            )
        self.restored = state.callbacks
        return state.restore(model, optimizer, rng)

    def on_train_begin(self, history: History, model: Sequential) -> None:
        """Give the stateful callbacks their saved state, after ``fit`` has reset them (the
        checkpointer is the training's last callback)."""
        if self.restored is not None:
            try:
                for callback, state in zip(self.stateful, self.restored, strict=True):
                    callback.load_state_dict(state)
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(
                    f"{self.path}: a saved callback state does not fit ({exc})"
                ) from None

    def __call__(self, epoch: int, history: History, model: Sequential) -> None:
        if self.stop.requested:
            if self.optimizer is None or self.rng is None:
                raise RuntimeError("Checkpointer.start was not called before training")
            state = TrainingState.capture(
                model, self.optimizer, self.rng, history, self.info, self.stateful
            )
            save_state(state, self.path)
            raise TrainingInterrupted(self.path, epoch + 1)
