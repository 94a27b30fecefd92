"""Optimizers, in order of increasing complexity; each subclass writes only its update rule.

State is plain data: a dict of arrays per parameter, in ``state_dict()`` order.
"""

from __future__ import annotations

import numpy as np

from glassnet.errors import ConfigError
from glassnet.nn.layers import Param


class Optimizer:
    """Owns the parameter list and ``step()``; subclasses implement ``update``."""

    state_names: tuple[str, ...] = ()

    def __init__(self, params: list[Param], lr: float) -> None:
        if not np.isfinite(lr) or lr <= 0:
            raise ConfigError(f"learning rate must be a positive number, got {lr}")
        self.params = list(params)
        self.lr = float(lr)
        self.state = [
            {name: np.zeros_like(p.value) for name in self.state_names} for p in self.params
        ]
        self.steps = 0

    def step(self) -> None:
        """Apply one update to every parameter from its ``.grad``."""
        self.steps += 1
        for param, state in zip(self.params, self.state, strict=True):
            self.update(param, state)

    def update(self, param: Param, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        """Arrays keyed ``"<param index>.<name>"`` plus ``"steps"``."""
        out = {f"{i}.{name}": array for i, s in enumerate(self.state) for name, array in s.items()}
        out["steps"] = np.asarray(self.steps)
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        expected = set(self.state_dict())
        if set(state) != expected:
            raise ConfigError(
                f"optimizer state keys differ: missing {sorted(expected - set(state))}, "
                f"unexpected {sorted(set(state) - expected)}"
            )
        for i, slots in enumerate(self.state):
            for name, array in slots.items():
                source = np.asarray(state[f"{i}.{name}"])
                if source.shape != array.shape:
                    raise ConfigError(f"optimizer state {i}.{name} has shape {source.shape}")
                array[...] = source
        self.steps = int(state["steps"])


class SGD(Optimizer):
    """Gradient descent with classical momentum, or Nesterov's.

    Classical: ``v <- momentum * v - lr * grad;  p <- p + v``.
    Nesterov (as in scikit-learn): ``v <- momentum * v - lr * grad;
    p <- p + momentum * v - lr * grad``. ``momentum=0`` is plain gradient descent.
    """

    state_names = ("velocity",)

    def __init__(
        self, params: list[Param], lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False
    ) -> None:
        if not 0.0 <= momentum < 1.0:
            raise ConfigError(f"momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0.0:
            raise ConfigError("Nesterov momentum needs momentum > 0")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        super().__init__(params, lr)

    def update(self, param: Param, state: dict[str, np.ndarray]) -> None:
        velocity = state["velocity"]
        velocity *= self.momentum
        velocity -= self.lr * param.grad
        if self.nesterov:
            param.value += self.momentum * velocity - self.lr * param.grad
        else:
            param.value += velocity


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction.

    ``m <- b1 m + (1-b1) g;  s <- b2 s + (1-b2) g^2;
    p <- p - lr * (m / (1-b1^t)) / (sqrt(s / (1-b2^t)) + eps)``.
    """

    state_names = ("m", "s")

    def __init__(
        self,
        params: list[Param],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        if not all(0.0 <= beta < 1.0 for beta in betas):
            raise ConfigError(f"Adam betas must be in [0, 1), got {betas}")
        if eps <= 0:
            raise ConfigError(f"Adam eps must be positive, got {eps}")
        self.betas, self.eps = (float(betas[0]), float(betas[1])), float(eps)
        super().__init__(params, lr)

    def update(self, param: Param, state: dict[str, np.ndarray]) -> None:
        beta1, beta2 = self.betas
        m, s = state["m"], state["s"]
        m *= beta1
        m += (1.0 - beta1) * param.grad
        s *= beta2
        s += (1.0 - beta2) * np.square(param.grad)
        m_hat = m / (1.0 - beta1**self.steps)
        s_hat = s / (1.0 - beta2**self.steps)
        param.value -= self.lr * m_hat / (np.sqrt(s_hat) + self.eps)


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam}


def make_optimizer(name: str, params: list[Param], **settings: float) -> Optimizer:
    """The optimizer called ``name`` (``"sgd"`` or ``"adam"``) over ``params``."""
    try:
        cls = OPTIMIZERS[name]
    except KeyError:
        message = f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}"
        raise ConfigError(message) from None
    try:
        return cls(params, **settings)
    except TypeError as exc:
        raise ConfigError(f"bad settings for optimizer {name!r}: {exc}") from None
