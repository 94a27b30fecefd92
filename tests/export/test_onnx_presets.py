"""The issue's "done when": the seed preset, the best preset (an ensemble) and a model trained
on a CSV through the CLI, exported and run in onnxruntime on held-out rows, match glassnet.

The presets are trained short (few epochs, one l2) to keep the suite fast; their
architecture, preprocessing, dtype and ensemble are the presets' own.
"""

import csv
import json
import sys

import numpy as np
import pandas as pd
import pytest
from onnx_check import assert_matches_glassnet, run_onnx

from glassnet.cli.app import main
from glassnet.data import load_digits, seed_split
from glassnet.experiments import presets
from glassnet.experiments.experiment import run_experiment
from glassnet.models import checkpoint


@pytest.fixture(scope="module")
def test_rows():
    return seed_split(load_digits()).test.x


def short(name, epochs, **train):
    preset = presets.load(name)
    preset.train = preset.train.replace(epochs=epochs, **train)
    preset.sweep = {"l2": preset.sweep["l2"][:1]}
    return preset


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_seed_preset_model_matches_in_onnxruntime(tmp_path, test_rows, dtype):
    model = run_experiment(short("seed", 60, dtype=dtype), seed=0, n_jobs=1).model
    assert str(model.dtype) == dtype
    # Saved and loaded first: what is exported is the model file a user has.
    model = checkpoint.load(checkpoint.save(model, tmp_path / "model.npz"))
    path = model.to_onnx(tmp_path / "seed.onnx")
    assert_matches_glassnet(model, path, test_rows)


def test_the_best_preset_ensemble_matches_in_onnxruntime(tmp_path, test_rows):
    preset = short("best", 2)
    model = run_experiment(preset, seed=0, n_jobs=1).model
    assert len(model.networks) == preset.ensemble == 5
    assert model.scaler is not None and model.scaler.kind == "global"
    path = model.to_onnx(tmp_path / "best.onnx")
    assert_matches_glassnet(model, path, test_rows)


def write_flowers(path, rng, n_per_class=25):
    """Three overlapping classes with string labels; the label column sits between features."""
    centers = {"iris": (0.0, 1.0, 5.0), "rose": (1.5, 0.0, 3.0), "lily": (0.5, 2.0, 4.0)}
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["petal", "sepal", "species", "stem"])
        for label, (a, b, c) in centers.items():
            for petal, sepal, stem in rng.normal((a, b, c), 0.8, (n_per_class, 3)):
                writer.writerow([f"{petal:.3f}", f"{sepal:.3f}", label, f"{stem:.3f}"])
    return path


def test_a_model_trained_on_a_csv_exports_through_the_cli(tmp_path, rng, capsys):
    data = write_flowers(tmp_path / "flowers.csv", rng)
    run = tmp_path / "run"
    train = ["train", "--data", str(data), "--target", "species", "--hidden", "8,8"]
    assert main([*train, "--epochs", "60", "--jobs", "1", "--out", str(run), "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("test accuracy ")  # --quiet: the result line
    out = tmp_path / "flowers.onnx"
    command = ["export", str(run / "model.npz"), "--format", "onnx", "--out", str(out), "--json"]
    assert main(command) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["bytes"] == out.stat().st_size and report["parameters"] == 4 * 8 + 9 * 8 + 9 * 3

    model = checkpoint.load(run / "model.npz")
    import onnxruntime

    meta = onnxruntime.InferenceSession(str(out)).get_modelmeta().custom_metadata_map
    layout = json.loads(meta["inputs"])
    assert [(i["name"], i["type"]) for i in layout] == [
        ("petal", "double"),
        ("sepal", "double"),
        ("stem", "double"),
    ]
    assert meta["target"] == "species"
    rows = pd.read_csv(data)
    assert_matches_glassnet(model, out, rows)
    assert set(run_onnx(out, rows)["label"].tolist()) == {"iris", "rose", "lily"}
    # The same float64 model as a float32 graph, for runtimes without doubles.
    out32 = tmp_path / "flowers32.onnx"
    assert main([*command[:4], "--out", str(out32), "--dtype", "float32", "--quiet"]) == 0
    assert run_onnx(out32, rows)["probabilities"].dtype == np.float32
    assert_matches_glassnet(model, out32, rows)


def test_the_cli_default_out_is_beside_the_model_and_errors_are_one_line(
    tmp_path, capsys, monkeypatch
):
    model_path = tmp_path / "model.npz"
    model = run_experiment(short("seed", 2), seed=0, n_jobs=1).model
    checkpoint.save(model, model_path)
    assert main(["export", str(model_path), "--quiet"]) == 0
    assert (tmp_path / "model.onnx").stat().st_size > 0

    assert main(["export", str(tmp_path / "missing.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err
    before = model_path.read_bytes()
    assert main(["export", str(model_path), "--out", str(model_path)]) == 2
    assert "the model file itself" in capsys.readouterr().err
    assert model_path.read_bytes() == before

    monkeypatch.setitem(sys.modules, "onnx", None)
    assert main(["export", str(model_path), "--out", str(tmp_path / "other.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'glassnet[onnx]'" in err
    assert not (tmp_path / "other.onnx").exists()
