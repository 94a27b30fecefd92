"""ONNX export of every layer glassnet has, run in onnxruntime on the digits and compared
with glassnet's own predictions; the registry, the errors, and the file never half written."""

import sys

import numpy as np
import onnx
import pytest
from onnx_check import assert_matches_glassnet, run_onnx

from glassnet.data import Scaler, load_digits
from glassnet.errors import ExportError
from glassnet.export import onnx as export_onnx
from glassnet.export.verify import save_checked
from glassnet.models.model import Model
from glassnet.nn.layers import Dropout, Layer, LeakyReLU, Linear, Sequential, activation

# The operators the issue allows; an export that needs another one is a change to review.
STANDARD_OPS = {"Gemm", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Softmax", "ArgMax", "Gather"}
STANDARD_OPS |= {"Sub", "Div", "Sum", "Identity"}


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return data.x[:400], data.y[:400]


def network(rng, hidden_activation, dtype, *, out=10, slope=None):
    """64 -> 24 -> 16 -> out with ``hidden_activation`` and dropout, random Glorot weights."""
    layers = []
    for n_in, n_out in ((64, 24), (24, 16)):
        layers.append(Linear(n_in, n_out, rng=rng, dtype=dtype))
        layers.append(LeakyReLU(slope) if slope is not None else activation(hidden_activation))
        layers.append(Dropout(0.3, rng=rng))
    layers.append(Linear(16, out, rng=rng, dtype=dtype))
    # Biases start at zero; random ones make the test see a bias that is dropped or misplaced.
    for layer in layers:
        if isinstance(layer, Linear):
            layer.bias.value[...] = rng.normal(0, 0.5, layer.bias.value.shape)
    return Sequential(*layers)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "leaky_relu", "identity"])
def test_every_activation_matches_glassnet_in_onnxruntime(tmp_path, digits, rng, hidden, dtype):
    x, _ = digits
    scaler = Scaler.fit("standard", x)
    model = Model([network(rng, hidden, dtype)], classes=np.arange(10), scaler=scaler)
    path = model.to_onnx(tmp_path / "model.onnx")
    assert_matches_glassnet(model, path, x)
    proto = onnx.load(str(path))
    assert {node.op_type for node in proto.graph.node} <= STANDARD_OPS
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", export_onnx.OPSET)]


def test_a_leaky_relu_slope_and_a_sigmoid_before_softmax_are_kept(tmp_path, digits, rng):
    x, _ = digits
    net = network(rng, "relu", np.float64, slope=0.3)
    net.layers.append(activation("sigmoid"))  # the seed preset's output quirk
    model = Model([net], classes=np.arange(10))
    path = model.to_onnx(tmp_path / "model.onnx")
    assert_matches_glassnet(model, path, x)
    # Without the sigmoid the probabilities would be far apart: the test can see it missing.
    plain = Model([Sequential(*net.layers[:-1])], classes=np.arange(10))
    assert np.max(np.abs(run_onnx(path, x)["probabilities"] - plain.predict_proba(x))) > 0.01


@pytest.mark.parametrize(
    "classes",
    [
        np.array([3, 7, 11, 20, 21, 22, 40, 41, 42, 99]),
        np.array(["café", "naïve", *"cdefghij"]),
        np.linspace(0.5, 5.0, 10),
        None,
    ],
    ids=["ints", "strings", "floats", "none"],
)
def test_labels_are_the_models_class_values(tmp_path, digits, rng, classes):
    x, _ = digits
    model = Model([network(rng, "relu", np.float32)], classes=classes)
    path = model.to_onnx(tmp_path / "model.onnx")
    assert_matches_glassnet(model, path, x)
    labels = run_onnx(path, x)["label"]
    expected = classes if classes is not None else np.arange(10)
    assert set(labels.tolist()) <= set(expected.tolist())


def test_an_ensemble_exports_the_mean_of_its_members(tmp_path, digits, rng):
    x, _ = digits
    members = [network(rng, "relu", np.float32) for _ in range(3)]
    model = Model(members, classes=np.arange(10), scaler=Scaler.fit("global", x))
    path = model.to_onnx(tmp_path / "model.onnx")
    assert_matches_glassnet(model, path, x)
    # The first member alone differs: the graph really holds all three.
    alone = Model(members[:1], classes=np.arange(10), scaler=model.scaler)
    assert np.max(np.abs(run_onnx(path, x)["probabilities"] - alone.predict_proba(x))) > 0.01


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_a_regression_model_exports_its_values(tmp_path, digits, rng, n_outputs):
    x, _ = digits
    members = [network(rng, "tanh", np.float64, out=n_outputs) for _ in range(2)]
    model = Model(members, task="regression", scaler=Scaler.fit("minmax", x))
    path = model.to_onnx(tmp_path / "model.onnx")
    assert_matches_glassnet(model, path, x)
    values = run_onnx(path, x)["values"]
    assert values.shape == (len(x), n_outputs)
    np.testing.assert_allclose(values.reshape(model.predict(x).shape), model.predict(x))


