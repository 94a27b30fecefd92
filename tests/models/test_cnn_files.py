"""Model files hold convolutional and batch-norm layers (running statistics too), no pickle,
with the same refusal of tampered files."""

import io
import json
import zipfile

import numpy as np
import pytest

from glassnet import Model, ModelFileError
from glassnet.models import checkpoint
from glassnet.training.architecture import build_network

LAYERS = [
    {"type": "conv2d", "channels": 3, "kernel_size": 3, "padding": 1},
    {"type": "batchnorm"},
    {"type": "relu"},
    {"type": "avgpool2d", "kernel_size": 2},
    {"type": "flatten"},
    {"type": "linear", "units": 5},
    {"type": "batchnorm"},
]


def saved_cnn(tmp_path, dtype=np.float32):
    rng = np.random.default_rng(0)
    net = build_network(LAYERS, 16, 3, rng=rng, dtype=dtype)
    net.forward(rng.standard_normal((8, 16)).astype(dtype))  # moves the running statistics
    model = Model([net.eval()], classes=np.array([3, 5, 7]))
    return model, checkpoint.save(model, tmp_path / "cnn.npz")


def test_a_cnn_loads_back_to_the_same_predictions(tmp_path):
    model, path = saved_cnn(tmp_path)
    loaded = checkpoint.load(path)
    assert loaded.network.config() == model.network.config()
    for key, value in model.network.state_dict().items():
        np.testing.assert_array_equal(loaded.network.state_dict()[key], value)
    assert np.any(loaded.network.layers[2].running_mean != 0)
    x = np.random.default_rng(1).standard_normal((4, 16))
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    assert loaded.n_features == 16 and loaded.dtype == np.float32


def rewrite(path, edit_header=None, arrays=None):
    with zipfile.ZipFile(path) as archive:
        contents = {info.filename: archive.read(info) for info in archive.infolist()}
    if edit_header is not None:
        header = json.loads(np.load(path)["__glassnet__"].tobytes())
        edit_header(header)
        raw = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        arrays = {**(arrays or {}), "__glassnet__": raw}
    for name, array in (arrays or {}).items():
        buffer = io.BytesIO()
        np.save(buffer, array)
        contents[f"{name}.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def conv(header):
    return header["networks"][0]["layers"][1]


TAMPERING = {
    "huge declared conv": (lambda h: conv(h).update(out_channels=10**6), None, "declared"),
    "conv channels that do not chain": (
        lambda h: h["networks"][0]["layers"][0].update(shape=[4, 2, 2]),
        None,
        "the model description is invalid",
    ),
    "negative running variance": (
        None,
        {"net0.2.running_var": -np.ones(3, dtype=np.float32)},
        "negative",
    ),
    "missing running mean": (
        lambda h: h["networks"][0]["layers"].insert(3, {"type": "BatchNorm", "num_features": 3}),
        None,
        "running_mean is missing|declared",
    ),
    "NaN running mean": (None, {"net0.2.running_mean": np.full(3, np.nan, np.float32)}, "NaN"),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampered_cnn_files_are_refused(case, tmp_path):
    edit, arrays, words = TAMPERING[case]
    _, path = saved_cnn(tmp_path)
    rewrite(path, edit, arrays)
    with pytest.raises(ModelFileError, match=words):
        checkpoint.load(path)


def refused_with(path, message):
    with pytest.raises(ModelFileError, match=f": {message}$"):
        checkpoint.load(path)


def test_a_conv_declared_with_another_kernel_is_refused_before_it_is_built(tmp_path):
    _, path = saved_cnn(tmp_path)
    rewrite(path, lambda h: conv(h).update(kernel_size=5))
    refused_with(
        path, r"layer 1 is declared \(3, 1, 5, 5\) but its weight is of shape \(3, 1, 3, 3\)"
    )


def test_a_conv_without_a_kernel_size_has_conv2ds_default_of_3(tmp_path):
    model, path = saved_cnn(tmp_path)
    rewrite(path, lambda h: conv(h).pop("kernel_size"))
    x = np.random.default_rng(1).standard_normal((4, 16))
    np.testing.assert_array_equal(checkpoint.load(path).predict_proba(x), model.predict_proba(x))


def test_a_batchnorm_declared_with_another_width_is_refused_before_it_is_built(tmp_path):
    _, path = saved_cnn(tmp_path)
    rewrite(path, lambda h: h["networks"][0]["layers"][2].update(num_features=4))
    refused_with(path, r"layer 2 is declared \(4,\) but its weight is of shape \(3,\)")


def test_a_zero_running_variance_loads(tmp_path):
    """A channel that was constant in training has variance 0: valid, unlike a negative one."""
    model, path = saved_cnn(tmp_path)
    zero = model.network.state_dict()["2.running_var"].copy()
    zero[0] = 0.0
    rewrite(path, None, {"net0.2.running_var": zero})
    np.testing.assert_array_equal(checkpoint.load(path).network.state_dict()["2.running_var"], zero)
