"""TrainConfig -> build: every setting reaches the model and the optimizer it describes."""

import numpy as np
import pytest

from glassnet.nn.layers import Dropout, Linear, ReLU, Sigmoid, Tanh
from glassnet.nn.losses import MeanSquaredError, SoftmaxCrossEntropy
from glassnet.nn.optim import SGD, Adam
from glassnet.training.config import TrainConfig, build


def one_step(optimizer, grad=0.5):
    """Every parameter's change after one update from a constant gradient ``grad``."""
    before = [p.value.copy() for p in optimizer.params]
    for p in optimizer.params:
        p.grad[...] = grad
    optimizer.step()
    return [p.value - b for p, b in zip(optimizer.params, before, strict=True)]


def two_steps(optimizer, grad=0.5):
    one_step(optimizer, grad)
    return one_step(optimizer, grad)


def test_sgd_settings_reach_the_optimizer():
    config = TrainConfig(hidden_layer_sizes=(3,), lr=0.03, momentum=0.7)
    _, _, optimizer = build(config, 4, 2, np.random.default_rng(0))
    assert type(optimizer) is SGD
    # Classical momentum: v1 = -lr g, v2 = m v1 - lr g, so the second step is -lr g (1 + m).
    for change in two_steps(optimizer):
        np.testing.assert_allclose(change, -0.03 * 0.5 * 1.7)


def test_nesterov_reaches_the_optimizer():
    config = TrainConfig(hidden_layer_sizes=(3,), lr=0.03, momentum=0.7, nesterov=True)
    _, _, optimizer = build(config, 4, 2, np.random.default_rng(0))
    # Nesterov: the first step is m v1 - lr g = -lr g (1 + m).
    for change in one_step(optimizer):
        np.testing.assert_allclose(change, -0.03 * 0.5 * 1.7)


def test_adam_settings_reach_the_optimizer():
    config = TrainConfig(hidden_layer_sizes=(3,), optimizer="adam", lr=0.01, betas=(0.5, 0.75))
    _, _, optimizer = build(config, 4, 2, np.random.default_rng(0))
    assert type(optimizer) is Adam
    # Bias correction makes each step -lr * sign(g) for a constant g, whatever the betas, so
    # the betas show in the moments: after two steps m = (1 - b1^2) g, s = (1 - b2^2) g^2.
    for change in two_steps(optimizer, grad=0.5):
        np.testing.assert_allclose(change, -0.01, rtol=1e-6)
    for slots in optimizer.state:
        np.testing.assert_allclose(slots["m"], (1 - 0.5**2) * 0.5)
        np.testing.assert_allclose(slots["s"], (1 - 0.75**2) * 0.25)


@pytest.mark.parametrize(
    ("activation", "layer"), [("sigmoid", Sigmoid), ("tanh", Tanh), ("relu", ReLU)]
)
def test_model_settings_reach_the_network(activation, layer):
    config = TrainConfig(
        hidden_layer_sizes=(5, 4), activation=activation, dropout=0.25, dtype="float32"
    )
    model, loss, _ = build(config, 6, 3, np.random.default_rng(0))
    kinds = [type(x) for x in model.layers]
    assert kinds == [Linear, layer, Dropout, Linear, layer, Dropout, Linear]
    assert [x.p for x in model.layers if isinstance(x, Dropout)] == [0.25, 0.25]
    assert [(x.in_features, x.out_features) for x in model.layers if isinstance(x, Linear)] == [
        (6, 5),
        (5, 4),
        (4, 3),
    ]
    assert all(p.value.dtype == np.float32 for p in model.parameters())
    assert isinstance(loss, SoftmaxCrossEntropy)


def test_init_output_activation_and_loss_reach_the_network():
    config = TrainConfig(
        hidden_layer_sizes=(300,),
        activation="tanh",
        init="he",
        output_activation="sigmoid",
        loss="mse",
    )
    model, loss, _ = build(config, 200, 2, np.random.default_rng(0))
    assert isinstance(loss, MeanSquaredError)
    assert isinstance(model.layers[-1], Sigmoid)
    # He: normal with std sqrt(2 / n_in); Glorot (the tanh default) would be uniform.
    assert model.layers[0].weight.value.std() == pytest.approx(np.sqrt(2 / 200), rel=0.03)


