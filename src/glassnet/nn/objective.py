"""The training objective: mean loss plus the L2 penalty, and the gradients of both."""

from __future__ import annotations

import numpy as np

from glassnet.nn.layers import Param, Sequential
from glassnet.nn.losses import Loss, l2_penalty


def loss_and_gradients(
    model: Sequential,
    loss: Loss,
    x: np.ndarray,
    y: np.ndarray,
    *,
    l2: float = 0.0,
    n_samples: int | None = None,
    sample_weight: np.ndarray | None = None,
) -> float:
    """Forward and backward through ``model`` and ``loss``; sets every ``.grad``.

    Returns the objective: mean loss + L2 penalty (N = ``n_samples``, the size of the
    whole training set, defaulting to ``len(x)``). This is the only place where L2 joins
    the loss, so training and ``gradcheck`` see the same objective. No gradient is computed
    for ``x`` itself: it is data, and for a first convolution that product costs the most.
    """
    # A model in evaluation mode keeps nothing for backward: it keeps this one pass's caches
    # and drops them after, so it stays a model that holds no data.
    layers = (model, *getattr(model, "layers", ()))  # gradcheck passes single layers too
    evaluating = [layer for layer in layers if not layer.keeps_for_backward]
    for layer in evaluating:
        layer.keeps_for_backward = True
    try:
        value = loss.forward(model.forward(x), y, sample_weight)
        model.backward(loss.backward(), False)
    finally:
        for layer in evaluating:
            layer.keeps_for_backward = False
            layer.release()
        if evaluating:
            loss.release()
    return value + l2_penalty(model.parameters(), l2, n_samples or x.shape[0])


def flat_view(params: list[Param]) -> tuple[np.ndarray, np.ndarray]:
    """One flat value vector and one flat gradient vector that ``params`` become views of.

    Each ``Param.value`` / ``.grad`` is rebound to its slice of the two buffers (both copied
    in), so a generic optimizer over vectors (scipy's L-BFGS, or ``Optimizer.step``) can
    write the flat values and read the flat gradient that ``loss_and_gradients`` fills, with
    no packing. The order is the order of ``params`` (``split_like``'s layout).
    """
    dtype = params[0].value.dtype if params else np.float64
    size = sum(param.value.size for param in params)
    values, grads = np.empty(size, dtype=dtype), np.empty(size, dtype=dtype)
    shaped = [param.value for param in params]
    for param, value, grad in zip(
        params, split_like(values, shaped), split_like(grads, shaped), strict=True
    ):
        value[...], grad[...] = param.value, param.grad
        param.value, param.grad = value, grad
    return values, grads


def split_like(flat: np.ndarray, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Views of consecutive slices of the vector ``flat``, one shaped like each of ``arrays``
    in turn: the layout in which ``flat_view`` lays parameters end to end."""
    views, start = [], 0
    for array in arrays:
        views.append(flat[start : start + array.size].reshape(array.shape))
        start += array.size
    return views
