"""Learning-rate schedules: callbacks that set ``optimizer.lr`` for the next epoch.

Epoch 0 always runs at the optimizer's own ``lr`` (the base rate); after epoch ``e``
the schedule sets the rate that epoch ``e + 1`` will use. ``lr_at(e)`` gives that
sequence for the stateless schedules, so it can be printed or tested before training.
"""

from __future__ import annotations

import math
from typing import Any

from glassnet.errors import ConfigError
from glassnet.nn.layers import Sequential
from glassnet.nn.optim import Optimizer
from glassnet.training.history import History


class StepDecay:
    """``lr(e) = base_lr * gamma ** (e // step_size)``: times ``gamma`` per ``step_size`` epochs.

    Examples:
        >>> import numpy as np
        >>> from glassnet import SGD
        >>> from glassnet.nn.layers import Param
        >>> schedule = StepDecay(SGD([Param.of(np.zeros(1))], lr=0.1), step_size=2, gamma=0.5)
        >>> [schedule.lr_at(epoch) for epoch in range(5)]
        [0.1, 0.1, 0.05, 0.05, 0.025]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if int(step_size) != step_size or step_size < 1:
            raise ConfigError(f"lr_step must be a positive integer, got {step_size}")
        if not 0.0 < gamma <= 1.0:
            raise ConfigError(f"lr_decay must be in (0, 1], got {gamma}")
        self.optimizer, self.base_lr = optimizer, optimizer.lr
        self.step_size, self.gamma = int(step_size), float(gamma)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)

    def __call__(self, epoch: int, history: History, model: Sequential) -> None:
        self.optimizer.lr = self.lr_at(epoch + 1)


class CosineDecay:
    """``lr(e) = min_lr + (base_lr - min_lr) * (1 + cos(pi * e / epochs)) / 2``: a half cosine
    from the base rate at epoch 0 towards ``min_lr`` at epoch ``epochs`` (then held there).

    Examples:
        >>> import numpy as np
        >>> from glassnet import SGD
        >>> from glassnet.nn.layers import Param
        >>> schedule = CosineDecay(SGD([Param.of(np.zeros(1))], lr=0.1), epochs=4)
        >>> [round(schedule.lr_at(epoch), 4) for epoch in range(6)]
        [0.1, 0.0854, 0.05, 0.0146, 0.0, 0.0]
    """

    def __init__(self, optimizer: Optimizer, epochs: int, min_lr: float = 0.0) -> None:
        if int(epochs) != epochs or epochs < 1:
            raise ConfigError(f"a cosine schedule needs a positive number of epochs, got {epochs}")
        if not 0.0 <= min_lr <= optimizer.lr:
            raise ConfigError(f"lr_min must be in [0, lr={optimizer.lr}], got {min_lr}")
        self.optimizer, self.base_lr = optimizer, optimizer.lr
        self.epochs, self.min_lr = int(epochs), float(min_lr)

    def lr_at(self, epoch: int) -> float:
        progress = min(epoch, self.epochs) / self.epochs
        span = self.base_lr - self.min_lr
        return self.min_lr + span * 0.5 * (1.0 + math.cos(math.pi * progress))

    def __call__(self, epoch: int, history: History, model: Sequential) -> None:
        self.optimizer.lr = self.lr_at(epoch + 1)


class ReduceOnPlateau:
    """Multiply the rate by ``factor`` when ``monitor`` has not improved for ``patience``
    epochs, then wait ``patience`` epochs again before the next cut; never below ``min_lr``."""

    MONITORS = {"validation_loss": 1.0, "train_loss": 1.0, "validation_accuracy": -1.0}

    def __init__(
        self,
        optimizer: Optimizer,
        patience: int = 10,
        factor: float = 0.1,
        *,
        monitor: str = "validation_loss",
        min_lr: float = 0.0,
    ) -> None:
        if monitor not in self.MONITORS:
            raise ConfigError(f"cannot monitor {monitor!r}; choose one of {sorted(self.MONITORS)}")
        if int(patience) != patience or patience < 1:
            raise ConfigError(f"lr_patience must be a positive integer, got {patience}")
        if not 0.0 < factor < 1.0:
            raise ConfigError(f"lr_decay must be in (0, 1) for reduce-on-plateau, got {factor}")
        self.optimizer, self.patience, self.factor = optimizer, int(patience), float(factor)
        self.monitor, self.sign, self.min_lr = monitor, self.MONITORS[monitor], float(min_lr)
        self.best = math.inf
        self.last_change = -1  # the epoch of the last improvement or rate cut

    def __call__(self, epoch: int, history: History, model: Sequential) -> None:
        values = getattr(history, self.monitor)
        if not values:
            raise ConfigError(f"reduce-on-plateau on {self.monitor} needs validation data")
        value = self.sign * values[-1]
        if value < self.best:
            self.best, self.last_change = value, epoch
        elif epoch - self.last_change >= self.patience:
            self.optimizer.lr = max(self.min_lr, self.optimizer.lr * self.factor)
            self.last_change = epoch

    def state_dict(self) -> dict[str, Any]:
        """The best value seen and the epoch of the last improvement or cut, for a resume."""
        return {"best": float(self.best), "last_change": self.last_change}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.last_change = float(state["best"]), int(state["last_change"])


class InverseScaling:
    """scikit-learn's ``invscaling``: after each epoch ``lr = base_lr / (t + 1) ** power_t``,
    with ``t`` the number of samples seen so far (``samples_seen`` carries over warm starts)."""

    def __init__(
        self, optimizer: Optimizer, power_t: float, samples_per_epoch: int, samples_seen: int = 0
    ) -> None:
        if not power_t >= 0.0:
            raise ConfigError(f"power_t must be >= 0, got {power_t}")
        self.optimizer, self.base_lr, self.power_t = optimizer, optimizer.lr, float(power_t)
        self.samples_per_epoch, self.samples_seen = int(samples_per_epoch), int(samples_seen)

    def __call__(self, epoch: int, history: History, model: Sequential) -> None:
        self.samples_seen += self.samples_per_epoch
        self.optimizer.lr = self.base_lr / (self.samples_seen + 1) ** self.power_t