def test_the_same_rng_builds_the_same_model_and_another_one_a_different():
    config = TrainConfig(hidden_layer_sizes=(4,))
    first, _, _ = build(config, 3, 2, np.random.default_rng(5))
    again, _, _ = build(config, 3, 2, np.random.default_rng(5))
    other, _, _ = build(config, 3, 2, np.random.default_rng(6))
    np.testing.assert_array_equal(first.state_dict()["0.weight"], again.state_dict()["0.weight"])
    assert not np.array_equal(first.state_dict()["0.weight"], other.state_dict()["0.weight"])


def test_to_dict_and_from_dict_round_trip():
    config = TrainConfig(hidden_layer_sizes=(7, 3), betas=(0.8, 0.9), lr_schedule="cosine")
    data = config.to_dict()
    assert data["hidden_layer_sizes"] == [7, 3] and data["betas"] == [0.8, 0.9]
    assert TrainConfig.from_dict(data) == config
    assert config.replace(lr=0.5).lr == 0.5 and config.lr == 0.2


def test_the_edges_of_each_allowed_range_are_accepted():
    """The refusals (tests/cli/test_validation.py) stop exactly at the documented limits."""
    config = TrainConfig(
        hidden_layer_sizes=[1, np.int64(2)],
        lr=1e-12,
        l2=0.0,
        dropout=0.0,
        momentum=0.0,
        betas=[0.0, 0.0],
        epochs=np.int64(1),
        batch_size=1,
        early_stopping_patience=1,
        lr_schedule="plateau",
        lr_patience=1,
    )
    assert config.hidden_layer_sizes == (1, 2) and config.betas == (0.0, 0.0)
    assert type(config.epochs) is int and config.epochs == 1 and config.batch_size == 1
    assert TrainConfig(epochs=3.0).epochs == 3 and type(TrainConfig(epochs=3.0).epochs) is int
    assert TrainConfig(lr=np.float32(0.5)).lr == 0.5
    assert TrainConfig(hidden_layer_sizes=()).hidden_layer_sizes == ()


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"lr": 0.0}, "learning rate lr must be a number in \\(0, inf\\)"),
        ({"dropout": -0.1}, "dropout must be a number in \\[0, 1\\)"),
        ({"l2": float("inf")}, "l2"),
        ({"epochs": True}, "epochs must be an integer >= 1"),
        ({"batch_size": 0.5}, "batch_size must be an integer >= 1"),
        ({"early_stopping_patience": 0}, "early_stopping_patience must be an integer >= 1"),
        ({"hidden_layer_sizes": "48"}, "hidden_layer_sizes must be a list"),
        ({"betas": (0.9,)}, "betas must be two numbers"),
        ({"nesterov": 1}, "nesterov must be true or false"),
        ({"activation": 3}, "unknown activation 3"),
        ({"output_activation": "soft"}, "unknown output_activation"),
        ({"augment_shift": -1}, "augment"),
    ],
)
def test_each_refusal_names_the_setting_and_its_range(settings, named):
    from glassnet.errors import ConfigError

    with pytest.raises(ConfigError, match=named):
        TrainConfig(**settings)


def noisy_data():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((80, 6))
    y = np.where(rng.random(80) < 0.3, 1 - (x[:, 0] > 0), x[:, 0] > 0).astype(int)
    return (x[:40], y[:40]), (x[40:], y[40:])


def test_early_stopping_patience_stops_and_records_the_restored_epoch():
    from glassnet.training.config import fit_from_config

    train_data, valid = noisy_data()
    config = TrainConfig(hidden_layer_sizes=(64,), activation="tanh", lr=0.3, epochs=400)
    stopped = config.replace(early_stopping_patience=4)
    model, history = fit_from_config(
        stopped, train_data, valid, n_outputs=2, rng=np.random.default_rng(0)
    )
    best = int(np.argmin(history.validation_loss))
    assert history.best_epoch == best and len(history.train_loss) == best + 5
    assert SoftmaxCrossEntropy().forward(model.forward(valid[0]), valid[1]) == pytest.approx(
        history.validation_loss[best], rel=1e-12
    )
    _, full = fit_from_config(config, train_data, valid, n_outputs=2, rng=np.random.default_rng(0))
    assert full.best_epoch is None and len(full.train_loss) == 400


def test_early_stopping_without_validation_data_is_refused():
    from glassnet.errors import ConfigError
    from glassnet.training.config import fit_from_config

    train_data, _ = noisy_data()
    config = TrainConfig(hidden_layer_sizes=(4,), epochs=3, early_stopping_patience=2)
    with pytest.raises(
        ConfigError,
        match="^early stopping needs validation data; set epochs instead when refitting$",
    ):
        fit_from_config(config, train_data, None, n_outputs=2, rng=np.random.default_rng(0))


