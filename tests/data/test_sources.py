"""Loading data by what a user types after --data: CSV, NPZ, digits, OpenML (offline fixture)."""

import numpy as np
import pytest

from glassnet import DataError
from glassnet.data.sources import load_dataset, parse_labels
from openml_fixture import tiny_mnist, write_openml_cache


def write_csv(path, text):
    path.write_text(text)
    return str(path)


def test_csv_with_string_labels_and_named_target(tmp_path):
    source = write_csv(tmp_path / "d.csv", "a,label,b\n1,cat,2.5\n3,dog,-4\n5,cat,6e1\n")
    data = load_dataset(source, "label")
    np.testing.assert_array_equal(data.x, [[1, 2.5], [3, -4], [5, 60]])
    assert data.y.tolist() == ["cat", "dog", "cat"]
    assert data.feature_names == ["a", "b"] and data.name == "d"


def test_csv_features_picked_by_name_in_the_models_order(tmp_path):
    source = write_csv(tmp_path / "d.csv", "b,extra,a\n1,9,2\n3,9,4\n")
    data = load_dataset(source, "label", features=["a", "b"], need_target=False)
    np.testing.assert_array_equal(data.x, [[2, 1], [4, 3]])
    assert data.y is None


@pytest.mark.parametrize(
    "text, message",
    [
        ("a,b,y\n1,2,0\n3,oops,1\n", "line 3, column 'b': 'oops' is not a number"),
        ("a,b,y\n1,,0\n", "line 2, column 'b' is empty"),
        ("a,b,y\n1,2\n", "line 2: 2 cells but the header has 3"),
        ("a,b,y\n", "at least one data row"),
    ],
)
def test_csv_problems_name_the_line_and_column(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        load_dataset(write_csv(tmp_path / "d.csv", text), "y")


def test_csv_empty_label_is_refused_naming_the_line(tmp_path):
    source = write_csv(tmp_path / "d.csv", "a,y\n1,cat\n2, \n3,dog\n")
    with pytest.raises(DataError, match=r"column 'y', line 3: the label is empty"):
        load_dataset(source, "y")
    # Predicting ignores a label column that was left empty.
    empty = write_csv(tmp_path / "e.csv", "a,y\n1,\n2,\n")
    assert load_dataset(empty, "y", need_target=False).y is None


def test_csv_missing_target_column_lists_the_columns(tmp_path):
    source = write_csv(tmp_path / "d.csv", "a,b\n1,2\n")
    with pytest.raises(DataError, match="no column 'species'; columns: a, b"):
        load_dataset(source, "species")
    with pytest.raises(DataError, match="--target COLUMN"):
        load_dataset(source, None)


def test_labels_are_integers_when_they_can_be():
    assert parse_labels(["1", "2", "1"]).dtype.kind == "i"
    assert parse_labels(["1.5", "2"]).dtype.kind == "f"
    assert parse_labels(["a", "2"]).tolist() == ["a", "2"]


def test_npz_images_are_flattened_and_keep_their_shape(tmp_path):
    path = tmp_path / "images.npz"
    np.savez(path, x=np.arange(24.0).reshape(6, 2, 2), labels=np.array([0, 1] * 3))
    data = load_dataset(str(path), "labels")
    assert data.x.shape == (6, 4) and data.image_shape == (2, 2)
    with pytest.raises(DataError, match="no labels array 'y'"):
        load_dataset(str(path))


def test_npz_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, x=np.array([{"a": 1}], dtype=object), y=np.array([0]))
    with pytest.raises(DataError, match="not a readable .npz"):
        load_dataset(str(path))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "npy", "zip version"])
def test_corrupt_npz_is_a_data_error_naming_the_file(tmp_path, damage):
    path = tmp_path / "d.npz"
    if damage == "zip version":  # found by the fuzz test: zipfile's NotImplementedError
        np.savez(path, x=np.ones((3, 2)), y=np.arange(3))
        data = bytearray(path.read_bytes())
        data[data.index(b"PK\x01\x02") + 6] = 64  # "version needed to extract": 6.4
        path.write_bytes(bytes(data))
    elif damage == "garbage":
        path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)  # a zip header and nothing valid
    elif damage == "truncated":
        np.savez_compressed(path, x=np.random.default_rng(0).normal(size=(200, 8)), y=np.zeros(200))
        path.write_bytes(path.read_bytes()[:-300])
    else:
        with open(path, "wb") as handle:
            np.save(handle, np.zeros((3, 2)))  # a single .npy array under an .npz name
    with pytest.raises(DataError, match=r"d\.npz is not a readable \.npz file"):
        load_dataset(str(path))


def test_missing_file_unknown_type_and_bad_image_shape(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(str(tmp_path / "nope.csv"), "y")
    other = tmp_path / "table.xlsx"
    other.write_text("1,2\n")
    with pytest.raises(DataError, match="use a .csv, .tsv, .txt, .parquet or .npz"):
        load_dataset(str(other), "y")
    with pytest.raises(DataError, match="holds 8x8x1 images .* but 3x3x1 ones are wanted"):
        load_dataset("digits", image_shape=(3, 3))


def test_openml_by_name_through_fetch_openml_then_from_glassnets_cache(tmp_path):
    x, y = tiny_mnist()
    home = write_openml_cache(tmp_path / "home", "mnist_784", x, y)
    first = load_dataset("mnist_784", data_home=home)
    np.testing.assert_array_equal(first.x, x)
    np.testing.assert_array_equal(first.y, y)
    assert first.image_shape == (28, 28) and first.feature_names[0] == "pixel1"
    cache = home / "glassnet" / "openml" / "mnist_784.npz"
    with np.load(cache) as archive:
        assert archive["x"].dtype == np.uint8  # pixels stored compactly
    second = load_dataset("openml:mnist_784", data_home=home)
    np.testing.assert_array_equal(second.x, x)
    assert second.image_shape == (28, 28) and second.name == "mnist_784"
