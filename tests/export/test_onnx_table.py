"""A model trained on a table through the CLI exports with its preprocessing in the graph:
one input per raw column, run in onnxruntime on rows with empty cells and an unseen
category, and compared with glassnet's own predictions (classification and regression)."""

import json
import warnings

import numpy as np
import onnx
import onnxruntime
import pandas as pd
import pytest
from onnx_check import assert_matches_glassnet, run_onnx

from glassnet.cli.app import main
from glassnet.data.columns import EXPORTABLE_ROLES
from glassnet.data.preprocessing import TablePreprocessor
from glassnet.models import checkpoint
from glassnet.models.model import Model
from glassnet.nn.layers import Linear, Sequential


def make_table(rng, n=160):
    """Two numeric columns, two categorical ones and a boolean one, ~10% empty cells each; a
    class label and a numeric target that both depend on every column."""
    size = rng.normal(10.0, 3.0, n)
    weight = rng.normal(-2.0, 1.0, n)
    colour = rng.choice(["red", "green", "blue"], n)
    shop = rng.choice(["north", "south"], n)
    member = rng.random(n) < 0.5
    score = size + 2.0 * weight + np.select([colour == "red", colour == "green"], [3.0, -3.0])
    score += np.where(shop == "north", 1.0, 0.0) + np.where(member, 1.5, 0.0)
    score += rng.normal(0, 0.5, n)
    frame = pd.DataFrame(
        {
            "size": size,
            "colour": colour,
            "weight": weight,
            "shop": shop,
            "member": member.astype(object),
        }
    )
    for name in frame.columns:
        frame.loc[rng.random(n) < 0.1, name] = np.nan
    frame["grade"] = np.where(score > np.median(score), "high", "low")
    frame["price"] = 100.0 + 20.0 * score  # far from unit scale: the target scaler matters
    return frame


def new_rows(rng, frame):
    """Rows not trained on: empty cells in every column, and a colour never seen."""
    rows = frame.drop(columns=["grade", "price"]).sample(30, random_state=0).reset_index(drop=True)
    rows.loc[0, "size"] = np.nan
    rows.loc[1, "weight"] = np.nan
    rows.loc[2, "colour"] = np.nan
    rows.loc[3, "colour"] = "purple"
    rows.loc[4, ["size", "weight", "colour", "shop", "member"]] = np.nan
    return rows


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(7)
    folder = tmp_path_factory.mktemp("table")
    frame = make_table(rng)
    frame.to_csv(folder / "table.csv", index=False)
    return folder, frame, new_rows(rng, frame)


def train_and_export(folder, target, drop, dtype=None):
    """Train on the CSV through the CLI (once per target: tests share the run), export."""
    run = folder / f"run-{target}"
    csv = str(folder / "table.csv")
    flags = ["--hidden", "8", "--epochs", "30", "--jobs", "1", "--quiet", "--drop", drop]
    if not (run / "model.npz").exists():
        assert main(["train", "--data", csv, "--target", target, *flags, "--out", str(run)]) == 0
    out = folder / f"{target}-{dtype}.onnx"
    command = ["export", str(run / "model.npz"), "--out", str(out), "--quiet"]
    assert main(command + (["--dtype", dtype] if dtype else [])) == 0
    return checkpoint.load(run / "model.npz"), out


def test_a_table_classifier_exports_its_preprocessing(table):
    folder, _, rows = table
    model, path = train_and_export(folder, "grade", "price")
    assert model.table is not None and model.table.indicators  # the NA cells gave indicators
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glassnet warns about the unseen colour
        assert_matches_glassnet(model, path, rows)
        labels = run_onnx(path, rows)["label"]
    assert set(labels.tolist()) <= {"high", "low"}
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = [(i.name, i.type, i.shape[1]) for i in session.get_inputs()]
    assert inputs == [
        ("size", "tensor(double)", 1),
        ("weight", "tensor(double)", 1),
        ("colour", "tensor(string)", 1),
        ("shop", "tensor(string)", 1),
        ("member", "tensor(string)", 1),
    ]
    layout = json.loads(session.get_modelmeta().custom_metadata_map["inputs"])
    assert [(i["name"], i["type"]) for i in layout] == [
        ("size", "double"),
        ("weight", "double"),
        ("colour", "string"),
        ("shop", "string"),
        ("member", "string"),
    ]
    ops = {(node.domain, node.op_type) for node in onnx.load(str(path)).graph.node}
    assert {("", "IsNaN"), ("", "Where"), ("ai.onnx.ml", "CategoryMapper")} <= ops