def test_plateau_without_validation_watches_the_training_loss():
    from glassnet.training.config import fit_from_config

    train_data, _ = noisy_data()
    # Refits on train+validation have no validation data: the plateau must not demand it.
    config = TrainConfig(
        hidden_layer_sizes=(8,), lr=50.0, momentum=0.0, epochs=12, lr_schedule="plateau"
    )
    config = config.replace(lr_patience=1, lr_decay=0.5)
    model, history = fit_from_config(
        config, train_data, None, n_outputs=2, rng=np.random.default_rng(0)
    )
    assert len(history.train_loss) == 12 and history.validation_loss == []


def test_float32_and_regression_data_are_converted_for_the_model():
    from glassnet.training.config import fit_from_config

    (x, y), (xv, yv) = noisy_data()
    config = TrainConfig(hidden_layer_sizes=(4,), epochs=2, loss="mse", dtype="float32")
    targets = np.stack([y, 1 - y], axis=1).astype(int)  # integer targets for a regression
    model, history = fit_from_config(
        config,
        (x.astype(int), targets),
        (xv, np.stack([yv, 1 - yv], axis=1)),
        n_outputs=2,
        rng=np.random.default_rng(0),
    )
    assert all(p.value.dtype == np.float32 for p in model.parameters())
    assert np.isfinite(history.validation_loss).all() and len(history.validation_loss) == 2


def test_blas_threads_one_thread_for_small_products_only():
    from glassnet.training.config import SMALL_PRODUCT, blas_threads

    small, _, _ = build(TrainConfig(hidden_layer_sizes=(48, 32)), 64, 10, np.random.default_rng(0))
    assert blas_threads(small, 721) == 1  # the seed experiment's 721 x 64 @ 64 x 48
    big, _, _ = build(TrainConfig(hidden_layer_sizes=(256,)), 784, 10, np.random.default_rng(0))
    # MNIST's 784 x 256 layer: 19 rows make 3.8e6 multiply-adds, 20 make 4.01e6.
    assert SMALL_PRODUCT // (784 * 256) == 19
    assert blas_threads(big, 19) == 1 and blas_threads(big, 20) is None
    assert blas_threads(big, 128) is None


def test_the_defaults_are_the_seed_experiments_recipe():
    """DESIGN.md's seed experiment: 64 -> 48 -> 32 -> 10 sigmoid layers, full-batch classical
    momentum 0.9 at rate 0.2 for 1000 epochs, float64, no L2 unless swept."""
    config = TrainConfig()
    assert config.hidden_layer_sizes == (48, 32) and config.activation == "sigmoid"
    assert (config.optimizer, config.lr, config.momentum, config.nesterov) == (
        "sgd",
        0.2,
        0.9,
        False,
    )
    assert (config.epochs, config.batch_size, config.l2, config.dtype) == (
        1000,
        None,
        0.0,
        "float64",
    )
    assert (config.loss, config.dropout, config.init) == ("cross_entropy", 0.0, None)
    assert config.output_activation == "identity" and config.betas == (0.9, 0.999)
    # Schedules and extras are off by default; their own defaults are the documented ones.
    assert (config.lr_schedule, config.early_stopping_patience) == ("constant", None)
    assert (config.lr_step, config.lr_decay, config.lr_patience, config.lr_min) == (
        100,
        0.1,
        10,
        0.0,
    )
    assert (config.augment_shift, config.augment_degrees, config.augments) == (0, 0.0, False)
    assert TrainConfig(augment_degrees=5.0).augments and TrainConfig(augment_shift=1).augments


