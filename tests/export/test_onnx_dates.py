"""Datetime columns export: the graph takes a date as seconds since 1970-01-01 UTC and
computes its parts (year, month, day, weekday, hour) itself, exactly as glassnet does, and a
model trained on a table with a date column predicts in onnxruntime as it does in glassnet."""

import warnings

import numpy as np
import onnx
import onnxruntime
import pandas as pd
import pytest

from glassnet.cli.app import main
from glassnet.data.preprocessing import DATE_PARTS, input_frame
from glassnet.export.onnx import Graph
from glassnet.export.onnx_table import calendar_parts, column_feeds, epoch_seconds
from glassnet.models import checkpoint


def calendar_graph():
    """A graph of one input ``when`` (seconds) and one output per date part."""
    graph = Graph(np.float64)
    graph.names.add("when")
    parts = calendar_parts(graph, "when")
    helper, double = onnx.helper, onnx.TensorProto.DOUBLE
    outputs = []
    for name, tensor in parts.items():
        graph.node("Identity", [tensor], output=name)
        outputs.append(helper.make_tensor_value_info(name, double, ["n", 1]))
    inputs = [helper.make_tensor_value_info("when", double, ["n", 1])]
    proto = graph.build(inputs, outputs, doc="calendar")
    return onnxruntime.InferenceSession(
        proto.SerializeToString(), providers=["CPUExecutionProvider"]
    )


def test_the_graphs_calendar_is_pandas_calendar():
    rng = np.random.default_rng(0)
    # Random instants from 1685 to 2255, and the days calendars get wrong: leap days of
    # 1900 (none), 2000 and 2400, year ends, the epoch and just before it.
    seconds = rng.uniform(-9.0e9, 9.0e9, 5000)
    edges = pd.to_datetime(
        [
            "1900-02-28 23:59:59",
            "1900-03-01 00:00:00",
            "2000-02-29 12:00:00",
            "2000-03-01 00:00:00",
            "1969-12-31 23:59:59",
            "1970-01-01 00:00:00",
            "1999-12-31 23:00:00",
            "2024-02-29 00:00:00",
            "1800-03-01 00:00:00",
            "2100-02-28 23:59:59",
        ]
    )
    frame = pd.DataFrame({"when": [*pd.to_datetime(seconds, unit="s"), *edges, pd.NaT]})
    expected = input_frame(frame, [], [], ["when"])
    feeds = {"when": epoch_seconds(frame["when"]).reshape(-1, 1)}
    session = calendar_graph()
    found = dict(
        zip(DATE_PARTS, session.run([f"when.{p}" for p in DATE_PARTS], feeds), strict=True)
    )
    for part in DATE_PARTS:
        np.testing.assert_array_equal(found[part][:, 0], expected[f"when.{part}"].to_numpy())


def dated_table(rng, n=300):
    """A label that depends on the weekday, month and hour of a date column with text cells,
    some empty, beside a numeric column."""
    start = pd.Timestamp("2019-01-01")
    when = start + pd.to_timedelta(rng.uniform(0, 4 * 365 * 24, n), unit="h")
    size = rng.normal(size=n)
    score = (when.day_of_week >= 5) * 2.0 + np.sin(when.month.to_numpy()) + when.hour / 12 + size
    frame = pd.DataFrame({"when": when.strftime("%Y-%m-%d %H:%M"), "size": size})
    frame.loc[rng.random(n) < 0.08, "when"] = None
    frame["busy"] = np.where(score > np.median(score), "yes_busy", "quiet")
    return frame


@pytest.fixture(scope="module")
def dated_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dates")
    rng = np.random.default_rng(3)
    frame = dated_table(rng)
    frame.to_csv(folder / "dated.csv", index=False)
    run = folder / "run"
    argv = ["train", "--data", str(folder / "dated.csv"), "--target", "busy", "--hidden", "8"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main([*argv, "--epochs", "20", "--jobs", "1", "--quiet", "--out", str(run)]) == 0
    return folder, frame, run


def test_a_model_with_a_date_column_exports_and_predicts_as_glassnet(dated_run):
    folder, frame, run = dated_run
    model = checkpoint.load(run / "model.npz")
    assert model.table.datetime == ["when"]
    out = folder / "dated.onnx"
    assert main(["export", str(run / "model.npz"), "--out", str(out), "--quiet"]) == 0
    rows = frame.drop(columns=["busy"]).sample(60, random_state=1).reset_index(drop=True)
    rows.loc[0, "when"] = None
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    inputs = [(i.name, i.type) for i in session.get_inputs()]
    assert inputs == [("size", "tensor(double)"), ("when", "tensor(double)")]
    probabilities, labels = session.run(["probabilities", "label"], column_feeds(model.table, rows))
    expected = model.predict_proba(model.features(rows))
    assert np.max(np.abs(probabilities - expected)) <= 1e-5
    assert labels.tolist() == model.predict(model.features(rows)).tolist()
    # What a caller without glassnet feeds: seconds since 1970 from its own clock.
    by_hand = (pd.to_datetime(rows["when"]) - pd.Timestamp("1970-01-01")).dt.total_seconds()
    feeds = {"size": rows[["size"]].to_numpy(), "when": by_hand.to_numpy().reshape(-1, 1)}
    np.testing.assert_allclose(session.run(["probabilities"], feeds)[0], expected, atol=1e-5)


def test_the_cli_export_check_passes_on_the_dated_csv(dated_run, capsys):
    folder, _, run = dated_run
    out = folder / "checked.onnx"
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        argv = [
            "export",
            str(run / "model.npz"),
            "--out",
            str(out),
            "--check",
            str(folder / "dated.csv"),
        ]
        assert main(argv) == 0
    assert "when" in capsys.readouterr().out
