"""Networks described as data: layer tables become a Sequential, sizes inferred, mistakes named."""

import numpy as np
import pytest

from glassnet import ConfigError
from glassnet.experiments import presets
from glassnet.nn.registry import from_config
from glassnet.training.architecture import build_network
from glassnet.training.config import TrainConfig, build, fit_from_config

LAYERS = [
    {"type": "conv2d", "channels": 4, "kernel_size": 3, "padding": 1},
    {"type": "batchnorm"},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 2},
    {"type": "conv2d", "channels": 6, "kernel_size": 2, "stride": 2},
    {"type": "flatten"},
    {"type": "linear", "units": 7},
    {"type": "tanh"},
    {"type": "dropout", "p": 0.1},
]


def test_layers_build_with_sizes_read_off_the_previous_layer(rng):
    net = build_network(LAYERS, 64, 3, rng=rng)
    names = [layer.config()["type"] for layer in net.layers]
    assert names[:3] == ["Reshape", "Conv2D", "BatchNorm"] and names[-1] == "Linear"
    conv = net.layers[5]
    assert (conv.in_channels, conv.out_channels, conv.stride) == (4, 6, 2)
    assert net.layers[7].in_features == 6 * 2 * 2  # 8 -> pool 4 -> stride-2 conv 2
    assert net.forward(rng.standard_normal((5, 64))).shape == (5, 3)
    assert from_config(net.config()).config() == net.config()


def test_dense_layers_need_no_image_shape(rng):
    net = build_network([{"type": "linear", "units": 5}, {"type": "relu"}], 7, 2, rng=rng)
    assert net.in_features == 7 and net.output_shape((7,)) == (2,)


def test_input_shape_must_hold_the_features(rng):
    with pytest.raises(ConfigError, match="not a square image"):
        build_network(LAYERS, 60, 3, rng=rng)
    with pytest.raises(ConfigError, match="holds 48 values"):
        build_network(LAYERS, 64, 3, input_shape=(3, 4, 4), rng=rng)
    net = build_network(LAYERS, 48, 3, input_shape=(3, 4, 4), rng=rng)
    assert net.layers[1].in_channels == 3


@pytest.mark.parametrize(
    "layers, words",
    [
        ([{"type": "conv3d"}], "needs a type"),
        ([{"type": "conv2d", "channels": 4, "kernal_size": 3}], "unknown setting"),
        ([{"type": "conv2d"}], "needs channels"),
        ([{"type": "linear", "units": 0}], "needs units"),
        ([], "non-empty list"),
        ("conv2d", "non-empty list"),
        ([{"type": "conv2d", "channels": 2}, {"type": "linear", "units": 3}], "add a flatten"),
        ([{"type": "conv2d", "channels": 2, "kernel_size": 9}], "does not fit"),
    ],
)
def test_bad_layer_lists_are_config_errors_naming_the_layer(layers, words):
    with pytest.raises(ConfigError, match=words):
        TrainConfig(layers=layers, input_shape=(1, 8, 8))


def test_train_config_with_layers_round_trips_and_trains(rng):
    config = TrainConfig(
        layers=LAYERS, input_shape=[1, 8, 8], optimizer="adam", lr=0.01, epochs=2, batch_size=16
    )
    again = TrainConfig.from_dict(config.to_dict())
    assert again == config and again.to_dict()["input_shape"] == [1, 8, 8]
    x = rng.standard_normal((40, 64))
    y = np.arange(40) % 3
    start = build(config, 64, 3, np.random.default_rng(7))[0].layers[1].weight.value
    model, history = fit_from_config(
        config, (x, y), (x, y), n_outputs=3, rng=np.random.default_rng(7)
    )
    # The convolution learned (the gradients themselves are released when training ends).
    assert len(history.train_loss) == 2
    assert not np.allclose(model.layers[1].weight.value, start)
    assert len(build(config, 64, 3, rng)[0].parameters()) == len(model.parameters())


def test_the_cnn_preset_describes_a_cnn():
    preset = presets.load("cnn")
    assert preset.split == "seed" and preset.refit == "train+valid"
    net = build(preset.train, 64, 10, np.random.default_rng(0))[0]
    assert any(layer.config()["type"] == "Conv2D" for layer in net.layers)
    assert net.output_shape((64,)) == (10,)


def test_build_gives_a_layer_list_its_input_shape_dtype_and_output_activation(rng):
    """A two-channel 4x4 input (not the square one-channel image assumed without
    input_shape), float32 weights and a sigmoid after the output layer, as configured."""
    config = TrainConfig(
        layers=[{"type": "conv2d", "channels": 3, "padding": 1}, {"type": "flatten"}],
        input_shape=(2, 4, 4),
        output_activation="sigmoid",
        loss="binary_cross_entropy",
        dtype="float32",
    )
    model, _, optimizer = build(config, 32, 2, rng)
    assert model.layers[0].shape == (2, 4, 4) and model.layers[1].weight.value.shape[1] == 2
    assert type(model.layers[-1]).__name__ == "Sigmoid"
    assert all(p.value.dtype == np.float32 for p in model.parameters())
    output = model.forward(rng.standard_normal((5, 32)).astype(np.float32))
    assert output.dtype == np.float32 and np.all((output > 0) & (output < 1))
    assert optimizer.params[0] is model.parameters()[0]
