"""Losses: ``forward(output, target) -> float`` keeps what ``backward() -> grad_output`` needs.

Every loss averages over samples (optionally weighted: ``mean(w_i * loss_i)``) and is fused
with its output link (softmax, sigmoid, exp), so the gradient is ``(prediction - target)``
scaled, and no log of a rounded-off zero is ever taken. The L2 penalty on weights is defined
once, here, in :func:`l2_penalty`.
"""

from __future__ import annotations

import numpy as np

from glassnet.errors import DataError
from glassnet.nn.layers import Param


def _by_class(logits: np.ndarray) -> np.ndarray:
    """A ``(n_classes, n_samples)`` copy of ``logits``, shifted so each sample's largest is 0.

    Softmax reduces and broadcasts across a handful of classes per sample. NumPy runs those
    along the last axis one short row at a time (measured 3-5x slower on (721, 10) logits),
    so the work is done on the transposed copy, where every step runs over all samples at
    once. The shift keeps ``exp`` finite for any finite logits.
    """
    shifted = np.array(logits.T, order="C")
    shifted -= shifted.max(axis=0)
    return shifted


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``logits`` (n_samples, n_classes); stable for any finite input.

    Examples:
        >>> import numpy as np
        >>> print(softmax(np.array([[0.0, 0.0], [0.0, np.log(3.0)], [1000.0, 0.0]])))
        [[0.5  0.5 ]
         [0.25 0.75]
         [1.   0.  ]]
    """
    exp = np.exp(_by_class(logits))
    exp /= exp.sum(axis=0)
    return np.ascontiguousarray(exp.T)


class Loss:
    """Base class: a scalar objective of a model's output and the targets.

    ``forward`` keeps the ``cached`` arrays (derived from the batch's outputs and targets)
    for ``backward``; ``release()`` drops them, as training does when it ends.
    """

    cached: tuple[str, ...] = ("diff", "scale")

    def release(self) -> None:
        """Drop what the last ``forward`` kept for ``backward``."""
        for name in self.cached:
            self.__dict__.pop(name, None)

    def forward(
        self, output: np.ndarray, target: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def predict(self, output: np.ndarray) -> np.ndarray:
        """What the model's output means to a user (probabilities, or the values)."""
        return output


class SoftmaxCrossEntropy(Loss):
    """Softmax over logits (n_samples, n_classes) fused with the mean cross-entropy.

    ``target`` holds integer class indices. Fusing gives the simple, exact gradient
    ``(softmax(z) - onehot(y)) / n`` and never takes the log of a rounded-off zero.

    ``label_smoothing`` (epsilon in [0, 1)) trains towards ``(1 - epsilon) * onehot(y) +
    epsilon / n_classes`` instead of ``onehot(y)``: per sample the loss is ``(1 - epsilon) *
    (-log p_y) + epsilon * mean_k(-log p_k)`` (the cross-entropy against that target), and the
    gradient becomes ``(p - smoothed target) / n``.

    Examples:
        >>> import numpy as np
        >>> loss = SoftmaxCrossEntropy()
        >>> logits = np.array([[2.0, 0.0], [0.0, 0.0]])
        >>> round(loss.forward(logits, np.array([0, 1])), 4)  # mean of -log(e^2/(e^2+1)), -log(1/2)
        0.41
        >>> print(loss.backward().round(4))  # (softmax(logits) - onehot) / 2
        [[-0.0596  0.0596]
         [ 0.25   -0.25  ]]
    """

    cached = ("targets", "probs_by_class", "scale")

    def __init__(self, label_smoothing: float = 0.0) -> None:
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.label_smoothing = float(label_smoothing)

    def forward(
        self, output: np.ndarray, target: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> float:
        shifted = _by_class(output)  # (n_classes, n_samples), see _by_class
        n_samples = shifted.shape[1]
        target = np.asarray(target)
        if target.dtype.kind not in "iu":
            raise DataError(
                f"cross-entropy targets must be integer class indices, not {target.dtype}"
            )
        # Each sample's target entry in that layout as a flat position (its class's row, its
        # column): np.take on those is ~3x faster than indexing with a (rows, columns) pair.
        self.targets = target.astype(np.intp) * n_samples
        self.targets += np.arange(n_samples)
        exp = np.exp(shifted)
        sums = exp.sum(axis=0)
        log_sums = np.log(sums)
        per_sample = log_sums - shifted.ravel().take(self.targets)
        if self.label_smoothing:
            # -mean_k log p_k = log(sum exp) - mean_k z_k, per sample.
            uniform = log_sums - shifted.mean(axis=0)
            per_sample = (1.0 - self.label_smoothing) * per_sample + self.label_smoothing * uniform
        exp /= sums
        self.probs_by_class = exp
        self.scale = _sample_scale(n_samples, sample_weight, output.dtype)
        return float(per_sample @ self.scale if self.scale.ndim else per_sample.sum() * self.scale)

    def backward(self) -> np.ndarray:
        # A copy: the cached probabilities stay intact, so a second call agrees. (p - 1) * s,
        # not p * s - s: the same rounding as the seed experiment's reference, bit for bit.
        grad = self.probs_by_class.copy()
        if self.label_smoothing:
            grad -= self.label_smoothing / grad.shape[0]
            grad.ravel()[self.targets] -= 1.0 - self.label_smoothing
        else:
            grad.ravel()[self.targets] -= 1.0
        grad *= self.scale
        return np.ascontiguousarray(grad.T)

    def predict(self, output: np.ndarray) -> np.ndarray:
        return softmax(output)


class MeanSquaredError(Loss):
    """Half the mean squared error over all samples and outputs (scikit-learn's convention).

    Examples:
        >>> import numpy as np
        >>> loss = MeanSquaredError()
        >>> loss.forward(np.array([[1.0], [3.0]]), np.array([0.0, 1.0]))  # (1 + 4) / 2 / 2
        1.25
        >>> print(loss.backward())  # (output - target) / n_samples
        [[0.5]
         [1. ]]
    """

    def forward(
        self, output: np.ndarray, target: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> float:
        target = target.reshape(output.shape)
        self.diff = output - target
        n_outputs = output.shape[1]  # outputs are (n_samples, n_outputs), as sum(axis=1) needs
        self.scale = _sample_scale(len(output), sample_weight, output.dtype) / n_outputs
        per_sample = 0.5 * np.square(self.diff).sum(axis=1)
        return float(per_sample @ self.scale if self.scale.ndim else per_sample.sum() * self.scale)

    def backward(self) -> np.ndarray:
        return self.diff * (self.scale[:, None] if self.scale.ndim else self.scale)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Elementwise ``1 / (1 + exp(-z))``, stable for any finite ``z`` (never exp of a large z)."""
    small = np.exp(-np.abs(logits))  # in (0, 1]: cannot overflow
    return np.where(logits >= 0, 1.0, small) / (1.0 + small)


class SigmoidBinaryCrossEntropy(Loss):
    """Independent sigmoids over logits (n_samples, n_outputs) fused with binary cross-entropy.

    Per sample: ``sum_k softplus(z_k) - t_k z_k`` with ``t`` in {0, 1} (one output for binary,
    one per label for multilabel), averaged over samples, summed over outputs (scikit-learn's
    ``binary_log_loss``). ``softplus(z) = max(z, 0) + log1p(exp(-|z|))`` never overflows; the
    gradient is ``(sigmoid(z) - t) / n``.
    """

    def forward(
        self, output: np.ndarray, target: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> float:
        target = np.asarray(target, dtype=output.dtype).reshape(output.shape)
        softplus = np.maximum(output, 0.0) + np.log1p(np.exp(-np.abs(output)))
        per_sample = (softplus - target * output).sum(axis=1)
        self.diff = sigmoid(output) - target
        self.scale = _sample_scale(len(output), sample_weight, output.dtype)
        return float(per_sample @ self.scale if self.scale.ndim else per_sample.sum() * self.scale)

    def backward(self) -> np.ndarray:
        return self.diff * (self.scale[:, None] if self.scale.ndim else self.scale)

    def predict(self, output: np.ndarray) -> np.ndarray:
        return sigmoid(output)


class PoissonLogLink(Loss):
    """Half the Poisson deviance of ``mu = exp(z)``, the log link fused in.

    Per sample: ``sum_k exp(z_k) - t_k z_k + t_k log t_k - t_k`` (0 log 0 = 0), averaged over
    samples and summed over outputs, as scikit-learn's ``poisson`` loss; targets must be
    non-negative. The gradient is ``(exp(z) - t) / n``.
    """

    def forward(
        self, output: np.ndarray, target: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> float:
        target = np.asarray(target, dtype=output.dtype).reshape(output.shape)
        if np.any(target < 0):
            raise DataError("Poisson targets must be non-negative counts or rates")
        mean = np.exp(output)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_log_t = np.where(target > 0, target * np.log(target), 0.0)
        per_sample = (mean - target * output + t_log_t - target).sum(axis=1)
        self.diff = mean - target
        self.scale = _sample_scale(len(output), sample_weight, output.dtype)
        return float(per_sample @ self.scale if self.scale.ndim else per_sample.sum() * self.scale)

    def backward(self) -> np.ndarray:
        return self.diff * (self.scale[:, None] if self.scale.ndim else self.scale)

    def predict(self, output: np.ndarray) -> np.ndarray:
        return np.exp(output)


def _sample_scale(n_samples: int, sample_weight: np.ndarray | None, dtype) -> np.ndarray:
    """Per-sample factor w_i / n, or the scalar 1 / n when unweighted."""
    if sample_weight is None:
        return np.asarray(1.0 / n_samples, dtype=dtype)
    return (np.asarray(sample_weight) / n_samples).astype(dtype)


def l2_penalty(params: list[Param], l2: float, n_samples: int) -> float:
    """Add the L2 term to the weights' gradients and return it for the loss.

    The convention is scikit-learn's ``alpha``: loss += 0.5 * l2 / N * sum ||W||^2 and
    grad W += l2 / N * W, with N the number of training samples. Biases are not penalised.
    """
    if l2 == 0.0:
        return 0.0
    factor = l2 / n_samples
    total = 0.0
    for param in params:
        if param.decay:
            flat = param.value.ravel()
            total += float(flat @ flat)
            param.grad += factor * param.value
    return 0.5 * factor * total
