"""Shared by the export tests: run an exported file in onnxruntime and hold it to glassnet."""

import numpy as np
import onnxruntime

# The bar: probabilities within 1e-5 of glassnet's own, labels identical.
TOLERANCE = 1e-5


def run_onnx(path, x):
    """The graph's outputs, by name, on raw features ``x`` (cast to the graph's input dtype)."""
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (graph_input,) = session.get_inputs()
    dtype = np.float32 if graph_input.type == "tensor(float)" else np.float64
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, {"input": np.asarray(x, dtype=dtype)}), strict=True))


def assert_matches_glassnet(model, path, x):
    """Probabilities within TOLERANCE and identical labels (classifier), or values within
    TOLERANCE (regressor); returns the largest difference seen."""
    outputs = run_onnx(path, x)
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