def test_unknown_settings_are_refused_with_the_known_ones():
    from glassnet.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^unknown training setting\(s\) \['width'\]; known: \["):
        TrainConfig.from_dict({"width": 3, "lr": 0.1})


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        (
            {"loss": "hinge"},
            r"^unknown loss 'hinge'; choose one of "
            r"\['binary_cross_entropy', 'cross_entropy', 'mse', 'poisson'\]$",
        ),
        (
            {"dtype": "float16"},
            r"^unknown dtype 'float16'; choose one of \['float32', 'float64'\]$",
        ),
        ({"init": "zeros"}, r"^unknown init 'zeros'; choose one of \['glorot', 'he', 'sklearn'\]$"),
        ({"optimizer": "lbfgs"}, r"^unknown optimizer 'lbfgs'; choose one of \['adam', 'sgd'\]$"),
        (
            {"lr_schedule": "exp"},
            r"^unknown lr_schedule 'exp'; choose one of "
            r"\['constant', 'cosine', 'plateau', 'step'\]$",
        ),
        ({"momentum": 1.0}, r"^momentum must be a number in \[0, 1\), got 1\.0$"),
        ({"l2": -1}, r"^l2 must be a number in \[0, inf\), got -1$"),
        ({"betas": (0.9, 1.0)}, r"^Adam beta must be a number in \[0, 1\), got 1\.0$"),
        ({"betas": "ab"}, r"^betas must be two numbers in \[0, 1\), got 'ab'$"),
        ({"epochs": 0}, r"^epochs must be an integer >= 1, got 0$"),
        ({"hidden_layer_sizes": [4, 0]}, r"^hidden layer size must be an integer >= 1, got 0$"),
        (
            {"nesterov": True, "momentum": 0.0},
            r"^nesterov needs momentum > 0; set momentum or nesterov = false$",
        ),
    ],
)
def test_refusals_say_exactly_what_is_allowed(settings, words):
    from glassnet.errors import ConfigError

    with pytest.raises(ConfigError, match=words):
        TrainConfig(**settings)


def test_batch_size_reaches_the_training_loop():
    from glassnet.training.config import fit_from_config

    train_data, _ = noisy_data()
    config = TrainConfig(hidden_layer_sizes=(4,), epochs=2, lr=0.1)
    weights = [
        fit_from_config(
            config.replace(batch_size=size),
            train_data,
            None,
            n_outputs=2,
            rng=np.random.default_rng(0),
        )[0].state_dict()["0.weight"]
        for size in (None, 40, 8)
    ]
    np.testing.assert_array_equal(weights[0], weights[1])  # a batch of all 40 is full batch
    assert not np.allclose(weights[0], weights[2])


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (lambda x, y: ((x[:, 0], y), None), "^training X must be 2-D"),
        (lambda x, y: ((x, y[:-1]), None), "^training y has 39 values"),
        (lambda x, y: ((x, np.zeros(40, dtype=int)), None), "^training y has only one class"),
        (lambda x, y: ((x, y), (x[:, :3], y)), "^validation X has 3 features but the model"),
        (lambda x, y: ((x, y), (x[:, 0], y)), "^validation X must be 2-D"),
        (lambda x, y: ((x, y), (np.full_like(x, np.nan), y)), "^validation X contains 240 NaN"),
        (lambda x, y: ((x, y), (x, y[:-1])), "^validation y has 39 values"),
    ],
)
def test_fit_from_config_names_the_data_it_refuses(data, words):
    from glassnet.errors import DataError
    from glassnet.training.config import fit_from_config

    (x, y), _ = noisy_data()
    train_data, validation = data(x, y)
    config = TrainConfig(hidden_layer_sizes=(4,), epochs=1)
    with pytest.raises(DataError, match=words):
        fit_from_config(config, train_data, validation, n_outputs=2, rng=np.random.default_rng(0))


def test_blas_threads_at_the_threshold_and_for_a_model_without_weights():
    from glassnet.nn.layers import Sequential
    from glassnet.training.config import SMALL_PRODUCT, blas_threads

    model, _, _ = build(TrainConfig(hidden_layer_sizes=()), 1000, 1000, np.random.default_rng(0))
    assert SMALL_PRODUCT == 4 * 1000 * 1000
    assert blas_threads(model, 3) == 1 and blas_threads(model, 4) is None
    assert blas_threads(Sequential(), 10) == 1
    assert blas_threads(Sequential(), 10**7) == 1  # no matrix product at all, however many rows


