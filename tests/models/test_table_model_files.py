"""A model trained on a table keeps its preprocessing (plain JSON + float arrays) and, for a
regression, its target scaling; a file whose new fields are tampered with is refused."""

import io
import json
import re
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


def rewrite(path, header=None, arrays=None, drop=()):
    """Replace the header and/or some arrays of a saved model file, and drop the ``drop`` ones."""
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
    for name in drop:
        del contents[f"{name}.npy"]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


TABLE = r"the table preprocessing is invalid \("
TABLE_ARRAYS = r"the table preprocessing's arrays must be 1-D float64$"
TARGET_VALUES = r"the target scaler holds non-finite or non-positive values$"
TARGET_SHAPE = r"the target scaler's arrays must be one float64 number each$"
TARGET_MISSING = r"the target scaler's arrays are missing$"
TARGET_TASK = r"a target scaler belongs to a regression model with one output$"


@pytest.mark.parametrize(
    "header, arrays, drop, words",
    [
        (
            lambda h: h["table"].update(categories=[["red"]]),
            None,
            (),
            r"the table preprocessing makes 3 inputs but the network takes \{5\}$",
        ),
        (lambda h: h["table"].update(numeric=[]), None, (), TABLE),
        (
            lambda h: h["table"]["categories"][0].append("green"),
            None,
            (),
            r"the table preprocessing makes 6 inputs but the network takes \{5\}$",
        ),
        (lambda h: h["table"].update(categories="red"), None, (), TABLE),
        (None, {"table.scales": np.array([1.0, -1.0])}, (), TABLE),
        (None, {"table.medians": np.array([np.inf])}, (), TABLE),
        (None, {"table.means": np.array([1, 2], dtype=np.int64)}, (), TABLE_ARRAYS),
        (None, {"table.means": np.zeros((2, 1))}, (), TABLE_ARRAYS),
        (None, {"target.scale": np.array([0.0])}, (), TARGET_VALUES),
        (None, {"target.scale": np.array([-2.0])}, (), TARGET_VALUES),
        (None, {"target.offset": np.array([np.nan])}, (), TARGET_VALUES),
        (None, {"target.scale": np.array([np.inf])}, (), TARGET_VALUES),
        (None, {"target.offset": np.array([1.0, 2.0])}, (), TARGET_SHAPE),
        (None, {"target.scale": np.array([[1.0]])}, (), TARGET_SHAPE),
        (None, {"target.offset": np.array([1.0], dtype=np.float32)}, (), TARGET_SHAPE),
        (None, None, ("target.scale",), TARGET_MISSING),
        (None, None, ("target.offset",), TARGET_MISSING),
        (lambda h: h.update(task="classification", classes=[0]), None, (), TARGET_TASK),
        (lambda h: h.update(target_scaler=False), None, (), r"unexpected arrays \['target"),
    ],
)
def test_tampered_table_or_target_fields_are_refused(tmp_path, header, arrays, drop, words):
    _, path = saved_regressor(tmp_path)
    rewrite(path, header, arrays, drop)
    with pytest.raises(ModelFileError, match=f"^{re.escape(str(path))}: {words}"):
        checkpoint.load(path)


def test_a_table_of_categories_only_loads_with_its_empty_arrays(tmp_path):
    """No numeric column: the medians, means and scales are stored as empty arrays, which are
    valid (a length of 0 is not a negative shape)."""
    frame = FRAME[["colour"]]
    table = TablePreprocessor.fit(frame, {"colour": "categorical"})
    net = mlp([table.n_outputs, 3, 2], rng=np.random.default_rng(0))
    model = Model([net], classes=np.array([0, 1]), table=table)
    loaded = checkpoint.load(checkpoint.save(model, tmp_path / "model.npz"))
    assert loaded.table.to_dict() == table.to_dict()
    np.testing.assert_array_equal(
        loaded.predict(loaded.features(frame)), model.predict(model.features(frame))
    )


def test_a_target_scale_below_one_loads_as_a_standard_scaler(tmp_path):
    model, path = saved_regressor(tmp_path)
    rewrite(path, None, {"target.scale": np.array([0.5]), "target.offset": np.array([-3.0])})
    loaded = checkpoint.load(path)
    assert loaded.target_scaler.kind == "standard"
    raw = loaded.network.forward(loaded.features(FRAME))[:, 0]
    np.testing.assert_allclose(loaded.predict(loaded.features(FRAME)), raw * 0.5 - 3.0)
