"""A model trained on a table keeps its preprocessing (plain JSON + float arrays) and, for a
regression, its target scaling; a file whose new fields are tampered with is refused."""

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from glassnet import Model, ModelFileError, mlp
from glassnet.data import Scaler
from glassnet.data.preprocessing import TablePreprocessor
from glassnet.models import checkpoint

FRAME = pd.DataFrame(
    {"x": [1.0, 2.0, None, 4.0, 5.0], "colour": ["red", "blue", "red", None, "blue"]}
)


def saved_regressor(tmp_path):
    table = TablePreprocessor.fit(FRAME, {"x": "numeric", "colour": "categorical"})
    rng = np.random.default_rng(0)
    net = mlp([table.n_outputs, 4, 1], activation_name="relu", rng=rng)
    target = Scaler.fit("standard", np.array([[10.0], [20.0], [40.0]]))
    model = Model([net], task="regression", target_scaler=target, table=table)
    return model, checkpoint.save(model, tmp_path / "model.npz")


def test_table_and_target_scaling_survive_a_round_trip(tmp_path):
    model, path = saved_regressor(tmp_path)
    loaded = checkpoint.load(path)
    assert loaded.table.to_dict() == model.table.to_dict()
    np.testing.assert_array_equal(
        loaded.predict(loaded.features(FRAME)), model.predict(model.features(FRAME))
    )
    # The networks' standardised output is mapped back to the target's units.
    raw = model.network.forward(model.features(FRAME))[:, 0]
    expected = raw * model.target_scaler.scale[0] + model.target_scaler.offset[0]
    np.testing.assert_allclose(loaded.predict(loaded.features(FRAME)), expected)


def rewrite(path, header=None, arrays=None):
    """Replace the header and/or some arrays of a saved model file."""
    with zipfile.ZipFile(path) as archive:
        contents = {info.filename: archive.read(info) for info in archive.infolist()}
    current = json.loads(np.load(io.BytesIO(contents["__glassnet__.npy"])).tobytes())
    if header is not None:
        header(current)
    raw = np.frombuffer(json.dumps(current).encode(), dtype=np.uint8)
    for name, array in {"__glassnet__": raw, **(arrays or {})}.items():
        buffer = io.BytesIO()
        np.save(buffer, array)
        contents[f"{name}.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


@pytest.mark.parametrize(
    "header, arrays, words",
    [
        (lambda h: h["table"].update(categories=[["red"]]), None, "table preprocessing"),
        (lambda h: h["table"].update(numeric=[]), None, "table preprocessing"),
        (lambda h: h["table"]["categories"][0].append("green"), None, "makes 6 inputs"),
        (lambda h: h["table"].update(categories="red"), None, "table preprocessing"),
        (None, {"table.scales": np.array([1.0, -1.0])}, "table preprocessing"),
        (None, {"table.medians": np.array([np.inf])}, "table preprocessing"),
        (None, {"table.means": np.array([1, 2], dtype=np.int64)}, "1-D float64"),
        (None, {"target.scale": np.array([0.0])}, "target scaler"),
        (None, {"target.offset": np.array([1.0, 2.0])}, "target scaler"),
        (lambda h: h.update(task="classification", classes=[0]), None, "target scaler"),
        (lambda h: h.update(target_scaler=False), None, "unexpected arrays"),
    ],
)
def test_tampered_table_or_target_fields_are_refused(tmp_path, header, arrays, words):
    _, path = saved_regressor(tmp_path)
    rewrite(path, header, arrays)
    with pytest.raises(ModelFileError, match=words):
        checkpoint.load(path)
