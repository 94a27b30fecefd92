"""What ``fit`` records per epoch (``History``), and how a callback ends training early."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.nn.layers import Sequential

if TYPE_CHECKING:
    pass


class StopTraining(Exception):
    """Raised by a callback to end ``fit`` after the current epoch."""


@dataclass
class History:
    """Per-epoch records of one training; plain lists that serialize to JSON.

    Examples:
        >>> import json
        >>> history = History(train_loss=[0.9, 0.5], validation_loss=[1.0, 0.7])
        >>> print(json.dumps(history.to_dict(), indent=1))
        {
         "train_loss": [
          0.9,
          0.5
         ],
         "validation_loss": [
          1.0,
          0.7
         ],
         "validation_accuracy": [],
         "best_epoch": null
        }
    """

    train_loss: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)
    validation_accuracy: list[float] = field(default_factory=list)
    # The epoch (0-based) whose weights the model ended with, when early stopping restored them.
    best_epoch: int | None = None

    def to_dict(self) -> dict[str, Any]:
        # Copies of the lists, field by field: dataclasses.asdict deep-copies every float
        # (~3 ms for 3 x 1000 epochs, once per trial while a sweep runs).
        return {item.name: _copy(getattr(self, item.name)) for item in dataclasses.fields(self)}


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


Callback = Callable[[int, History, Sequential], None]


Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]
