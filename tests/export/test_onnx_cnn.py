"""ONNX export of convolutional networks: Conv (stride, padding), MaxPool, AveragePool,
GlobalAveragePool, BatchNormalization (running statistics), Reshape and Flatten, run in
onnxruntime on digits and compared with glassnet's own predictions; and the cnn preset."""

import numpy as np
import onnx
import pytest
from onnx_check import assert_matches_glassnet, run_onnx

from glassnet.data import Scaler, load_digits, seed_split
from glassnet.errors import ExportError
from glassnet.experiments import presets
from glassnet.experiments.experiment import run_experiment
from glassnet.export.verify import save_checked
from glassnet.models import checkpoint
from glassnet.models.model import Model
from glassnet.nn.conv import Conv2D
from glassnet.nn.layers import Linear, ReLU, Sequential, Tanh
from glassnet.nn.normalization import BatchNorm
from glassnet.nn.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from glassnet.nn.shape import Flatten, Reshape


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return data.x[:300], data.y[:300]


def randomize(network, rng):
    """Random biases and batch-norm statistics: zeros and ones would hide a dropped or
    swapped constant (BatchNormalization takes scale, bias, mean, var in that order)."""
    for layer in network.layers:
        if isinstance(layer, (Conv2D, Linear)):
            layer.bias.value[...] = rng.normal(0, 0.3, layer.bias.value.shape)
        if isinstance(layer, BatchNorm):
            size = layer.num_features
            layer.weight.value[...] = rng.uniform(0.5, 1.5, size)
            layer.bias.value[...] = rng.normal(0, 0.3, size)
            layer.running_mean[...] = rng.normal(0, 0.5, size)
            layer.running_var[...] = rng.uniform(0.3, 2.0, size)
    return network


def conv(rng, n_in, n_out, k, *, stride=1, padding=0):
    return Conv2D(n_in, n_out, k, stride=stride, padding=padding, rng=rng, dtype=np.float32)


def cnns(rng):
    """Small CNNs on 8x8 digits covering each mapping; the shapes are worked out by hand."""
    f32 = {"rng": rng, "dtype": np.float32}
    return {
        # 8x8 -> conv 3 pad 1 -> 8x8 -> max 2 -> 4x4 -> conv 3 stride 2 pad 1 -> 2x2
        "conv-stride-pad-maxpool": Sequential(
            Reshape([1, 8, 8]),
            conv(rng, 1, 4, 3, padding=1),
            BatchNorm(4, dtype=np.float32),
            ReLU(),
            MaxPool2D(2),
            conv(rng, 4, 6, 3, stride=2, padding=1),
            ReLU(),
            Flatten(),
            Linear(6 * 2 * 2, 10, **f32),
        ),
        # 8x8 -> conv 2 stride 2 -> 4x4 -> avg 3 stride 1 -> 2x2 (odd window, overlapping)
        "avgpool-overlapping": Sequential(
            Reshape([1, 8, 8]),
            conv(rng, 1, 3, 2, stride=2),
            Tanh(),
            AvgPool2D(3, stride=1),
            Flatten(),
            Linear(3 * 2 * 2, 10, **f32),
        ),
        # 8x8 -> conv 5 pad 2 -> 8x8 -> max 3 (drops the last 2 rows) -> 2x2 -> global avg
        "maxpool-drops-edge-global-avg": Sequential(
            Reshape([1, 8, 8]),
            conv(rng, 1, 5, 5, padding=2),
            ReLU(),
            MaxPool2D(3),
            conv(rng, 5, 8, 1),
            GlobalAvgPool2D(),
            BatchNorm(8, dtype=np.float32),  # dense batch norm, on (n, 8)
            Linear(8, 10, **f32),
        ),
    }


@pytest.mark.parametrize(
    "name", ["conv-stride-pad-maxpool", "avgpool-overlapping", "maxpool-drops-edge-global-avg"]
)
def test_small_random_cnns_match_glassnet_in_onnxruntime(tmp_path, digits, rng, name):
    x, _ = digits
    network = randomize(cnns(rng)[name], rng)
    model = Model([network], classes=np.arange(10), scaler=Scaler.fit("global", x))
    path = model.to_onnx(tmp_path / "cnn.onnx")
    assert_matches_glassnet(model, path, x)
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert {"Reshape", "Conv"} <= ops
    # The batch norm is really there: with training-mode statistics glassnet would differ.
    if any(isinstance(layer, BatchNorm) for layer in network.layers):
        assert "BatchNormalization" in ops


def test_batch_norm_uses_the_running_statistics(tmp_path, digits, rng):
    x, _ = digits
    network = randomize(cnns(rng)["conv-stride-pad-maxpool"], rng)
    model = Model([network], classes=np.arange(10), scaler=Scaler.fit("global", x))
    path = model.to_onnx(tmp_path / "cnn.onnx")
    before = run_onnx(path, x)["probabilities"]
    network.layers[2].running_mean[...] += 1.0  # a change only inference mode can see
    assert np.max(np.abs(before - model.predict_proba(x))) > 1e-3
    assert_matches_glassnet(model, model.to_onnx(tmp_path / "changed.onnx"), x)


def test_a_float64_cnn_exports_as_float32_or_is_refused_clearly(tmp_path, digits, rng):
    x, _ = digits
    network = Sequential(
        Reshape([1, 8, 8]),
        Conv2D(1, 4, 3, padding=1, rng=rng),
        ReLU(),
        AvgPool2D(2),
        Flatten(),
        Linear(64, 10, rng=rng),
    )
    model = Model([randomize(network, rng)], classes=np.arange(10))
    model.scaler = Scaler.fit("global", x)
    # onnxruntime's CPU Conv has no float64 kernel: a float64 CNN runs as a float32 graph.
    assert_matches_glassnet(model, model.to_onnx(tmp_path / "model.onnx", dtype="float32"), x)
    with pytest.raises(ExportError, match=r"uses AveragePool, Conv, which onnxruntime runs"):
        model.to_onnx(tmp_path / "float64.onnx")
    with pytest.raises(ExportError, match="onnxruntime cannot run .*dtype float32"):
        save_checked(model, tmp_path / "float64.onnx", x, dtype="float64")
    assert not (tmp_path / "float64.onnx").exists()


def test_the_cnn_preset_model_matches_in_onnxruntime(tmp_path):
    """The preset's own layer list, scaling and dtype, trained 1 epoch, 2 members instead of
    8 (the architecture, not the accuracy, is what the export must get right)."""
    preset = presets.load("cnn")
    preset.train = preset.train.replace(epochs=1)
    preset.sweep = {name: values[:1] for name, values in preset.sweep.items()}
    preset.ensemble = 2
    model = run_experiment(preset, seed=0, n_jobs=1).model
    assert str(model.dtype) == "float32" and len(model.networks) == 2
    kinds = {type(layer).__name__ for layer in model.network.layers}
    assert {"Conv2D", "BatchNorm", "MaxPool2D", "Flatten", "Dropout"} <= kinds
    model = checkpoint.load(checkpoint.save(model, tmp_path / "model.npz"))
    path = model.to_onnx(tmp_path / "cnn.onnx")
    rows = seed_split(load_digits()).test.x
    assert_matches_glassnet(model, path, rows)
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert {"Conv", "BatchNormalization", "MaxPool", "Flatten", "Reshape"} <= ops
