"""Feature scaling learned on the training rows and stored as plain arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glassnet.errors import DataError


@dataclass
class Scaler:
    """Affine feature scaling ``(x - offset) / scale``, fitted on training data only.

    ``kind="standard"``: zero mean, unit variance per feature; ``kind="minmax"``: range
    [0, 1] per feature; ``kind="global"``: one mean and one standard deviation over all
    features, for images, where a pixel moved by augmentation must keep its meaning (per-pixel
    scaling blows up nearly-always-blank border pixels). Constant features keep scale 1 so
    they map to 0 instead of dividing by zero.
    """

    kind: str
    offset: np.ndarray
    scale: np.ndarray

    KINDS = ("standard", "minmax", "global")

    @classmethod
    def fit(cls, kind: str, x: np.ndarray) -> Scaler:
        if kind == "standard":
            offset, scale = x.mean(axis=0), x.std(axis=0)
        elif kind == "minmax":
            offset, scale = x.min(axis=0), x.max(axis=0) - x.min(axis=0)
        elif kind == "global":
            offset, scale = np.full(x.shape[1], x.mean()), np.full(x.shape[1], x.std())
        else:
            raise DataError(f"unknown scaling {kind!r}; choose one of {list(cls.KINDS)}")
        scale = np.where(scale > 0, scale, 1.0)
        return cls(kind, offset.astype(np.float64), scale.astype(np.float64))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.offset) / self.scale

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Raw features back from scaled ones: ``x * scale + offset``."""
        return x * self.scale + self.offset
