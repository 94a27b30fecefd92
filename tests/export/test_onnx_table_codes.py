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


def test_a_table_model_with_periodic_embeddings_exports(tmp_path):
    """PLR embeddings of the numeric columns (numeric_embedding) run the same in onnxruntime,
    in float64 and float32, with a categorical column passed beside them."""
    frame = airports(600)
    frame["speed"] = np.sin(3 * frame["distance"]) + frame["distance"] ** 2
    frame.to_csv(tmp_path / "flights.csv", index=False)
    (tmp_path / "plr.toml").write_text("[train]\nnumeric_embedding = 4\nepochs = 5\n")
    run = tmp_path / "run"
    argv = ["train", "--data", str(tmp_path / "flights.csv"), "--target", "delay", "--quiet"]
    argv += ["--config", str(tmp_path / "plr.toml"), "--jobs", "1", "--out", str(run)]
    assert main(argv) == 0
    model = checkpoint.load(run / "model.npz")
    first = model.networks[0].layers[0]
    assert type(first).__name__ == "PeriodicEmbedding" and first.n_embedded == 2
    rows = frame.drop(columns=["delay"]).head(25)
    expected = model.predict(model.features(rows)).reshape(-1)
    for dtype, tolerance in ((None, 1e-9), ("float32", 1e-4)):
        out = tmp_path / f"model-{dtype}.onnx"
        command = ["export", str(run / "model.npz"), "--out", str(out), "--quiet"]
        assert main(command + (["--dtype", dtype] if dtype else [])) == 0
        values = run_onnx(out, rows)["values"].reshape(-1)
        scale = max(1.0, np.abs(expected).max())
        assert np.max(np.abs(values - expected)) <= tolerance * scale
