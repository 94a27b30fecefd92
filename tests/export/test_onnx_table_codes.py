"""A table model with a column of many categories exports its "(other)" input: a rare and an
unseen category give the same value in onnxruntime as in glassnet."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from onnx_check import run_onnx

from glassnet.cli.app import main
from glassnet.data.preprocessing import OTHER_CATEGORY
from glassnet.models import checkpoint

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from test_many_categories import airports  # noqa: E402


def test_the_code_column_trains_and_exports_with_its_other_input(tmp_path):
    frame = airports()
    frame.to_csv(tmp_path / "flights.csv", index=False)
    run = tmp_path / "run"
    flags = ["--hidden", "16", "--epochs", "20", "--jobs", "1", "--quiet"]
    argv = ["train", "--data", str(tmp_path / "flights.csv"), "--target", "delay", *flags]
    assert main([*argv, "--out", str(run)]) == 0
    model = checkpoint.load(run / "model.npz")
    assert model.table.categorical == ["dest"] and OTHER_CATEGORY in model.table.categories[0]
    out = tmp_path / "model.onnx"
    assert main(["export", str(run / "model.npz"), "--out", str(out), "--quiet"]) == 0
    rows = pd.DataFrame({"dest": ["A05", "R07", "never seen", "A10"], "distance": [0.1] * 4})
    values = run_onnx(out, rows)["values"].reshape(-1)
    expected = model.predict(model.features(rows)).reshape(-1)
    assert np.max(np.abs(values - expected)) <= 1e-6 * max(1.0, np.abs(expected).max())
    assert values[1] == values[2]  # a rare and an unseen airport are one input
