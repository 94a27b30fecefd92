"""Data augmentation for small images: random shifts (whole or sub-pixel) and rotations, drawn
per batch from ``rng``.

An augmenter is called as ``augment(x, rng) -> x_new`` on a batch of flattened images
(n_samples, channels * height * width), channel after channel as ``Reshape((c, h, w))`` reads
them; ``fit`` applies it to every batch it trains on, so each epoch
sees freshly moved images while labels stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glassnet.data.preprocessing import Scaler
from glassnet.errors import ConfigError


@dataclass
class ImageAugment:
    """Shift each image by up to ``max_shift`` whole pixels in each direction, rotate it by up
    to ``max_degrees`` and shift it by up to ``max_subpixel`` pixels, a real number (uniform),
    filling uncovered pixels with blank background. Every channel of an image moves alike.

    A sub-pixel shift resamples the image bilinearly: on 8x8 digits a whole pixel is a
    quarter of the digit's height, while a shift below one pixel moves ink the way the
    digits' own scanning jitter does.

    ``scaler``, when the inputs were scaled, is undone before moving pixels and redone
    after, so "blank" means a raw value of 0 and every pixel keeps its own scaling.
    """

    image_shape: tuple[int, int]
    max_shift: int = 1
    max_degrees: float = 0.0
    scaler: Scaler | None = None
    max_subpixel: float = 0.0

    def __post_init__(self) -> None:
        if int(self.max_shift) != self.max_shift or self.max_shift < 0:
            raise ConfigError(f"augment_shift must be a non-negative integer, got {self.max_shift}")
        if not 0.0 <= self.max_degrees <= 180.0:
            raise ConfigError(f"augment_degrees must be in [0, 180], got {self.max_degrees}")
        if not 0.0 <= self.max_subpixel <= 2.0:
            raise ConfigError(f"augment_subpixel must be in [0, 2] pixels, got {self.max_subpixel}")
        self.max_shift = int(self.max_shift)

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        height, width = self.image_shape
        if x.ndim != 2 or x.shape[1] == 0 or x.shape[1] % (height * width):
            raise ConfigError(
                f"image augmentation needs (n_samples, channels * {height * width}) inputs "
                f"for {height}x{width} images, got {x.shape}"
            )
        images = x if self.scaler is None else self.scaler.inverse_transform(x)
        images = images.reshape(len(x), x.shape[1] // (height * width), height, width)
        if self.max_degrees > 0:
            images = self._rotate(images, rng)
        if self.max_shift > 0:
            images = self._shift(images, rng)
        if self.max_subpixel > 0:
            down, right = rng.uniform(-self.max_subpixel, self.max_subpixel, size=(2, len(x)))
            # rows mixed by one matrix, columns by another: (n, 1, h, h) @ (n, c, h, w) @
            # (n, 1, w, w), the same matrices for every channel of an image
            rows, cols = shift_matrices(down, height), shift_matrices(right, width).mT
            images = rows[:, None] @ images @ cols[:, None]
        out = images.reshape(x.shape)
        out = out if self.scaler is None else self.scaler.transform(out)
        return out.astype(x.dtype, copy=False)

    def _shift(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Integer shifts by padding with zeros and cutting a moved window out of each image."""
        n, _, height, width = images.shape
        s = self.max_shift
        padded = np.pad(images, ((0, 0), (0, 0), (s, s), (s, s)))
        down, right = rng.integers(-s, s + 1, size=(2, n))
        rows = (s - down)[:, None, None, None] + np.arange(height)[None, None, :, None]
        cols = (s - right)[:, None, None, None] + np.arange(width)[None, None, None, :]
        channels = np.arange(images.shape[1])[None, :, None, None]
        return padded[np.arange(n)[:, None, None, None], channels, rows, cols]

    def _rotate(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        from scipy import ndimage  # only rotations need it; importing it costs ~0.4 s

        angles = rng.uniform(-self.max_degrees, self.max_degrees, size=len(images))
        return np.stack(
            [
                # axes (2, 1): the (height, width) plane, turning as for a 2-D image
                ndimage.rotate(
                    image, angle, axes=(2, 1), reshape=False, order=1, mode="constant", cval=0.0
                )
                for image, angle in zip(images, angles, strict=True)
            ]
        )


def shift_matrices(offsets: np.ndarray, size: int) -> np.ndarray:
    """(n, size, size) matrices M: ``(M[k] @ v)[i]`` is ``v`` at position ``i - offsets[k]``,
    linearly interpolated between the two nearest entries and 0 outside ``v``."""
    source = np.arange(size)[None, :] - offsets[:, None]  # (n, size): where output i reads
    low = np.floor(source)
    frac = (source - low)[:, :, None]
    positions = np.arange(size)[None, None, :]
    low = low[:, :, None]
    # A source position outside 0..size-1 matches no column: it contributes blank background.
    return (1.0 - frac) * (positions == low) + frac * (positions == low + 1)
