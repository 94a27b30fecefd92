"""A CNN through the command line: a config file lists layers; train, summary, evaluate and
predict all work on the result, and a bad layer list is one line and exit 2."""

import json

import numpy as np
import pytest

from glassnet.cli.app import main
from glassnet.experiments import presets

CONFIG = """
data = "digits"
scaling = "global"
[train]
input_shape = [1, 8, 8]
layers = [
  {type = "conv2d", channels = 4, kernel_size = 3, padding = 1},
  {type = "batchnorm"}, {type = "relu"}, {type = "maxpool2d", kernel_size = 2},
  {type = "flatten"},
]
optimizer = "adam"
lr = 0.01
epochs = 2
batch_size = 64
"""


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cnn")
    config = folder / "cnn.toml"
    config.write_text(CONFIG)
    out = folder / "run"
    argv = ["train", "--config", str(config), "--jobs", "1", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    return out


def run_json(capsys, argv):
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_summary_shows_each_layers_output_shape_and_parameters(cnn_run, capsys):
    result = run_json(capsys, ["summary", str(cnn_run / "model.npz")])
    rows = [(row["layer"], row["output_shape"], row["parameters"]) for row in result["layers"]]
    assert rows[:3] == [
        ("input", "(n, 64)", 0),
        ("0: Reshape", "(n, 1, 8, 8)", 0),
        ("1: Conv2D 1 -> 4, 3x3, stride 1, padding 1", "(n, 4, 8, 8)", 4 * 9 + 4),
    ]
    assert rows[2 + 2][1] == "(n, 4, 8, 8)" and rows[5] == (
        "4: MaxPool2D 2x2, stride 2",
        "(n, 4, 4, 4)",
        0,
    )
    assert rows[-1] == ("6: Linear 64 -> 10", "(n, 10)", 650)
    assert result["total_parameters"] == 40 + 8 + 650


def test_evaluate_and_predict_work_on_the_cnn(cnn_run, tmp_path, capsys):
    from sklearn.datasets import load_digits

    digits = load_digits()
    data = tmp_path / "digits.npz"
    np.savez(data, X=digits.data[:50], y=digits.target[:50])
    result = run_json(capsys, ["evaluate", str(cnn_run / "model.npz"), "--data", str(data)])
    assert result["n_samples"] == 50 and result["accuracy"] > 0.3
    result = run_json(capsys, ["predict", str(cnn_run / "model.npz"), "--data", str(data)])
    assert len(result["predictions"]) == 50
    assert (cnn_run / "filters.png").is_file() and (cnn_run / "feature_maps.png").is_file()


def test_a_bad_layer_list_is_one_line_and_exit_2(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text(CONFIG.replace('{type = "flatten"}', '{type = "linear", units = 5}'))
    assert main(["train", "--config", str(config), "--quiet", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "flatten" in err


@pytest.mark.parametrize("kind", ["npz", "csv"])
def test_train_with_the_cnn_preset_on_images_of_another_size(kind, tmp_path, capsys):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (60, 6, 6))
    labels = np.arange(60) % 2
    images[labels == 1, :, :3] += 2.0  # class 1: a bright left half
    data = tmp_path / f"images.{kind}"
    extra = []
    if kind == "npz":
        np.savez(data, x=images, y=labels)
    else:
        header = ",".join([f"p{i}" for i in range(36)] + ["y"])
        rows = np.column_stack([images.reshape(60, -1), labels])
        np.savetxt(data, rows, delimiter=",", header=header, comments="", fmt="%.5f")
        extra = ["--target", "y", "--image-shape", "6x6"]
    out = tmp_path / "run"
    argv = ["train", "--preset", "cnn", "--data", str(data), *extra, "--epochs", "1"]
    assert main([*argv, "--out", str(out), "--quiet"]) == 0
    result = run_json(capsys, ["summary", str(out / "model.npz")])
    assert result["layers"][1] == {
        "layer": "0: Reshape",
        "output_shape": "(n, 1, 6, 6)",
        "parameters": 0,
    }
    assert result["members"] == presets.load("cnn").ensemble == 8  # the preset's ensemble
    target = ["--target", "y"] if kind == "csv" else []
    result = run_json(capsys, ["evaluate", str(out / "model.npz"), "--data", str(data), *target])
    assert result["n_samples"] == 60
