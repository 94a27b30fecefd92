"""Images at the data edge: channels-last files become channels-first rows, checked against
explicit loops; every way of giving the same images gives the same rows; bad shapes are one
DataError saying what to do."""

import numpy as np
import pytest

from glassnet.data.datasets import Dataset
from glassnet.data.images import channels_first_rows, gray_rows, with_image_shape
from glassnet.data.sources import load_dataset
from glassnet.errors import DataError


def images(n=5, height=4, width=3, channels=2):
    return np.random.default_rng(0).uniform(0, 1, (n, height, width, channels))


def test_channels_first_rows_match_an_explicit_loop():
    x = images()
    n, height, width, channels = x.shape
    rows = channels_first_rows(x)
    expected = np.empty((n, channels * height * width))
    for i in range(n):
        for c in range(channels):
            for h in range(height):
                for w in range(width):
                    expected[i, (c * height + h) * width + w] = x[i, h, w, c]
    np.testing.assert_array_equal(rows, expected)
    # The network's Reshape((c, h, w)) then sees image i's channel c as x[i, :, :, c].
    np.testing.assert_array_equal(rows.reshape(n, channels, height, width)[2, 1], x[2, :, :, 1])


def test_npz_images_flat_npz_and_csv_with_an_image_shape_give_the_same_rows(tmp_path):
    x = images()
    labels = np.arange(len(x)) % 2
    np.savez(tmp_path / "images.npz", x=x, y=labels)
    np.savez(tmp_path / "flat.npz", x=x.reshape(len(x), -1), y=labels)
    header = ",".join([f"p{i}" for i in range(x[0].size)] + ["y"])
    table = np.column_stack([x.reshape(len(x), -1), labels])
    np.savetxt(tmp_path / "flat.csv", table, delimiter=",", header=header, comments="", fmt="%.17g")
    loaded = [
        load_dataset(str(tmp_path / "images.npz")),
        load_dataset(str(tmp_path / "flat.npz"), image_shape=(4, 3, 2)),
        load_dataset(str(tmp_path / "flat.csv"), "y", image_shape=(4, 3, 2)),
        load_dataset(str(tmp_path / "images.npz"), image_shape=(4, 3, 2)),  # agrees: kept
    ]
    for data in loaded:
        assert data.image_shape == (4, 3) and data.channels == 2
        assert data.input_shape == (2, 4, 3)
        np.testing.assert_array_equal(data.x, channels_first_rows(x))
        np.testing.assert_array_equal(data.y, labels)


def test_one_channel_images_keep_their_rows(tmp_path):
    x = images(channels=1)[..., 0]
    np.savez(tmp_path / "gray.npz", x=x, y=np.zeros(len(x), dtype=int))
    data = load_dataset(str(tmp_path / "gray.npz"))
    assert (data.image_shape, data.channels, data.input_shape) == ((4, 3), 1, (1, 4, 3))
    np.testing.assert_array_equal(data.x, x.reshape(len(x), -1))


@pytest.mark.parametrize(
    "array, shape, words",
    [
        (np.zeros((3, 2, 2, 2, 2)), None, "(n, height, width, channels)"),
        (np.zeros((3, 4, 3, 2)), (4, 3), "4x3x2 images"),
        (np.zeros((3, 4, 3)), (4, 3, 3), "4x3x1 images"),
        (np.zeros((3, 24)), (4, 3, 3), "4x3x3 has 36 values, but rows of"),
        (np.zeros((3, 24)), (4, 3, 3), "HxWxC"),
        (np.zeros((3, 24)), (4, 0), "positive whole numbers"),
    ],
)
def test_a_bad_image_shape_is_one_data_error(tmp_path, array, shape, words):
    np.savez(tmp_path / "bad.npz", x=array, y=np.zeros(3, dtype=int))
    with pytest.raises(DataError, match="^[^\n]+$") as caught:
        load_dataset(str(tmp_path / "bad.npz"), image_shape=shape)
    assert words in str(caught.value)


def test_gray_rows_are_the_mean_of_the_channels():
    x = images()
    data = with_image_shape(Dataset(x.reshape(len(x), -1), None), (4, 3, 2), "test")
    np.testing.assert_allclose(gray_rows(data, [1, 3]), x[[1, 3]].mean(axis=3).reshape(2, -1))