class Doubler(Layer):
    """A layer no exporter knows about."""

    def forward(self, x):
        return 2.0 * x


def test_a_layer_without_a_mapping_is_named_and_nothing_is_written(tmp_path, rng):
    net = network(rng, "relu", np.float64)
    net.layers.insert(2, Doubler())
    model = Model([network(rng, "relu", np.float64), net], classes=np.arange(10))
    old = tmp_path / "old.onnx"
    old.write_bytes(b"the previous export")
    for path in (tmp_path / "new.onnx", old):
        with pytest.raises(ExportError, match=r"layer 2 of network 1 is a Doubler, which has no"):
            model.to_onnx(path)
    assert not (tmp_path / "new.onnx").exists()
    assert old.read_bytes() == b"the previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.onnx"]  # no temporary left


def test_a_new_layer_type_slots_in_with_one_function(tmp_path, digits, rng, monkeypatch):
    x, _ = digits
    net = network(rng, "relu", np.float64)
    net.layers.insert(2, Doubler())
    model = Model([net], classes=np.arange(10))

    def doubler(layer, graph, x_name):
        return graph.node("Mul", [x_name, graph.constant(2.0, "two")], "doubled")

    monkeypatch.setitem(export_onnx.LAYERS, "Doubler", doubler)
    assert_matches_glassnet(model, model.to_onnx(tmp_path / "model.onnx"), x)


