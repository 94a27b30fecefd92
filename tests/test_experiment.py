"""The seed preset, run for real through the command line (once per test session)."""

import json

import numpy as np
import pytest

from glassnet import checkpoint, presets
from glassnet.cli import main
from glassnet.data import load_digits, seed_split


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["run", "--seed", "0", "--out", str(out), "--quiet"]) == 0
    return out, json.loads((out / "metrics.json").read_text())


def test_split_sizes_match_the_tutorial():
    assert seed_split(load_digits()).sizes() == {"train": 721, "validation": 482, "test": 594}


def test_seed_preset_holds_the_tutorial_numbers():
    preset = presets.load("seed")
    train = preset.train
    assert (train.hidden_layer_sizes, train.activation, train.output_activation) == (
        (48, 32), "sigmoid", "sigmoid")
    assert (train.lr, train.momentum, train.nesterov, train.epochs, train.batch_size) == (
        0.2, 0.9, False, 1000, None)
    np.testing.assert_allclose(preset.sweep["l2"], np.logspace(-2, 2, 10))
    assert preset.scaling == "none"


def test_seed_run_reaches_the_tutorial_accuracy(seed_run):
    _, metrics = seed_run
    assert 0.94 <= metrics["test_accuracy"] <= 0.98
    assert np.isclose(np.logspace(-2, 2, 10), metrics["best_l2"]).sum() == 1
    by_l2 = {round(r["l2"], 6): r["validation_accuracy"] for r in metrics["sweep"]}
    assert by_l2[100.0] < 0.3
    best = max(metrics["sweep"], key=lambda r: r["validation_accuracy"])
    assert metrics["best_l2"] == pytest.approx(best["l2"])


def test_seed_run_writes_the_run_folder(seed_run):
    out, metrics = seed_run
    for name in ("metrics.json", "sweep.png", "losses.png", "model.npz"):
        assert (out / name).stat().st_size > 0
    assert (out / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(metrics["history"]["train_loss"]) == 1000
    assert len(metrics["history"]["validation_loss"]) == 1000
    assert metrics["split_sizes"] == {"train": 721, "validation": 482, "test": 594}
    assert metrics["config"]["train"]["lr"] == 0.2


def test_saved_model_reproduces_the_reported_test_accuracy(seed_run):
    out, metrics = seed_run
    model = checkpoint.load(out / "model.npz")
    test = seed_split(load_digits()).test
    assert np.mean(model.predict(test.x) == test.y) == metrics["test_accuracy"]


def test_unknown_preset_is_one_line_and_exit_2(capsys):
    assert main(["run", "--preset", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown preset 'nope'" in err and err.count("\n") == 1