def test_label_smoothing_reaches_the_loss_and_needs_cross_entropy():
    from glassnet.errors import ConfigError

    _, loss, _ = build(TrainConfig(label_smoothing=0.1), 4, 3, np.random.default_rng(0))
    assert isinstance(loss, SoftmaxCrossEntropy) and loss.label_smoothing == 0.1
    _, plain, _ = build(TrainConfig(), 4, 3, np.random.default_rng(0))
    assert plain.label_smoothing == 0.0
    with pytest.raises(
        ConfigError, match=r"^label_smoothing needs loss = 'cross_entropy'; set it to 0$"
    ):
        TrainConfig(loss="mse", label_smoothing=0.1)
    with pytest.raises(ConfigError, match=r"label_smoothing must be a number in \[0, 1\)"):
        TrainConfig(label_smoothing=1.0)


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"input_shape": 5}, r"^input_shape must be \[channels, height, width\], got 5$"),
        (
            {"input_shape": "1x8x8"},
            r"^input_shape must be \[channels, height, width\], got '1x8x8'$",
        ),
        ({"input_shape": [1, 0, 8]}, r"^input_shape size must be an integer >= 1, got 0$"),
        ({"augment_degrees": 200.0}, r"^augment_degrees must be in \[0, 180\], got 200.0$"),
        ({"augment_shift": "two"}, r"^bad schedule or augmentation setting: "),
    ],
)
def test_image_settings_are_refused_when_the_config_is_read(settings, words):
    """A preset's bad image settings fail as it is read, not inside a sweep's worker."""
    from glassnet.errors import ConfigError

    with pytest.raises(ConfigError, match=words):
        TrainConfig(**settings)


def test_an_input_shape_without_layers_is_accepted_for_a_dense_network():
    config = TrainConfig(input_shape=[1, 4, 4], hidden_layer_sizes=(3,))
    assert config.input_shape == (1, 4, 4)
    model, _, _ = build(config, 16, 2, np.random.default_rng(0))
    assert model.forward(np.zeros((2, 16))).shape == (2, 2)


def test_only_early_stopping_and_the_plateau_schedule_watch_validation():
    assert not TrainConfig().watches_validation
    for schedule in ("constant", "step", "cosine"):
        assert not TrainConfig(lr_schedule=schedule).watches_validation
    assert TrainConfig(lr_schedule="plateau").watches_validation
    assert TrainConfig(early_stopping_patience=1).watches_validation
    assert TrainConfig(early_stopping_patience=1, lr_schedule="plateau").watches_validation


def test_validation_is_prepared_as_the_training_data_are():
    from glassnet.errors import DataError
    from glassnet.training.config import prepare_validation

    x = np.asfortranarray(np.arange(12, dtype=np.int64).reshape(4, 3))
    y = np.array([0, 1, 0, 1])
    prepared_x, prepared_y = prepare_validation(TrainConfig(dtype="float32"), (x, y))
    assert prepared_x.dtype == np.float32 and prepared_x.flags.c_contiguous
    np.testing.assert_array_equal(prepared_x, x)
    assert prepared_y is y  # class labels are left to the loss's own checks
    _, regression_y = prepare_validation(TrainConfig(loss="mse", dtype="float32"), (x, y))
    assert regression_y.dtype == np.float32
    with pytest.raises(DataError, match="validation y"):
        prepare_validation(TrainConfig(), (x, y[:3]))
    with pytest.raises(DataError, match="validation X"):
        prepare_validation(TrainConfig(), (np.full((2, 3), np.nan), y[:2]))


def test_a_shaped_network_has_the_config_shape_and_the_fixed_streams_weights():
    from glassnet.training.config import shaped_network

    config = TrainConfig(hidden_layer_sizes=(3,))
    network = shaped_network(config, 4, 2)
    drawn = build(config, 4, 2, np.random.default_rng(0))[0]
    assert [type(layer) for layer in network.layers] == [type(layer) for layer in drawn.layers]
    for key, value in drawn.state_dict().items():
        np.testing.assert_array_equal(network.state_dict()[key], value)
    assert np.any(network.state_dict()["0.weight"] != 0)


def test_validation_is_scored_as_fit_scores_it():
    from glassnet.errors import DataError
    from glassnet.training.config import make_loss, scored_validation, shaped_network

    config = TrainConfig(hidden_layer_sizes=(3,), dtype="float32")
    network, loss = shaped_network(config, 2, 3), make_loss(config)
    x = np.ones((4, 2))
    scored_x, scored_y = scored_validation(config, network, loss, (x, np.array([0.0, 1, 2, 1])))
    assert scored_x.dtype == np.float32 and scored_y.dtype.kind == "i"  # indices, as fit has
    with pytest.raises(DataError, match="^validation y holds class indices outside 0..2"):
        scored_validation(config, network, loss, (x, np.array([0, 1, 3, 1])))
    with pytest.raises(DataError, match="^validation X"):
        scored_validation(config, network, loss, (np.ones((4, 5)), np.array([0, 1, 2, 1])))
