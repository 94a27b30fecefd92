"""Issue 23 item 5: tables read the way people export them: compressed, UTF-16/32 with a
byte-order mark, decimal commas, thousands separators, a stray cell in a number column,
infinite and huge cells, on the README's own penguins table."""

import bz2
import gzip
import json
import lzma
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

from glassnet.cli import main
from glassnet.data.tables import MAX_MAGNITUDE, read_table
from glassnet.data.tabular import load_table_data, table_splits
from glassnet.errors import DataError, DataWarning


@pytest.fixture(scope="module")
def penguins():
    import palmerpenguins  # in the test extras

    return palmerpenguins.load_penguins()


def read_quietly(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = read_table(path)
    return table, [str(w.message) for w in caught]


def assert_same_frame(frame, original):
    assert list(frame.columns) == list(original.columns)
    for name in original.columns:
        if pd.api.types.is_numeric_dtype(original[name]):
            np.testing.assert_allclose(
                frame[name].to_numpy(dtype=float), original[name].to_numpy(dtype=float)
            )
        else:
            assert frame[name].fillna("").tolist() == original[name].fillna("").tolist()


def test_penguins_saved_by_european_excel_read_as_the_original(penguins, tmp_path):
    path = tmp_path / "penguins.csv"
    penguins.to_csv(path, sep=";", decimal=",", index=False)
    assert "39,1" in path.read_text()
    table = read_table(path)
    assert table.delimiter == ";" and not table.notes
    assert_same_frame(table.frame, penguins)


def test_penguins_with_decimal_commas_train_as_well_as_the_original(penguins, tmp_path, capsys):
    """The issue's case: 0.70 (numbers dropped as text) instead of 0.97."""
    accuracies = {}
    for name, options in (("plain", {}), ("european", {"sep": ";", "decimal": ","})):
        path = tmp_path / f"{name}.csv"
        penguins.to_csv(path, index=False, **options)
        args = ["train", "--data", str(path), "--target", "species", "--epochs", "200"]
        assert main([*args, "--out", str(tmp_path / name), "--json"]) == 0
        accuracies[name] = json.loads(capsys.readouterr().out)["test_accuracy"]
    assert accuracies["european"] == accuracies["plain"] > 0.9


@pytest.mark.parametrize(
    ("suffix", "opener"),
    [(".csv.gz", gzip.open), (".csv.bz2", bz2.open), (".csv.xz", lzma.open), (".csv", gzip.open)],
)
def test_compressed_tables_are_read_by_their_first_bytes(penguins, tmp_path, suffix, opener):
    path = tmp_path / f"penguins{suffix}"
    with opener(path, "wt") as handle:
        penguins.to_csv(handle, index=False)
    table = read_table(path)
    assert table.name == "penguins"
    assert_same_frame(table.frame, penguins)


def test_a_zip_of_one_table_is_read_and_of_two_refused(penguins, tmp_path):
    renamed = tmp_path / "penguins.csv.zip"
    with zipfile.ZipFile(renamed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("penguins.csv", penguins.to_csv(index=False))
    assert_same_frame(read_table(renamed).frame, penguins)
    with zipfile.ZipFile(renamed, "a") as archive:
        archive.writestr("other.csv", "a\n1\n")
    with pytest.raises(DataError, match="zip of 2 files; it must hold one table"):
        read_table(renamed)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_a_bom_and_crlf_are_read(penguins, tmp_path, encoding):
    text = penguins.head(40).to_csv(index=False, lineterminator="\r\n")
    data = text.encode(encoding)
    if encoding.endswith(("le", "be")):  # a BOM written by hand, as Excel does
        data = "\ufeff".encode(encoding) + data
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    assert_same_frame(read_table(path).frame, penguins.head(40).reset_index(drop=True))


def test_a_damaged_gzip_is_one_data_error(penguins, tmp_path):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(penguins.to_csv(index=False).encode())[:300])
    with pytest.raises(DataError, match="damaged gzip file"):
        read_table(path)


@pytest.mark.parametrize(
    ("delimiter", "cells", "values"),
    [
        (",", ['"1,234"', '"12,345.5"', "7"], [1234.0, 12345.5, 7.0]),
        ("\t", ["1,234", "2,000", "-3,100.25"], [1234.0, 2000.0, -3100.25]),
        ("\t", ["39,1", "40,25", "-1,5"], [39.1, 40.25, -1.5]),  # consistently decimal
        (";", ["1.234,5", "2,5", "3"], [1234.5, 2.5, 3.0]),
        (";", ["1,5e3", "2", "-0,25"], [1500.0, 2.0, -0.25]),
    ],
)
def test_thousands_separators_and_decimal_commas_are_numbers(tmp_path, delimiter, cells, values):
    lines = [delimiter.join(["x", "label"])] + [delimiter.join([c, "a"]) for c in cells]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    frame = read_table(path).frame
    assert frame["x"].tolist() == pytest.approx(values)


def test_a_few_bad_cells_leave_a_number_column_with_one_warning(tmp_path):
    numbers = [f"{v:.2f}" for v in np.random.default_rng(0).normal(size=178)]
    numbers[6], numbers[40] = "abc", "\x00"
    path = tmp_path / "t.csv"
    path.write_text("x,label\n" + "".join(f"{n},a\n" for n in numbers))
    table, caught = read_quietly(path)
    assert caught == []  # read_table notes; the commands warn them once
    assert pd.api.types.is_float_dtype(table.frame["x"])
    assert table.frame["x"].isna().sum() == 2
    assert len(table.notes) == 1
    assert "2 of 178 cells are not numbers (line 8: 'abc', line 42: '\\x00')" in table.notes[0]


def test_a_text_column_stays_text(tmp_path):
    cells = ["red", "green", "1", "2", "blue"] * 5
    path = tmp_path / "t.csv"
    path.write_text("colour,y\n" + "".join(f"{c},1\n" for c in cells))
    assert read_table(path).frame["colour"].tolist() == cells


def test_infinite_and_huge_cells_are_missing_with_a_note(tmp_path):
    path = tmp_path / "t.csv"
    rows = ["1.5,1", "inf,2", "-inf,3", "1e308,4", "-1e308,5", "2.5,6"]
    path.write_text("x,y\n" + "\n".join(rows) + "\n")
    table = read_table(path)
    assert table.frame["x"].isna().tolist() == [False, True, True, True, True, False]
    assert len(table.notes) == 1 and f"beyond +-{MAX_MAGNITUDE:g}" in table.notes[0]
    assert "'x' (4)" in table.notes[0]


def test_inf_and_1e308_cells_train_and_predict_with_finite_scaling(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 2))
    labels = np.where(x[:, 0] > 0, "up", "down")
    cells = [[f"{a:.3f}", f"{b:.3f}"] for a, b in x]
    cells[3][0], cells[7][1], cells[11][0], cells[12][0] = "inf", "-inf", "1e308", "-1e308"
    path = tmp_path / "t.csv"
    path.write_text(
        "a,b,label\n" + "".join(f"{a},{b},{c}\n" for (a, b), c in zip(cells, labels, strict=True))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow anywhere
        warnings.simplefilter("ignore", DataWarning)
        data = load_table_data(path, "label")
        _, table = table_splits(data)
    assert np.all(np.isfinite(table.means)) and np.all(np.isfinite(table.scales))
    assert np.all(table.scales < 10)
    out = tmp_path / "run"
    args = ["train", "--data", str(path), "--target", "label", "--epochs", "5", "--out", str(out)]
    assert main([*args, "--quiet"]) == 0
    assert "infinite numbers" in capsys.readouterr().err
    assert main(["predict", str(out / "model.npz"), "--data", str(path), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "infinite numbers" in captured.err and "Traceback" not in captured.err
    assert len(captured.out.splitlines()) == 61


def test_a_data_npz_with_an_npy_header_edited_into_bad_python_is_a_data_error(tmp_path):
    """The model file's fuzz-found defect, in data files: NumPy's header parser raises
    tokenize.TokenError for a "#" in the header's dict."""
    from glassnet.data.sources import load_dataset

    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((100, 8)), y=np.zeros(100))
    data = bytearray(path.read_bytes())
    at = data.index(b"'descr'") + len(b"'descr'")
    data[at] = ord("#")
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="is not a readable .npz file"):
        load_dataset(str(path), "y")


@pytest.mark.parametrize("content", [b"\r\x00", b'a,b\n"x\ry,1\n', b"a\rb\x00,c\n1,2\n"])
def test_stray_carriage_returns_are_a_data_error_or_read(content, tmp_path):
    """Found by tests/fuzz: the bytes b"\\r\\x00" as a .csv were a _csv.Error traceback."""
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    try:
        read_table(path)
    except DataError:
        pass


def test_a_data_npz_declaring_a_huge_array_is_refused_before_allocating(tmp_path):
    """Found probing data files like model files: NumPy allocates an array of the declared
    shape before reading it, so a 1 KB file was a MemoryError traceback (72.8 TiB)."""
    import io
    import zipfile

    from glassnet.data.sources import load_dataset

    header = np.lib.format.header_data_from_array_1_0(np.zeros((2, 2)))
    header["shape"] = (10**7, 10**6)
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    labels = io.BytesIO()
    np.save(labels, np.zeros(3))
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", buffer.getvalue() + bytes(64))
        archive.writestr("y.npy", labels.getvalue())
    with pytest.raises(DataError, match=r"'x.npy' declares shape \(10000000, 1000000\)"):
        load_dataset(str(path), "y")


def test_a_data_npz_inflating_past_half_the_memory_is_refused(tmp_path, monkeypatch):
    from glassnet.data import sources

    path = tmp_path / "d.npz"
    np.savez_compressed(path, x=np.zeros((1000, 8)), y=np.zeros(1000))
    assert path.stat().st_size < 2000  # 72 KB of zeros, compressed
    monkeypatch.setattr(sources, "available_bytes", lambda: 100_000)
    with pytest.raises(DataError, match="more than half the memory available"):
        sources.load_dataset(str(path), "y")
    monkeypatch.setattr(sources, "available_bytes", lambda: 1_000_000)
    assert sources.load_dataset(str(path), "y").x.shape == (1000, 8)
