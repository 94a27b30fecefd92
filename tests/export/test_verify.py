"""Checking an export in onnxruntime before writing it: a wrong mapping is caught, and
nothing is written; through the CLI with ``--check``."""

import json

import numpy as np
import pytest

from glassnet.cli.app import main
from glassnet.data import Scaler, load_digits
from glassnet.errors import ExportError
from glassnet.export import onnx as export_onnx
from glassnet.export.verify import TOLERANCE, save_checked
from glassnet.models import checkpoint
from glassnet.models.model import Model
from glassnet.nn.layers import mlp


@pytest.fixture(scope="module")
def digits_x():
    return load_digits().x[:300]


def relu_model(rng, x, task="classification"):
    network = mlp([64, 16, 10 if task == "classification" else 2], rng=rng)
    classes = np.arange(10) if task == "classification" else None
    return Model([network], task=task, classes=classes, scaler=Scaler.fit("standard", x))


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_right_export_is_checked_and_written(tmp_path, rng, digits_x, task):
    model = relu_model(rng, digits_x, task)
    result = save_checked(model, tmp_path / "model.onnx", digits_x)
    assert result.passed and result.rows == 300 and result.label_mismatches == 0
    assert 0.0 <= result.max_difference <= TOLERANCE
    assert (tmp_path / "model.onnx").stat().st_size > 0


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_wrong_mapping_is_caught_and_nothing_is_written(
    tmp_path, rng, digits_x, monkeypatch, task
):
    model = relu_model(rng, digits_x, task)
    wrong = export_onnx.LAYERS["Sigmoid"]  # a plausible slip: the wrong activation
    monkeypatch.setitem(export_onnx.LAYERS, "ReLU", wrong)
    with pytest.raises(
        ExportError, match=r"differs from glassnet on 300 rows.*nothing was written"
    ):
        save_checked(model, tmp_path / "model.onnx", digits_x)
    assert list(tmp_path.iterdir()) == []


def test_the_cli_checks_on_a_data_file(tmp_path, rng, digits_x, capsys):
    model_path = checkpoint.save(relu_model(rng, digits_x), tmp_path / "model.npz")
    out = tmp_path / "model.onnx"
    argv = ["export", str(model_path), "--out", str(out), "--check", "digits", "--json"]
    assert main(argv) == 0
    check = json.loads(capsys.readouterr().out)["check"]
    assert check["rows"] == 1797 and check["label_mismatches"] == 0
    assert check["max_difference"] <= TOLERANCE
    assert main([*argv[:-3], "--check", str(tmp_path / "none.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
