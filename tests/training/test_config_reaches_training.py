"""fit_from_config trains exactly what its TrainConfig says: each case is checked against the
same training assembled by hand from build, fit and the named callback or augmenter."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from glassnet.data.preprocessing import Scaler
from glassnet.errors import ConfigError
from glassnet.training.augment import ImageAugment
from glassnet.training.config import TrainConfig, build, fit_from_config
from glassnet.training.loop import fit
from glassnet.training.schedules import ReduceOnPlateau


def noisy_data(n_features=6):
    """40 training and 40 validation rows whose labels are 30% noise: a net overfits them."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((80, n_features))
    y = np.where(rng.random(80) < 0.3, 1 - (x[:, 0] > 0), x[:, 0] > 0).astype(int)
    return (x[:40], y[:40]), (x[40:], y[40:])


def by_hand(config, train, validation, *, n_outputs=2, schedule=None, augment=None):
    """The training fit_from_config should run: build from rng 0, then fit with that rng."""
    rng = np.random.default_rng(0)
    model, loss, optimizer = build(config, train[0].shape[1], n_outputs, rng)
    callbacks = [] if schedule is None else [schedule(optimizer)]
    with threadpool_limits(limits=1, user_api="blas"):
        history = fit(
            model,
            loss,
            optimizer,
            train,
            validation,
            epochs=config.epochs,
            batch_size=config.batch_size,
            l2=config.l2,
            rng=rng,
            callbacks=callbacks,
            augment=augment,
        )
    return model, history


def from_config(config, train, validation, **settings):
    settings.setdefault("n_outputs", 2)
    return fit_from_config(config, train, validation, rng=np.random.default_rng(0), **settings)


def assert_same_training(one, other):
    (model, history), (model_other, history_other) = one, other
    assert history.train_loss == history_other.train_loss
    assert history.validation_loss == history_other.validation_loss
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, model_other.state_dict()[key])


@pytest.mark.parametrize("loss", ["mse", "binary_cross_entropy"])
def test_float32_trains_on_float32_data_and_targets(loss):
    """dtype="float32" means float32 arithmetic throughout: integer features and targets and
    float64 validation data train exactly as the same data converted to float32 by hand."""
    (x, y), (xv, yv) = noisy_data()
    config = TrainConfig(hidden_layer_sizes=(4,), epochs=3, loss=loss, dtype="float32", lr=0.5)
    targets, valid_targets = np.stack([y, 1 - y], axis=1), np.stack([yv, 1 - yv], axis=1)
    trained = from_config(config, (x.astype(int), targets), (xv, valid_targets.astype(float)))
    f32 = np.float32
    expected = by_hand(
        config,
        (x.astype(int).astype(f32), targets.astype(f32)),
        (xv.astype(f32), valid_targets.astype(f32)),
    )
    assert_same_training(trained, expected)
    assert all(isinstance(v, float) for v in trained[1].validation_loss)
    # The float64 training of the same data is another training (the test can tell them apart).
    float64 = by_hand(config.replace(dtype="float64"), (x, targets), (xv, valid_targets))
    assert trained[1].train_loss != float64[1].train_loss


def test_cross_entropy_validation_labels_stay_class_indices():
    (x, y), (xv, yv) = noisy_data()
    config = TrainConfig(hidden_layer_sizes=(4,), epochs=3, dtype="float32")
    trained = from_config(config, (x, y), (xv, yv))
    expected = by_hand(config, (x.astype(np.float32), y), (xv.astype(np.float32), yv))
    assert_same_training(trained, expected)


def plateau(monitor, min_lr):
    return lambda optimizer: ReduceOnPlateau(optimizer, 2, 0.5, monitor=monitor, min_lr=min_lr)


def test_plateau_watches_the_validation_loss_and_stops_at_lr_min():
    """With validation data the plateau schedule cuts the rate when the validation loss stalls
    (the training loss keeps falling on these noisy labels), never below lr_min."""
    train, valid = noisy_data()
    config = TrainConfig(
        hidden_layer_sizes=(32,), activation="tanh", lr=0.5, epochs=60, lr_schedule="plateau"
    )
    config = config.replace(lr_patience=2, lr_decay=0.5, lr_min=0.1)
    trained = from_config(config, train, valid)
    assert_same_training(
        trained, by_hand(config, train, valid, schedule=plateau("validation_loss", 0.1))
    )
    # Watching the training loss, or no floor, would have trained differently.
    for other in (plateau("train_loss", 0.1), plateau("validation_loss", 0.0)):
        _, history = by_hand(config, train, valid, schedule=other)
        assert history.train_loss != trained[1].train_loss


def blas_threads_now():
    return sorted({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"})


def test_small_products_train_on_one_blas_thread():
    """BENCHMARKS.md: a small network trains many times slower when BLAS wakes its threads."""
    if not blas_threads_now():
        pytest.skip("no BLAS library that threadpoolctl can see")
    seen = []
    train, valid = noisy_data()
    config = TrainConfig(hidden_layer_sizes=(4,), epochs=2)
    with threadpool_limits(limits=2, user_api="blas"):
        if blas_threads_now() != [2]:
            pytest.skip("this BLAS cannot be set to 2 threads")
        from_config(config, train, valid, callbacks=[lambda *_: seen.append(blas_threads_now())])
        assert blas_threads_now() == [2]  # the limit holds only while training
    assert seen == [[1], [1]]


def images(n=40):
    """4x4 'images' with values 0..16 like the digits, scaled as the run scales them."""
    rng = np.random.default_rng(5)
    x = rng.integers(0, 17, (n, 16)).astype(float)
    y = (x[:, :8].sum(axis=1) > x[:, 8:].sum(axis=1)).astype(int)
    return x, y


def test_augmentation_undoes_the_scaler_it_is_given():
    """Shifted-in pixels are blank in raw units: the augmenter gets the scaler the data went
    through, so training equals the hand-built ImageAugment with that scaler."""
    x, y = images()
    scaler = Scaler.fit("standard", x)
    scaled = scaler.transform(x)
    config = TrainConfig(hidden_layer_sizes=(4,), epochs=3, augment_shift=1, lr=0.5)
    trained = from_config(config, (scaled, y), None, image_shape=(4, 4), scaler=scaler)
    expected = by_hand(config, (scaled, y), None, augment=ImageAugment((4, 4), 1, 0.0, scaler))
    assert_same_training(trained, expected)
    unscaled = by_hand(config, (scaled, y), None, augment=ImageAugment((4, 4), 1, 0.0, None))
    assert unscaled[1].train_loss != trained[1].train_loss


def test_augmentation_without_an_image_shape_is_refused():
    x, y = images()
    config = TrainConfig(hidden_layer_sizes=(4,), epochs=1, augment_degrees=10.0)
    with pytest.raises(
        ConfigError,
        match=(
            r"^augment_shift / augment_degrees / augment_subpixel need image data "
            r"\(a known image shape\)$"
        ),
    ):
        from_config(config, (x, y), None)