def test_without_the_onnx_package_the_error_says_how_to_install_it(tmp_path, rng, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` raise ImportError
    model = Model([network(rng, "relu", np.float64)], classes=np.arange(10))
    with pytest.raises(ExportError, match=r"pip install 'glassnet\[onnx\]'"):
        model.to_onnx(tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_the_file_is_checked_and_readable_by_older_runtimes(tmp_path, rng):
    model = Model([network(rng, "sigmoid", np.float32)], classes=np.arange(10))
    proto = onnx.load(str(model.to_onnx(tmp_path / "model.onnx")))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.ir_version == export_onnx.IR_VERSION == 8
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["label", "probabilities"]


def test_a_float64_model_exported_as_float32_still_matches(tmp_path, digits, rng):
    x, _ = digits
    model = Model([network(rng, "tanh", np.float64)], classes=np.arange(10))
    model.scaler = Scaler.fit("standard", x)
    path = model.to_onnx(tmp_path / "model.onnx", dtype="float32")
    outputs = run_onnx(path, x)
    assert outputs["probabilities"].dtype == np.float32
    assert_matches_glassnet(model, path, x)
    with pytest.raises(ExportError, match="float32 or float64"):
        model.to_onnx(tmp_path / "other.onnx", dtype="float16")


class MedianImputer:
    """A stand-in for a tabular preprocessing step: NaN -> the column's median."""

    def __init__(self, x):
        self.statistics = np.median(x, axis=0)


def imputer(step, graph, x_name):
    """The ai.onnx.ml Imputer, as a tabular preprocessing step would emit it."""
    values = [float(v) for v in step.statistics]
    return graph.node(
        "Imputer",
        [x_name],
        "imputed",
        domain="ai.onnx.ml",
        imputed_value_floats=values,
        replaced_value_float=float("nan"),
    )


def test_a_preprocessing_step_with_an_ai_onnx_ml_operator_slots_in(
    tmp_path, digits, rng, monkeypatch
):
    x, _ = digits
    model = Model([network(rng, "relu", np.float32)], classes=np.arange(10))
    model.scaler = Scaler.fit("standard", x)
    step = MedianImputer(x)
    monkeypatch.setitem(export_onnx.PREPROCESSING, "MedianImputer", imputer)
    monkeypatch.setattr(export_onnx, "preprocessing_steps", lambda m: [step, m.scaler])
    path = model.to_onnx(tmp_path / "model.onnx")
    proto = onnx.load(str(path))
    assert ("ai.onnx.ml", export_onnx.ML_OPSET) in [
        (o.domain, o.version) for o in proto.opset_import
    ]
    holes = x.copy()
    holes[rng.random(x.shape) < 0.1] = np.nan
    filled = np.where(np.isnan(holes), step.statistics, holes)  # the imputation, in NumPy
    outputs = run_onnx(path, holes)
    assert np.max(np.abs(outputs["probabilities"] - model.predict_proba(filled))) <= 1e-5
    assert outputs["label"].tolist() == model.predict(filled).tolist()


def test_the_scikit_learn_estimators_export_through_to_model(tmp_path, digits):
    from glassnet.sklearn import MLPClassifier, MLPRegressor

    x, y = digits
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    classifier = MLPClassifier((16,), solver="lbfgs", max_iter=50, random_state=0)
    classifier.fit(x, names[y])
    model = classifier.to_model()
    assert_matches_glassnet(model, model.to_onnx(tmp_path / "classifier.onnx"), x)
    assert (
        run_onnx(tmp_path / "classifier.onnx", x)["label"].tolist()
        == classifier.predict(x).tolist()
    )
    regressor = MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=50, random_state=0)
    regressor.fit(x, y.astype(float))
    model = regressor.to_model()
    values = run_onnx(model.to_onnx(tmp_path / "regressor.onnx"), x)["values"]
    np.testing.assert_allclose(values[:, 0], regressor.predict(x), rtol=1e-6, atol=1e-6)


class TinyConv(Layer):
    """A stand-in for a convolution block on 8x8 one-channel images given as flat rows:
    3x3 convolution (padding 1) + ReLU + 2x2 max pooling, flattened; loops as the oracle."""

    in_features = 64

    def __init__(self, rng, channels=4):
        self.weight = rng.normal(0, 0.5, (channels, 1, 3, 3))
        self.bias = rng.normal(0, 0.1, channels)

    def forward(self, x):
        images = np.pad(x.reshape(-1, 8, 8), ((0, 0), (1, 1), (1, 1)))
        out = np.zeros((len(x), len(self.bias), 8, 8))
        for c in range(len(self.bias)):
            for di in range(3):
                for dj in range(3):
                    out[:, c] += self.weight[c, 0, di, dj] * images[:, di : di + 8, dj : dj + 8]
            out[:, c] += self.bias[c]
        out = np.maximum(out, 0.0)
        pooled = out.reshape(len(x), len(self.bias), 4, 2, 4, 2).max(axis=(3, 5))
        return pooled.reshape(len(x), -1).astype(x.dtype)

    def output_features(self, in_features):
        return len(self.bias) * 16


def tiny_conv(layer, graph, x):
    """The CNN operators the issue names, each one node."""
    shape = graph.constant([-1, 1, 8, 8], "image_shape", dtype=np.int64)
    images = graph.node("Reshape", [x, shape], "images")
    weight, bias = graph.constant(layer.weight, "weight"), graph.constant(layer.bias, "bias")
    conv = graph.node("Conv", [images, weight, bias], "conv", kernel_shape=[3, 3], pads=[1] * 4)
    pooled = graph.node(
        "MaxPool", [graph.node("Relu", [conv])], kernel_shape=[2, 2], strides=[2, 2]
    )
    return graph.node("Flatten", [pooled], axis=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_convolution_layer_slots_in_with_one_function(tmp_path, digits, rng, monkeypatch, dtype):
    x, _ = digits
    conv = TinyConv(rng)
    net = Sequential(conv, Linear(conv.output_features(64), 10, rng=rng, dtype=dtype))
    model = Model([net], classes=np.arange(10), scaler=Scaler.fit("global", x))
    monkeypatch.setitem(export_onnx.LAYERS, "TinyConv", tiny_conv)
    # onnxruntime's CPU Conv has no float64 kernel: a float64 CNN runs as a float32 graph.
    path = model.to_onnx(tmp_path / "model.onnx", dtype="float32")
    assert_matches_glassnet(model, path, x)
    if dtype == np.float64:
        with pytest.raises(ExportError, match=r"uses Conv, which onnxruntime runs in float32"):
            model.to_onnx(tmp_path / "float64.onnx")
        with pytest.raises(ExportError, match="onnxruntime cannot run .*dtype float32"):
            save_checked(model, tmp_path / "float64.onnx", x, dtype="float64")
        assert not (tmp_path / "float64.onnx").exists()