def test_an_unseen_category_and_an_empty_cell_are_not_the_same(table):
    """The unseen colour is all zeros, an empty one is the "(missing)" category: changing one
    into the other changes the graph's output as it changes glassnet's."""
    folder, _, rows = table
    model, path = train_and_export(folder, "grade", "price")
    unseen = rows.iloc[[3, 3]].copy()
    unseen.iloc[1, unseen.columns.get_loc("colour")] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probabilities = run_onnx(path, unseen)["probabilities"]
        expected = model.predict_proba(model.features(unseen))
    assert np.max(np.abs(probabilities - expected)) <= 1e-5
    assert np.max(np.abs(probabilities[0] - probabilities[1])) > 1e-4


@pytest.mark.parametrize("dtype", [None, "float32"])
def test_a_table_regressor_exports_values_in_target_units(table, dtype):
    folder, frame, rows = table
    model, path = train_and_export(folder, "price", "grade", dtype)
    assert model.task == "regression" and model.target_scaler is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_matches_glassnet(model, path, rows)
        values = run_onnx(path, rows)["values"][:, 0]
        np.testing.assert_allclose(values, model.predict(model.features(rows)), rtol=1e-5)
    # In target units (prices around 100 +- 100), not standardised ones.
    assert np.std(values) > 10.0


def test_every_role_a_column_can_take_exports(tmp_path):
    """EXPORTABLE_ROLES is what training promises not to warn about: each of them exports."""
    frame = pd.DataFrame(
        {
            "when": pd.date_range("2024-01-01", periods=20, freq="D"),
            "size": np.arange(20.0),
            "colour": ["red", "blue"] * 10,
            "member": [True, False] * 10,
        }
    )
    roles = {"size": "numeric", "when": "datetime", "colour": "categorical", "member": "boolean"}
    assert set(roles.values()) == set(EXPORTABLE_ROLES)
    table = TablePreprocessor.fit(frame, roles)
    network = Sequential(Linear(table.n_outputs, 2, rng=np.random.default_rng(0)))
    model = Model([network], classes=np.array(["a", "b"]), table=table)
    model.to_onnx(tmp_path / "roles.onnx")
    session = onnxruntime.InferenceSession(
        str(tmp_path / "roles.onnx"), providers=["CPUExecutionProvider"]
    )
    assert {i.name for i in session.get_inputs()} == set(roles)


def test_the_cli_checks_a_table_export_on_the_csv_and_names_the_inputs(table, capsys):
    folder, _, _ = table
    model, _ = train_and_export(folder, "grade", "price")
    out = folder / "checked.onnx"
    model_file = str(folder / "run-grade" / "model.npz")
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        command = ["export", model_file, "--out", str(out), "--check", str(folder / "table.csv")]
        assert main([*command, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["inputs"] == {
        "size": "double",
        "weight": "double",
        "colour": "string",
        "shop": "string",
        "member": "string",
    }
    assert report["check"]["rows"] == 160 and report["check"]["label_mismatches"] == 0
    assert report["check"]["max_difference"] <= 1e-5


def test_export_check_on_a_table_missing_a_column_is_one_line(table, capsys, tmp_path):
    """Issue 23: this was a KeyError traceback."""
    import pandas as pd

    folder, _, _ = table
    train_and_export(folder, "grade", "price")
    partial = tmp_path / "partial.csv"
    pd.read_csv(folder / "table.csv").drop(columns=["weight"]).to_csv(partial, index=False)
    model_file = str(folder / "run-grade" / "model.npz")
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        command = ["export", model_file, "--out", str(tmp_path / "x.onnx"), "--check", str(partial)]
        assert main(command) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "lacks the column(s) ['weight']" in err
    assert not (tmp_path / "x.onnx").exists()
