"""Data augmentation for small images: random shifts and rotations, drawn per batch from ``rng``.

An augmenter is called as ``augment(x, rng) -> x_new`` on a batch of flattened images
(n_samples, height * width); ``fit`` applies it to every batch it trains on, so each epoch
sees freshly moved images while labels stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glassnet.data.preprocessing import Scaler
from glassnet.errors import ConfigError


@dataclass
class ImageAugment:
    """Shift each image by up to ``max_shift`` whole pixels in each direction and rotate it
    by up to ``max_degrees`` (uniform), filling uncovered pixels with blank background.

    ``scaler``, when the inputs were scaled, is undone before moving pixels and redone
    after, so "blank" means a raw value of 0 and every pixel keeps its own scaling.
    """

    image_shape: tuple[int, int]
    max_shift: int = 1
    max_degrees: float = 0.0
    scaler: Scaler | None = None

    def __post_init__(self) -> None:
        if int(self.max_shift) != self.max_shift or self.max_shift < 0:
            raise ConfigError(f"augment_shift must be a non-negative integer, got {self.max_shift}")
        if not 0.0 <= self.max_degrees <= 180.0:
            raise ConfigError(f"augment_degrees must be in [0, 180], got {self.max_degrees}")
        self.max_shift = int(self.max_shift)

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        height, width = self.image_shape
        if x.ndim != 2 or x.shape[1] != height * width:
            raise ConfigError(
                f"image augmentation needs (n_samples, {height * width}) inputs, got {x.shape}"
            )
        images = x if self.scaler is None else self.scaler.inverse_transform(x)
        images = images.reshape(len(x), height, width)
        if self.max_degrees > 0:
            images = self._rotate(images, rng)
        if self.max_shift > 0:
            images = self._shift(images, rng)
        out = images.reshape(len(x), height * width)
        out = out if self.scaler is None else self.scaler.transform(out)
        return out.astype(x.dtype, copy=False)

    def _shift(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Integer shifts by padding with zeros and cutting a moved window out of each image."""
        n, height, width = images.shape
        s = self.max_shift
        padded = np.pad(images, ((0, 0), (s, s), (s, s)))
        down, right = rng.integers(-s, s + 1, size=(2, n))
        rows = (s - down)[:, None, None] + np.arange(height)[None, :, None]
        cols = (s - right)[:, None, None] + np.arange(width)[None, None, :]
        return padded[np.arange(n)[:, None, None], rows, cols]

    def _rotate(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        from scipy import ndimage  # only rotations need it; importing it costs ~0.4 s

        angles = rng.uniform(-self.max_degrees, self.max_degrees, size=len(images))
        return np.stack(
            [
                ndimage.rotate(image, angle, reshape=False, order=1, mode="constant", cval=0.0)
                for image, angle in zip(images, angles, strict=True)
            ]
        )
