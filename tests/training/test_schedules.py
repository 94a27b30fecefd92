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
    ("settings", "named"),
    [
        ({"lr_schedule": "exponential"}, "lr_schedule"),
        ({"lr_schedule": "step", "lr_step": 0}, "lr_step"),
        ({"lr_schedule": "plateau", "lr_decay": 1.0}, "lr_decay"),
        ({"lr_schedule": "cosine", "lr_min": 5.0}, "lr_min"),
    ],
)
def test_bad_schedule_settings_are_refused_when_the_config_is_read(settings, named):
    """Reading the config refuses the setting by name, before any training could start."""
    with pytest.raises(ConfigError, match=named):
        TrainConfig(hidden_layer_sizes=(4,), lr=0.5, epochs=2, **settings)


@pytest.mark.parametrize(
    "settings",
    [
        {"lr_schedule": "step", "lr_step": 1},
        {"lr_schedule": "plateau", "lr_decay": 0.5},
        {"lr_schedule": "cosine", "lr_min": 0.5},
    ],
)
def test_the_nearest_good_schedule_settings_train(settings):
    """Each refused setting's nearest allowed value reads and trains."""
    x, y = tiny_problem()
    config = TrainConfig(hidden_layer_sizes=(4,), lr=0.5, epochs=2, **settings)
    _, history = fit_from_config(config, (x, y), (x, y), n_outputs=2, rng=np.random.default_rng(1))
    assert len(history.train_loss) == 2


def test_inverse_scaling_divides_by_samples_seen():
    from glassnet.training.schedules import InverseScaling

    optimizer = SGD(mlp([3, 2], rng=np.random.default_rng(0)).parameters(), lr=0.1)
    schedule = InverseScaling(optimizer, power_t=0.5, samples_per_epoch=20, samples_seen=40)
    rates = []
    for epoch in range(3):
        schedule(epoch, History(), None)
        rates.append(optimizer.lr)
    assert rates == pytest.approx([0.1 / 61**0.5, 0.1 / 81**0.5, 0.1 / 101**0.5])


def optimizer_at(lr=0.1):
    return SGD(mlp([3, 2], rng=np.random.default_rng(0)).parameters(), lr=lr)


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda opt: StepDecay(opt, step_size=0), "lr_step"),
        (lambda opt: StepDecay(opt, step_size=2.5), "lr_step"),
        (lambda opt: StepDecay(opt, step_size=2, gamma=0.0), "lr_decay"),
        (lambda opt: StepDecay(opt, step_size=2, gamma=-0.5), "lr_decay"),
        (lambda opt: StepDecay(opt, step_size=2, gamma=1.5), "lr_decay"),
        (lambda opt: CosineDecay(opt, epochs=0), "epochs"),
        (lambda opt: CosineDecay(opt, epochs=2.5), "epochs"),
        (lambda opt: CosineDecay(opt, epochs=4, min_lr=-0.01), "lr_min"),
        (lambda opt: CosineDecay(opt, epochs=4, min_lr=0.2), "lr_min"),
        (lambda opt: ReduceOnPlateau(opt, patience=0), "lr_patience"),
        (lambda opt: ReduceOnPlateau(opt, patience=1.5), "lr_patience"),
        (lambda opt: ReduceOnPlateau(opt, factor=0.0), "lr_decay"),
        (lambda opt: ReduceOnPlateau(opt, factor=1.0), "lr_decay"),
        (lambda opt: ReduceOnPlateau(opt, monitor="validation_acc"), "monitor"),
    ],
)
def test_schedules_refuse_bad_arguments_by_name(make, named):
    with pytest.raises(ConfigError, match=named):
        make(optimizer_at(0.1))


def test_schedules_take_their_boundary_arguments():
    """The edges of each allowed range: gamma 1 (no decay), min_lr equal to lr or 0, one epoch."""
    assert StepDecay(optimizer_at(), step_size=1, gamma=1.0).lr_at(5) == pytest.approx(0.1)
    assert StepDecay(optimizer_at(), step_size=1, gamma=0.5).lr_at(3) == pytest.approx(0.0125)
    assert CosineDecay(optimizer_at(), epochs=1, min_lr=0.1).lr_at(1) == pytest.approx(0.1)
    assert CosineDecay(optimizer_at(), epochs=1).lr_at(1) == pytest.approx(0.0)
    ReduceOnPlateau(optimizer_at(), patience=1, factor=0.5)


def test_reduce_on_plateau_needs_its_monitored_values():
    schedule = ReduceOnPlateau(optimizer_at())
    with pytest.raises(ConfigError, match="validation data"):
        schedule(0, History(train_loss=[1.0]), None)  # type: ignore[arg-type]


def plateau_rates(values, **settings):
    optimizer = optimizer_at(1.0)
    monitor = settings.get("monitor", "validation_loss")
    schedule = ReduceOnPlateau(optimizer, **settings)
    history, rates = History(), []
    for epoch, value in enumerate(values):
        getattr(history, monitor).append(value)
        schedule(epoch, history, None)  # type: ignore[arg-type]
        rates.append(optimizer.lr)
    return rates


def test_reduce_on_plateau_reads_accuracy_upwards_and_ties_as_no_gain():
    rising = [0.5, 0.6, 0.7, 0.8, 0.9]
    assert plateau_rates(rising, patience=1, factor=0.5, monitor="validation_accuracy") == [1.0] * 5
    assert plateau_rates(rising, patience=1, factor=0.5, monitor="train_loss") == [
        1.0,
        0.5,
        0.25,
        0.125,
        0.0625,
    ]
    flat = [0.5, 0.5, 0.5, 0.5, 0.5]
    assert plateau_rates(flat, patience=2, factor=0.5, monitor="validation_accuracy") == [
        1.0,
        1.0,
        0.5,
        0.5,
        0.25,
    ]


def test_default_patience_and_decay():
    """ReduceOnPlateau waits 10 epochs and cuts by 10x; StepDecay's default gamma is 0.1."""
    assert plateau_rates([1.0] * 12) == [1.0] * 10 + [pytest.approx(0.1)] * 2
    assert StepDecay(optimizer_at(1.0), step_size=1).lr_at(2) == pytest.approx(0.01)


def test_an_infinite_loss_is_never_an_improvement_for_the_plateau():
    rates = plateau_rates([np.inf, np.inf, np.inf, np.inf, 1.0, 1.0], patience=2, factor=0.5)
    assert rates == [1.0, 0.5, 0.5, 0.25, 0.25, 0.25]


def test_inverse_scaling_counts_from_zero_samples_and_takes_power_t_0():
    from glassnet.training.schedules import InverseScaling

    optimizer = optimizer_at(0.1)
    schedule = InverseScaling(optimizer, power_t=0.5, samples_per_epoch=20)
    schedule(0, History(), None)
    assert optimizer.lr == pytest.approx(0.1 / 21**0.5, rel=1e-12)
    constant = optimizer_at(0.1)
    schedule = InverseScaling(constant, power_t=0.0, samples_per_epoch=20)
    schedule(0, History(), None)
    assert constant.lr == 0.1
    with pytest.raises(ConfigError, match=r"^power_t must be >= 0, got -0.5$"):
        InverseScaling(optimizer_at(0.1), power_t=-0.5, samples_per_epoch=20)
