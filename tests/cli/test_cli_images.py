"""Images in every form train a CNN through ``glassnet train`` and the model file remembers
their shape and channel layout: ``evaluate`` and ``predict`` need no image flags, and the same
images given as a channels-last NPZ or as CSV rows get the same predictions."""

import json

import numpy as np
import pytest

from glassnet.cli.app import main
from openml_fixture import tiny_mnist, write_openml_cache

LAYERS = """
[train]
layers = [
  {type = "conv2d", channels = 4, kernel_size = 3, padding = 1},
  {type = "relu"}, {type = "maxpool2d", kernel_size = 2}, {type = "flatten"},
]
optimizer = "adam"
lr = 0.01
epochs = 15
batch_size = 32
"""


def run_json(capsys, argv):
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def colour_images(tmp_path_factory):
    """80 channels-last 6x6x3 images whose class shows in the blue channel only, as a 4-D NPZ
    and as a CSV of the same rows (each pixel's three channels side by side)."""
    folder = tmp_path_factory.mktemp("colour")
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (80, 6, 6, 3))
    labels = np.arange(80) % 2
    images[labels == 1, :, :3, 2] += 1.5  # class 1: a bright left half, in blue
    np.savez(folder / "images.npz", x=images, label=labels)
    header = ",".join([f"p{i}" for i in range(108)] + ["label"])
    rows = np.column_stack([images.reshape(80, -1), labels])
    np.savetxt(folder / "images.csv", rows, delimiter=",", header=header, comments="", fmt="%.17g")
    (folder / "layers.toml").write_text(LAYERS)
    return folder


@pytest.fixture(scope="module")
def colour_model(colour_images):
    """``kind -> model.npz``: a CNN trained by ``glassnet train`` on the colour images given as
    the NPZ or as the CSV, each trained once for the module, whichever test asks first."""
    paths = {}

    def train(kind: str):
        if kind not in paths:
            folder, out = colour_images, colour_images / f"run_{kind}"
            data = ["--data", str(folder / "images.npz"), "--target", "label"]
            if kind == "csv":
                source = ["--data", str(folder / "images.csv"), "--target", "label"]
                data = [*source, "--image-shape", "6x6x3"]
            config = ["--config", str(folder / "layers.toml")]
            assert main(["train", *config, *data, "--jobs", "1", "--quiet", "--out", str(out)]) == 0
            paths[kind] = out / "model.npz"
        return paths[kind]

    return train


@pytest.mark.parametrize("kind", ["npz", "csv"])
def test_colour_images_train_and_predict_the_same_from_npz_and_csv(
    colour_images, colour_model, kind, capsys
):
    folder, model = colour_images, colour_model(kind)
    summary = run_json(capsys, ["summary", str(model)])
    assert summary["layers"][1]["output_shape"] == "(n, 3, 6, 6)"
    assert summary["layers"][2]["parameters"] == 4 * 3 * 9 + 4
    predictions = {}
    for source in ("images.npz", "images.csv"):
        where = ["--data", str(folder / source)]
        result = run_json(capsys, ["evaluate", str(model), *where])
        assert result["n_samples"] == 80 and result["accuracy"] > 0.9
        result = run_json(capsys, ["predict", str(model), *where])
        predictions[source] = [int(float(p)) for p in result["predictions"]]
    assert predictions["images.npz"] == predictions["images.csv"]


def test_a_model_refuses_images_of_another_shape_in_one_line(colour_model, tmp_path, capsys):
    gray = tmp_path / "gray.npz"
    np.savez(gray, x=np.zeros((4, 6, 6)), label=np.zeros(4, dtype=int))
    capsys.readouterr()
    assert main(["evaluate", str(colour_model("npz")), "--data", str(gray)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "6x6x1" in err and "6x6x3" in err
    assert err.endswith("give images of that shape (or train a model on these)")


def test_train_refuses_an_image_shape_the_images_do_not_have_in_its_own_words(tmp_path, capsys):
    out = tmp_path / "run"
    capsys.readouterr()
    argv = ["train", "--data", "digits", "--image-shape", "4x16", "--quiet", "--out", str(out)]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "glassnet: error: 'digits' holds 8x8x1 images (height x width x channels), but 4x16x1 "
        "ones are wanted; leave out --image-shape (images keep the shape they have)\n"
    )
    assert not out.exists()


def test_an_openml_image_set_trains_a_layer_list_and_predicts_without_flags(tmp_path, capsys):
    x, y = tiny_mnist(n=90)
    home = write_openml_cache(tmp_path / "home", "mnist_784", x, y)
    config = tmp_path / "layers.toml"
    config.write_text(LAYERS.replace("epochs = 15", "epochs = 1"))
    data = ["--data", "mnist_784", "--data-home", str(home)]
    out = tmp_path / "run"
    argv = ["train", "--config", str(config), *data, "--jobs", "1", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    summary = run_json(capsys, ["summary", str(out / "model.npz")])
    assert summary["layers"][1]["output_shape"] == "(n, 1, 28, 28)"
    result = run_json(capsys, ["predict", str(out / "model.npz"), *data])
    assert len(result["predictions"]) == 90


def test_the_model_object_takes_the_channels_last_images_too(colour_images, colour_model):
    from glassnet.errors import DataError
    from glassnet.models import checkpoint

    model = checkpoint.load(colour_model("npz"))
    assert model.image_shape == (6, 6, 3)
    images = np.load(colour_images / "images.npz")["x"]
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), -1)  # channel after channel
    np.testing.assert_array_equal(model.predict_proba(images), model.predict_proba(rows))
    with pytest.raises(DataError, match="6x6x1 .* but this model takes 6x6x3"):
        model.predict(images[..., 0])


def test_a_csv_of_pixels_gets_the_recipe_and_scaling_of_the_same_images_as_npz(colour_images):
    """A table file with --image-shape is loaded as images, so it trains as the NPZ does:
    TrainConfig's defaults and standard scaling, not the tabular recipe on raw pixels."""
    folder, models = colour_images, {}
    for kind in ("npz", "csv"):
        data = ["--data", str(folder / f"images.{kind}"), "--target", "label"]
        if kind == "csv":
            data += ["--image-shape", "6x6x3"]
        out = folder / f"flags_{kind}"
        argv = ["train", *data, "--epochs", "2", "--jobs", "1", "--quiet", "--out", str(out)]
        assert main(argv) == 0
        models[kind] = np.load(out / "model.npz")
    npz, csv = models["npz"], models["csv"]
    assert sorted(npz.files) == sorted(csv.files)
    for name in npz.files:
        if name != "__glassnet__":
            assert np.array_equal(npz[name], csv[name]), name
    assert "scaler.scale" in csv.files  # standard scaling, saved in the model file
