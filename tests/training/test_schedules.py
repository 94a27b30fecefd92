import numpy as np
import pytest

from glassnet import SGD, ConfigError, SoftmaxCrossEntropy, fit, mlp
from glassnet.training.config import TrainConfig, fit_from_config
from glassnet.training.history import History
from glassnet.training.schedules import CosineDecay, ReduceOnPlateau, StepDecay


def tiny_problem():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 3))
    return x, (x[:, 0] > 0).astype(int)


def rates_used(make_schedule, epochs):
    """The learning rate each epoch actually trained with, recorded inside ``fit``."""
    model = mlp([3, 2], rng=np.random.default_rng(0))
    optimizer = SGD(model.parameters(), lr=0.1)
    used = []

    class Spy:  # steps see the optimizer's rate at the time of each epoch's updates
        def step(self):
            used.append(optimizer.lr)
            optimizer.step()

    fit(
        model,
        SoftmaxCrossEntropy(),
        Spy(),
        tiny_problem(),
        epochs=epochs,  # type: ignore[arg-type]
        callbacks=[make_schedule(optimizer)],
    )
    return used


def test_step_decay_halves_the_rate_every_two_epochs():
    used = rates_used(lambda opt: StepDecay(opt, step_size=2, gamma=0.5), epochs=6)
    np.testing.assert_allclose(used, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


def test_cosine_goes_from_the_base_rate_down_to_the_minimum():
    used = rates_used(lambda opt: CosineDecay(opt, epochs=4, min_lr=0.02), epochs=4)
    expected = [0.02 + 0.08 * 0.5 * (1 + np.cos(np.pi * e / 4)) for e in range(4)]
    np.testing.assert_allclose(used, expected)
    np.testing.assert_allclose(used[:3], [0.1, 0.02 + 0.08 * (1 + np.sqrt(0.5)) / 2, 0.06])
    assert CosineDecay(
        SGD(mlp([3, 2], rng=np.random.default_rng(0)).parameters(), lr=0.1), epochs=4, min_lr=0.02
    ).lr_at(9) == pytest.approx(0.02)


def test_reduce_on_plateau_cuts_after_patience_epochs_without_improvement():
    optimizer = SGD(mlp([3, 2], rng=np.random.default_rng(0)).parameters(), lr=1.0)
    schedule = ReduceOnPlateau(optimizer, patience=2, factor=0.5, min_lr=0.2)
    history = History()
    rates = []
    for epoch, loss in enumerate([1.0, 0.9, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85]):
        history.validation_loss.append(loss)
        schedule(epoch, history, None)  # type: ignore[arg-type]
        rates.append(optimizer.lr)
    # no improvement at epochs 2, 3 -> cut after epoch 3; improvement at 4; cuts after 6, 8, 10
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2]


def test_train_config_turns_on_the_schedule():
    x, y = tiny_problem()
    # momentum 0 and a rate cut to ~0 after the first epoch: later epochs barely move weights
    config = TrainConfig(
        hidden_layer_sizes=(4,),
        momentum=0.0,
        lr=0.5,
        epochs=1,
        lr_schedule="step",
        lr_step=1,
        lr_decay=1e-12,
    )
    one, _ = fit_from_config(config, (x, y), None, n_outputs=2, rng=np.random.default_rng(1))
    many, _ = fit_from_config(
        config.replace(epochs=5), (x, y), None, n_outputs=2, rng=np.random.default_rng(1)
    )
    constant, _ = fit_from_config(
        config.replace(epochs=5, lr_schedule="constant"),
        (x, y),
        None,
        n_outputs=2,
        rng=np.random.default_rng(1),
    )
    np.testing.assert_allclose(
        many.state_dict()["0.weight"], one.state_dict()["0.weight"], atol=1e-9
    )
    assert not np.allclose(constant.state_dict()["0.weight"], one.state_dict()["0.weight"])


@pytest.mark.parametrize(
    "settings",
    [
        {"lr_schedule": "exponential"},
        {"lr_schedule": "step", "lr_step": 0},
        {"lr_schedule": "plateau", "lr_decay": 1.0},
        {"lr_schedule": "cosine", "lr_min": 5.0},
    ],
)
def test_bad_schedule_settings_are_refused(settings):
    x, y = tiny_problem()
    with pytest.raises(ConfigError):
        config = TrainConfig(hidden_layer_sizes=(4,), lr=0.5, epochs=2, **settings)
        fit_from_config(config, (x, y), (x, y), n_outputs=2, rng=np.random.default_rng(1))


def test_inverse_scaling_divides_by_samples_seen():
    from glassnet.training.schedules import InverseScaling

    optimizer = SGD(mlp([3, 2], rng=np.random.default_rng(0)).parameters(), lr=0.1)
    schedule = InverseScaling(optimizer, power_t=0.5, samples_per_epoch=20, samples_seen=40)
    rates = []
    for epoch in range(3):
        schedule(epoch, History(), None)
        rates.append(optimizer.lr)
    assert rates == pytest.approx([0.1 / 61**0.5, 0.1 / 81**0.5, 0.1 / 101**0.5])
