"""Shared by the export tests: run an exported file in onnxruntime and hold it to glassnet."""

import numpy as np
import onnxruntime

# The bar: probabilities within 1e-5 of glassnet's own, labels identical.
TOLERANCE = 1e-5


def table_feeds(session, frame):
    """One (n, 1) array per graph input from a DataFrame's raw columns: numbers as float64
    (NaN where missing), categories as text ("" where missing), as docs/guide/onnx.md describes."""
    feeds = {}
    for graph_input in session.get_inputs():
        column = frame[graph_input.name]
        if graph_input.type == "tensor(string)":
            text = column.map(lambda cell: "" if cell is None or cell != cell else str(cell))
            feeds[graph_input.name] = text.to_numpy(dtype=object).reshape(-1, 1)
        else:
            feeds[graph_input.name] = column.to_numpy(dtype=np.float64).reshape(-1, 1)
    return feeds


def run_onnx(path, x):
    """The graph's outputs, by name, on raw features ``x`` (an array, cast to the graph's
    input dtype) or on a DataFrame of raw columns (a table model's one input per column)."""
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    if hasattr(x, "columns"):
        feeds = table_feeds(session, x)
    else:
        (graph_input,) = session.get_inputs()
        dtype = np.float32 if graph_input.type == "tensor(float)" else np.float64
        feeds = {"input": np.asarray(x, dtype=dtype)}
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds), strict=True))


def assert_matches_glassnet(model, path, x):
    """Probabilities within TOLERANCE and identical labels (classifier), or values within
    TOLERANCE (regressor); returns the largest difference seen. ``x``: raw features, or a
    DataFrame for a model trained on a table."""
    outputs = run_onnx(path, x)
    if hasattr(x, "columns"):
        x = model.features(x)
    if model.task == "classification":
        expected = model.predict_proba(x)
        assert outputs["probabilities"].shape == expected.shape
        difference = float(np.max(np.abs(outputs["probabilities"] - expected)))
        assert difference <= TOLERANCE
        assert outputs["label"].tolist() == model.predict(x).tolist()
    else:
        expected = model.outputs(x)
        assert outputs["values"].shape == expected.shape
        difference = float(np.max(np.abs(outputs["values"] - expected)))
        assert difference <= TOLERANCE * max(1.0, float(np.max(np.abs(expected))))
    return difference
