"""For a convolutional network the run folder keeps its first layer's filters and feature maps
of one test image, and the report shows them."""

import numpy as np

from glassnet import Model, mlp
from glassnet.data import Scaler
from glassnet.data.datasets import Dataset
from glassnet.models.evaluation import evaluate_model
from glassnet.report import html, run_folder
from glassnet.training.architecture import build_network

LAYERS = [
    {"type": "conv2d", "channels": 3, "kernel_size": 3, "padding": 1},
    {"type": "batchnorm"},
    {"type": "relu"},
    {"type": "flatten"},
]


def cnn_model(rng):
    network = build_network(LAYERS, 16, 2, rng=rng).eval()
    scaler = Scaler.fit("global", rng.uniform(0, 4, (10, 16)))
    return Model([network], classes=np.array([0, 1]), scaler=scaler)


def test_pictures_are_the_filters_and_the_maps_after_the_activation(rng):
    model = cnn_model(rng)
    image = rng.uniform(0, 4, (1, 16))
    pictures = run_folder.first_conv_pictures(model, image)
    conv, norm = model.network.layers[1], model.network.layers[2]
    np.testing.assert_array_equal(pictures["conv_filters"], conv.weight.value)
    x = model.scaler.transform(image).reshape(1, 1, 4, 4)
    expected = np.maximum(norm.forward(conv.forward(x)), 0)[0]
    np.testing.assert_allclose(pictures["feature_maps"], expected)
    assert pictures["feature_maps"].shape == (3, 4, 4)
    dense = Model([mlp([16, 4, 2], rng=rng)], classes=np.array([0, 1]))
    assert run_folder.first_conv_pictures(dense, image) == {}


def test_the_report_shows_filters_and_feature_maps(tmp_path, rng):
    model = cnn_model(rng)
    x, y = rng.uniform(0, 4, (6, 16)), np.array([0, 1] * 3)
    test_set = Dataset(x, y, name="toy:test", image_shape=(4, 4))
    evaluation = evaluate_model(model, test_set)
    path = run_folder.write_predictions(tmp_path / "predictions.npz", evaluation, test_set, model)
    predictions = run_folder.read_predictions(tmp_path)
    assert predictions["conv_filters"].shape == (3, 1, 3, 3)
    figures = run_folder.draw_figures({}, predictions, tmp_path)
    assert {"filters_plot", "feature_maps_plot"} <= set(figures) and path.is_file()
    page = html.render({"data": {"image_shape": [4, 4]}}, predictions, figures, tmp_path)
    assert "What the first convolution layer learned" in page
    assert page.count("data:image/png;base64,") >= 2
