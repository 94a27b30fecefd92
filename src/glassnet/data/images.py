"""Images at the data edge: channels-last on disk, channels-first rows inside glassnet.

Files hold images as ``(n, h, w)`` or ``(n, h, w, c)`` arrays (NPZ) or as rows of pixels
(CSV, OpenML) whose channels sit side by side, pixel after pixel: what ``reshape(n, -1)``
of an ``(n, h, w, c)`` array gives. Networks take ``(n, c, h, w)``, so rows are converted
here, once, to hold channel after channel; a ``Reshape((c, h, w))`` layer then only views.
"""

from __future__ import annotations

import numpy as np

from glassnet.data.datasets import Dataset
from glassnet.errors import DataError

# (height, width) or (height, width, channels), as --image-shape HxW[xC] gives it.
ImageShape = tuple[int, ...]


def describe(shape: ImageShape) -> str:
    """``(28, 28)`` -> ``"28x28"``, ``(32, 32, 3)`` -> ``"32x32x3"``."""
    return "x".join(str(side) for side in shape)


def channels_first_rows(images: np.ndarray) -> np.ndarray:
    """``(n, h, w)`` or channels-last ``(n, h, w, c)`` images as rows ``(n, c*h*w)``,
    channel after channel."""
    if images.ndim == 3:
        return images.reshape(len(images), -1)
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2)).reshape(len(images), -1)


def image_array(x: np.ndarray, *, what: str) -> tuple[np.ndarray, tuple[int, int], int]:
    """An NPZ features array of images as (rows, (height, width), channels)."""
    if x.ndim not in (3, 4) or min(x.shape[1:]) < 1:
        raise DataError(
            f"{what} has shape {x.shape}; images must be (n, height, width) or channels-last "
            "(n, height, width, channels), other data (n_samples, n_features)"
        )
    channels = int(x.shape[3]) if x.ndim == 4 else 1
    return channels_first_rows(x), (int(x.shape[1]), int(x.shape[2])), channels


# What to do when images already have another shape than the one given: the default speaks
# to ``train --image-shape``; a trained model's loader passes its own.
GIVEN_SHAPE_HINT = "leave out --image-shape (images keep the shape they have)"


def with_image_shape(
    data: Dataset, shape: ImageShape, source: str, *, hint: str = GIVEN_SHAPE_HINT
) -> Dataset:
    """``data`` whose rows are images of ``shape`` (height, width[, channels]): flat rows of
    pixels are converted to channels first; data that came as images must have that shape
    (else a DataError that ends with ``hint``)."""
    if len(shape) not in (2, 3) or not all(isinstance(side, int) and side > 0 for side in shape):
        raise DataError(
            f"image shape {shape!r} must be [height, width] or [height, width, channels], "
            "positive whole numbers"
        )
    height, width, *rest = shape
    channels = rest[0] if rest else 1
    if data.image_shape is not None:
        had = (*data.image_shape, data.channels)
        if had != (height, width, channels):
            raise DataError(
                f"{source!r} holds {describe(had)} images (height x width x channels), but "
                f"{describe((height, width, channels))} ones are wanted; {hint}"
            )
        return data
    if height * width * channels != data.x.shape[1]:
        raise DataError(
            f"image shape {describe(shape)} has {height * width * channels} values, but rows of "
            f"{source!r} have {data.x.shape[1]} features; give the shape the rows were "
            "flattened from (HxW, or HxWxC with the channels of each pixel side by side)"
        )
    if channels > 1:
        data.x = channels_first_rows(data.x.reshape(len(data.x), height, width, channels))
    data.image_shape, data.channels = (height, width), channels
    return data


def gray_rows(data: Dataset, index: np.ndarray | slice) -> np.ndarray:
    """Rows ``index`` of image data as one plane each ``(k, h*w)``: the mean of the channels
    (what the report's pictures show)."""
    rows = data.x[index]
    if data.channels == 1:
        return rows
    return rows.reshape(len(rows), data.channels, rows.shape[1] // data.channels).mean(axis=1)
