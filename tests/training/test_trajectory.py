"""A training's weights after every epoch, and the validation curves scored from them later:
the curves ``fit`` records while it trains, bit for bit."""

import numpy as np
import pytest

from glassnet.training.config import TrainConfig, build, fit_from_config, make_loss
from glassnet.training.history import StopTraining
from glassnet.training.trajectory import WeightTrajectory, trajectory_bytes, validation_curves


def data(rng, n=60, classes=3):
    x = rng.normal(size=(n, 5))
    y = rng.integers(0, classes, n)
    return x, y


def settings(**changes):
    return TrainConfig(**{"hidden_layer_sizes": (4,), "epochs": 6, "l2": 0.1, **changes})


def snapshots():
    """A callback keeping copies of every epoch's state, and the list it fills."""
    kept = []

    def keep(epoch, history, model):
        kept.append(np.concatenate([v.ravel() for v in model.state_dict().values()]))

    return keep, kept


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_curves_from_the_trajectory_are_the_ones_fit_records(loss):
    rng = np.random.default_rng(0)
    (x, y), (xv, yv) = data(rng), data(rng)
    if loss == "mse":
        y, yv = y[:, None] / 2.0, yv[:, None] / 2.0
    config = settings(loss=loss, dtype="float32")
    outputs = 1 if loss == "mse" else 3
    _, watched = fit_from_config(
        config, (x, y), (xv, yv), n_outputs=outputs, rng=np.random.default_rng(1)
    )
    trajectory = WeightTrajectory(config.epochs)
    _, unwatched = fit_from_config(
        config, (x, y), None, n_outputs=outputs, rng=np.random.default_rng(1),
        callbacks=[trajectory],
    )  # fmt: skip
    assert unwatched.train_loss == watched.train_loss
    assert trajectory.weights().dtype == np.float32  # kept in the training dtype: half the memory
    model = build(config, 5, outputs, np.random.default_rng(2))[0]
    valid = (np.asarray(xv, dtype=np.float32), yv.astype(np.float32) if loss == "mse" else yv)
    losses, accuracies = validation_curves(model, make_loss(config), trajectory.weights(), valid)
    assert losses == watched.validation_loss and len(set(losses)) == 6
    assert accuracies == watched.validation_accuracy
    assert (accuracies == []) == (loss == "mse")


def test_each_row_holds_every_array_after_its_epoch_in_key_order():
    rng = np.random.default_rng(0)
    trajectory, (keep, kept) = WeightTrajectory(6), snapshots()
    model, history = fit_from_config(
        settings(), data(rng), None, n_outputs=3, rng=rng, callbacks=[trajectory, keep]
    )
    rows = trajectory.weights()
    assert rows.shape == (6, 5 * 4 + 4 + 4 * 3 + 3) and rows.dtype == np.float64
    np.testing.assert_array_equal(rows, np.array(kept))
    assert len({row.tobytes() for row in rows}) == 6
    assert trajectory_bytes(model, 6) == rows.nbytes == 6 * 39 * 8


def test_a_training_stopped_early_keeps_only_the_epochs_that_ran():
    rng = np.random.default_rng(0)

    def stop_after_second(epoch, history, model):
        if epoch == 1:
            raise StopTraining

    trajectory, (keep, kept) = WeightTrajectory(6), snapshots()
    fit_from_config(
        settings(), data(rng), None, n_outputs=3, rng=rng,
        callbacks=[trajectory, keep, stop_after_second],
    )  # fmt: skip
    assert trajectory.epochs_done == 2
    np.testing.assert_array_equal(trajectory.weights(), np.array(kept))
    assert WeightTrajectory(3).weights().shape == (0, 0)  # no epoch ran


def test_a_trajectory_of_another_network_is_refused():
    rng = np.random.default_rng(0)
    trajectory = WeightTrajectory(2)
    fit_from_config(
        settings(epochs=2), data(rng), None, n_outputs=3, rng=rng, callbacks=[trajectory]
    )
    other = build(settings(hidden_layer_sizes=(5,)), 5, 3, rng)[0]
    x, y = data(rng)
    message = "^the trajectory has rows of shape \\(39,\\), the model 48 values: not its weights$"
    with pytest.raises(ValueError, match=message):
        validation_curves(other, make_loss(settings()), trajectory.weights(), (x, y))
    with pytest.raises(ValueError, match="not its weights"):
        validation_curves(other, make_loss(settings()), trajectory.weights()[0], (x, y))
