"""Finite-difference gradient checks for any layer, loss or whole model (with L2)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from glassnet.nn.layers import Layer, Param
from glassnet.nn.losses import Loss
from glassnet.nn.objective import loss_and_gradients

DEFAULT_STEP = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-2}
DEFAULT_TOLERANCE = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 2e-2}


@dataclass
class GradcheckResult:
    """Relative error ``|analytic - numeric| / (|analytic| + |numeric|)`` per checked array."""

    errors: dict[str, float] = field(default_factory=dict)
    tolerance: float = 1e-6

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    @property
    def worst(self) -> str:
        return max(self.errors, key=self.errors.__getitem__) if self.errors else ""

    @property
    def passed(self) -> bool:
        return self.max_error < self.tolerance

    def __bool__(self) -> bool:
        return self.passed


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """Norm-wise relative error; 0 when both are exactly zero."""
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return float(np.linalg.norm(analytic - numeric) / scale) if scale > 0 else 0.0


def gradcheck(
    target: Layer | Loss,
    x: np.ndarray,
    y: np.ndarray | None = None,
    *,
    loss: Loss | None = None,
    l2: float = 0.0,
    step: float | None = None,
    tolerance: float | None = None,
    rng: np.random.Generator | None = None,
) -> GradcheckResult:
    """Compare ``target``'s analytic gradients with central differences.

    - a ``Loss``: the gradient of ``loss(x, y)`` with respect to its input ``x``;
    - a ``Layer`` with ``loss``: the objective ``loss(model(x), y) + L2`` (the one
      training uses), checked for every parameter and the input;
    - a ``Layer`` alone: the scalar ``sum(layer(x) * r)`` for a fixed random ``r``.

    Step and tolerance default by dtype (float64: 1e-6 / 1e-6; float32: 1e-2 / 2e-2).
    """
    x = np.array(x)
    if not np.issubdtype(x.dtype, np.floating):
        # A step of 1e-6 on an integer array would round away: perturb a float copy.
        x = x.astype(np.float64)
    dtype = x.dtype
    step = step if step is not None else DEFAULT_STEP.get(dtype, 1e-6)
    tolerance = tolerance if tolerance is not None else DEFAULT_TOLERANCE.get(dtype, 1e-6)
    result = GradcheckResult(tolerance=tolerance)

    objective: Callable[[], float]
    if isinstance(target, Loss):
        if y is None:
            raise ValueError("checking a loss needs targets y")

        def objective() -> float:
            return target.forward(x, y)

        objective()
        analytic = {"input": target.backward().copy()}
        params: dict[str, Param] = {}
    else:
        params = {f"param{i}": p for i, p in enumerate(target.parameters())}
        if loss is not None:
            if y is None:
                raise ValueError("checking a model with a loss needs targets y")

            def objective() -> float:
                return loss_and_gradients(target, loss, x, y, l2=l2)  # type: ignore[arg-type]

            # L2 does not depend on x, so the input gradient comes from the plain loss.
            loss.forward(target.forward(x), y)
            analytic = {"input": np.array(target.backward(loss.backward(), True))}
            objective()
        else:
            rng = rng if rng is not None else np.random.default_rng(0)
            projection = rng.standard_normal(target.forward(x).shape).astype(dtype)

            def objective() -> float:
                return float(np.sum(target.forward(x) * projection))

            target.forward(x)
            analytic = {"input": np.array(target.backward(projection, True))}
        analytic.update({name: p.grad.copy() for name, p in params.items()})

    numeric = {"input": _central_differences(objective, x, step)}
    numeric.update(
        {name: _central_differences(objective, p.value, step) for name, p in params.items()}
    )
    result.errors = {name: relative_error(analytic[name], numeric[name]) for name in analytic}
    return result


def _central_differences(
    objective: Callable[[], float], array: np.ndarray, step: float
) -> np.ndarray:
    """d objective / d array by (f(a + h) - f(a - h)) / 2h, one entry at a time, in place."""
    grad = np.zeros(array.shape, dtype=np.float64)
    flat, flat_grad = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + step
        plus = objective()
        flat[i] = original - step
        minus = objective()
        flat[i] = original
        flat_grad[i] = (plus - minus) / (2 * step)
    return grad
