import io
import json
import zipfile

import numpy as np
import pytest

from glassnet import Model, ModelFileError, mlp
from glassnet.data import Scaler
from glassnet.models import checkpoint


@pytest.fixture
def model(rng):
    networks = [mlp([5, 4, 3], activation_name="tanh", rng=rng) for _ in range(2)]
    x = rng.standard_normal((30, 5)) * 3 + 1
    return Model(
        networks,
        classes=np.array([3, 5, 7]),
        scaler=Scaler.fit("standard", x),
        info={"note": "test"},
    )


def arrays_of(path):
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def rewrite(path, arrays, **extra):
    np.savez(path, **arrays, **extra)


def test_save_load_gives_identical_predictions(model, rng, tmp_path):
    x = rng.standard_normal((10, 5))
    path = checkpoint.save(model, tmp_path / "model.npz")
    loaded = checkpoint.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert set(loaded.predict(x)) <= {3, 5, 7}
    assert loaded.info == {"note": "test"}
    assert len(loaded.networks) == 2


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_survives_the_roundtrip(dtype, rng, tmp_path):
    net = mlp([3, 2], rng=rng, dtype=np.dtype(dtype))
    loaded = checkpoint.load(checkpoint.save(Model([net]), tmp_path / "m.npz"))
    assert loaded.dtype == np.dtype(dtype)


def test_header_records_config_and_version(model, tmp_path):
    path = checkpoint.save(model, tmp_path / "model.npz")
    header = json.loads(arrays_of(path)["__glassnet__"].tobytes())
    assert header["glassnet_version"]
    assert header["dtype"] == "float64"
    assert header["classes"] == [3, 5, 7]
    assert header["scaler"] == "standard"
    assert header["networks"][0]["layers"][0] == {
        "type": "Linear",
        "in_features": 5,
        "out_features": 4,
        "init": "glorot",
    }


def test_missing_array_is_refused(model, tmp_path):
    path = checkpoint.save(model, tmp_path / "model.npz")
    arrays = arrays_of(path)
    del arrays["net1.2.bias"]
    rewrite(path, arrays)
    with pytest.raises(ModelFileError, match="missing"):
        checkpoint.load(path)


def test_wrong_shape_is_refused(model, tmp_path):
    path = checkpoint.save(model, tmp_path / "model.npz")
    arrays = arrays_of(path)
    arrays["net0.0.weight"] = np.zeros((4, 5))
    rewrite(path, arrays)
    with pytest.raises(ModelFileError, match="shape"):
        checkpoint.load(path)


def test_object_array_is_refused_without_unpickling(model, tmp_path):
    path = checkpoint.save(model, tmp_path / "model.npz")
    arrays = arrays_of(path)
    arrays["net0.0.bias"] = np.array([object(), 1], dtype=object)
    np.savez(path, **arrays)  # numpy pickles object arrays on save
    with pytest.raises(ModelFileError, match="pickle|readable"):
        checkpoint.load(path)


def test_unexpected_array_is_refused(model, tmp_path):
    path = checkpoint.save(model, tmp_path / "model.npz")
    rewrite(path, arrays_of(path), extra=np.zeros(3))
    with pytest.raises(ModelFileError, match="unexpected"):
        checkpoint.load(path)


@pytest.mark.parametrize("content", [b"", b"not a zip file", b"PK\x03\x04garbage"])
def test_garbage_files_are_refused(content, tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError):
        checkpoint.load(path)


def test_truncated_file_is_refused(model, tmp_path):
    path = checkpoint.save(model, tmp_path / "model.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        checkpoint.load(path)


def test_header_that_disagrees_with_arrays_is_refused(model, tmp_path):
    path = checkpoint.save(model, tmp_path / "model.npz")
    arrays = arrays_of(path)
    header = json.loads(arrays["__glassnet__"].tobytes())
    header["networks"][0]["layers"][0]["out_features"] = 6
    arrays["__glassnet__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    rewrite(path, arrays)
    with pytest.raises(ModelFileError, match="shape"):
        checkpoint.load(path)


def test_a_plain_npz_is_not_a_model(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, weights=np.zeros(3))
    with pytest.raises(ModelFileError, match="header"):
        checkpoint.load(path)


def test_missing_file_gives_a_clear_error(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        checkpoint.load(tmp_path / "nope.npz")


def test_saving_is_atomic_and_leaves_no_temp_files(model, tmp_path):
    checkpoint.save(model, tmp_path / "model.npz")
    checkpoint.save(model, tmp_path / "model.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    with zipfile.ZipFile(io.BytesIO((tmp_path / "model.npz").read_bytes())) as archive:
        assert "__glassnet__.npy" in archive.namelist()
