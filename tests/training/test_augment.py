import numpy as np
import pytest

from glassnet import Adam, ConfigError, SoftmaxCrossEntropy, fit, mlp
from glassnet.data import Scaler, load_digits
from glassnet.training.augment import ImageAugment, shift_matrices
from glassnet.training.config import TrainConfig, fit_from_config


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return data.x[:200], data.y[:200]


def moved_by(original, image):
    """The (down, right) whole-pixel shift, with zero fill, that turns ``original`` into
    ``image``; None when no shift of at most one pixel does."""
    for down in (-1, 0, 1):
        for right in (-1, 0, 1):
            padded = np.pad(original, 1)
            window = padded[1 - down : 9 - down, 1 - right : 9 - right]
            if np.array_equal(window, image):
                return down, right
    return None


def test_shift_keeps_shapes_and_moves_each_digit_as_a_whole(digits):
    x, _ = digits
    out = ImageAugment((8, 8), max_shift=1)(x, np.random.default_rng(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    shifts = [moved_by(a.reshape(8, 8), b.reshape(8, 8)) for a, b in zip(x, out, strict=True)]
    assert all(shift is not None for shift in shifts)  # the same digit, so the label still holds
    assert sum(shift != (0, 0) for shift in shifts) > 0.6 * len(x)  # and it really moved
    assert len(set(shifts)) == 9


def test_augmentation_is_reproducible_from_the_seed(digits):
    x, _ = digits
    augment = ImageAugment((8, 8), max_shift=1, max_degrees=10.0)
    first = augment(x, np.random.default_rng(5))
    np.testing.assert_array_equal(first, augment(x, np.random.default_rng(5)))
    assert not np.array_equal(first, augment(x, np.random.default_rng(6)))


def test_scaled_inputs_are_moved_in_pixel_space(digits):
    x, _ = digits
    for kind in Scaler.KINDS:
        scaler = Scaler.fit(kind, x)
        x_scaled = scaler.transform(x)
        out = ImageAugment((8, 8), max_shift=1, scaler=scaler)(x_scaled, np.random.default_rng(0))
        raw = scaler.inverse_transform(out)
        shifts = [
            moved_by(a.reshape(8, 8), np.round(b, 9).reshape(8, 8) + 0.0)
            for a, b in zip(x, raw, strict=True)
        ]
        assert all(shift is not None for shift in shifts), kind


def test_rotation_changes_images_but_keeps_shape_and_blank_corners(digits):
    x, _ = digits
    out = ImageAugment((8, 8), max_shift=0, max_degrees=15.0)(x, np.random.default_rng(0))
    assert out.shape == x.shape
    assert np.mean(np.any(out != x, axis=1)) > 0.9
    corners = out.reshape(-1, 8, 8)[:, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert np.abs(corners).max() < 4.0  # rotating brings no ink into the corners


def bilinear_shift(image, down, right):
    """``image`` moved ``down`` / ``right`` by real offsets: each output pixel read at
    (i - down, j - right), interpolated between its four neighbours, 0 outside (explicit loops)."""
    height, width = image.shape
    out = np.zeros_like(image)
    for i in range(height):
        for j in range(width):
            y, x = i - down, j - right
            y0, x0 = int(np.floor(y)), int(np.floor(x))
            for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
                for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
                    if 0 <= yy < height and 0 <= xx < width:
                        out[i, j] += wy * wx * image[yy, xx]
    return out


def test_subpixel_shift_is_bilinear_resampling_of_each_image(digits):
    x, _ = digits
    x = x[:30]
    out = ImageAugment((8, 8), max_shift=0, max_subpixel=0.5)(x, np.random.default_rng(4))
    down, right = np.random.default_rng(4).uniform(-0.5, 0.5, size=(2, len(x)))
    assert np.abs(down).max() <= 0.5 and np.abs(down).max() > 0.3  # real, varied offsets
    for k in range(len(x)):
        expected = bilinear_shift(x[k].reshape(8, 8), down[k], right[k])
        np.testing.assert_allclose(out[k].reshape(8, 8), expected, atol=1e-12)
    assert np.mean(np.any(out != x, axis=1)) == 1.0


def test_shift_matrices_move_by_whole_pixels_exactly_and_split_half_pixels(digits):
    image = digits[0][0].reshape(8, 8)
    rows, cols = shift_matrices(np.array([1.0, -0.5]), 8), shift_matrices(np.array([-1.0, 0.0]), 8)
    moved = rows @ image @ cols.mT
    assert moved_by(image, moved[0]) == (1, -1)
    half_up = (image + np.vstack([image[1:], np.zeros(8)])) / 2  # each row mixed with the next
    np.testing.assert_allclose(moved[1], half_up, atol=1e-12)


def test_fit_trains_on_freshly_moved_batches_whose_rows_keep_their_labels(digits):
    x, y = digits
    augment = ImageAugment((8, 8), max_shift=1)
    seen = []

    def spy(batch, rng):
        seen.append((batch, augment(batch, rng)))
        return seen[-1][1]

    model = mlp([64, 8, 10], activation_name="relu", rng=np.random.default_rng(0))
    fit(
        model,
        SoftmaxCrossEntropy(),
        Adam(model.parameters(), lr=0.01),
        (x, y),
        epochs=2,
        batch_size=50,
        rng=np.random.default_rng(0),
        augment=spy,
    )
    assert len(seen) == 8  # 4 batches x 2 epochs, each augmented afresh
    for batch, out in seen:
        assert out.shape == batch.shape == (50, 64)
        # row i is still row i's digit, only moved, so it is trained against its own label
        pairs = zip(batch, out, strict=True)
        assert all(moved_by(a.reshape(8, 8), b.reshape(8, 8)) for a, b in pairs)
    config = TrainConfig(hidden_layer_sizes=(8,), epochs=2, batch_size=50)
    plain, _ = fit_from_config(config, (x, y), None, n_outputs=10, rng=np.random.default_rng(0))
    moved, _ = fit_from_config(
        config.replace(augment_shift=1),
        (x, y),
        None,
        n_outputs=10,
        rng=np.random.default_rng(0),
        image_shape=(8, 8),
    )
    assert not np.allclose(plain.state_dict()["0.weight"], moved.state_dict()["0.weight"])


def test_bad_augmentation_settings_are_refused(digits):
    x, y = digits
    with pytest.raises(ConfigError):
        ImageAugment((8, 8), max_shift=-1)
    with pytest.raises(ConfigError):
        ImageAugment((8, 8), max_degrees=400.0)
    with pytest.raises(ConfigError, match="augment_subpixel"):
        ImageAugment((8, 8), max_subpixel=3.0)
    with pytest.raises(
        ConfigError, match=r"^augment_subpixel must be a number in \[0, inf\), got -0.5$"
    ):
        TrainConfig(augment_subpixel=-0.5)
    # Refused as the config is read (not in a sweep's worker), by the augmenter's own bound.
    with pytest.raises(
        ConfigError, match=r"^augment_subpixel must be in \[0, 2\] pixels, got 3.0$"
    ):
        TrainConfig(augment_subpixel=3.0)
    assert TrainConfig(augment_subpixel=0.5).augments
    with pytest.raises(ConfigError, match="image"):
        ImageAugment((8, 8))(x[:, :10], np.random.default_rng(0))
    with pytest.raises(ConfigError, match="image"):
        fit_from_config(
            TrainConfig(hidden_layer_sizes=(4,), epochs=1, augment_shift=1),
            (x, y),
            None,
            n_outputs=10,
            rng=np.random.default_rng(0),
        )


def test_augment_subpixel_reaches_training_through_the_config(digits):
    x, y = digits
    config = TrainConfig(hidden_layer_sizes=(8,), epochs=1, batch_size=50)

    def trained(**changes):
        model, _ = fit_from_config(
            config.replace(**changes),
            (x, y),
            None,
            n_outputs=10,
            rng=np.random.default_rng(0),
            image_shape=(8, 8),
        )
        return model.state_dict()["0.weight"]

    moved = trained(augment_subpixel=0.5)
    np.testing.assert_array_equal(moved, trained(augment_subpixel=0.5))  # seeded: repeatable
    assert not np.allclose(trained(), moved)


@pytest.mark.parametrize(
    "settings",
    [
        {"max_shift": 1},
        {"max_shift": 0, "max_degrees": 20.0},
        {"max_shift": 0, "max_subpixel": 0.7},
    ],
)
def test_every_channel_of_an_image_moves_as_a_one_channel_image_would(digits, settings):
    # Rows of colour images hold channel after channel (as Reshape((c, h, w)) reads them); the
    # random moves depend on the batch size only, so each channel alone, augmented from the
    # same seed, must come out exactly as that channel of the colour batch.
    gray = digits[0][:20]
    colour = np.hstack([gray, 16.0 - gray, gray[::-1]])
    augment = ImageAugment((8, 8), **settings)
    moved = augment(colour, np.random.default_rng(3))
    assert moved.shape == colour.shape
    for k in range(3):
        alone = augment(colour[:, 64 * k : 64 * (k + 1)], np.random.default_rng(3))
        np.testing.assert_array_equal(moved[:, 64 * k : 64 * (k + 1)], alone)
    assert not np.array_equal(moved, colour)


def test_rows_that_are_not_whole_images_are_refused():
    with pytest.raises(ConfigError, match=r"channels \* 64\) inputs for 8x8 images, got \(2, 65\)"):
        ImageAugment((8, 8))(np.zeros((2, 65)), np.random.default_rng(0))
