"""Large tables in little memory (issue 24): a large text table is read in chunks into columns
made once, the preprocessing's statistics are computed a column at a time, the split picks
rows by position and fills the inputs once in the training dtype, and validation is scored
in chunks. Each path is tested on a small table with its size threshold lowered, against
the path small tables take (which stays as it was)."""

import gzip
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from glassnet import mlp
from glassnet.data import preprocessing, tables
from glassnet.data.datasets import stratified_cut
from glassnet.data.preprocessing import TablePreprocessor
from glassnet.data.tables import read_table
from glassnet.data.tabular import load_table_data, table_splits
from glassnet.errors import DataError
from glassnet.nn.losses import MeanSquaredError, SoftmaxCrossEntropy
from glassnet.training import loop


@pytest.fixture
def chunked(monkeypatch):
    """Every text table read in chunks of a few rows, into columns in memory maps."""
    monkeypatch.setattr(tables, "CHUNKED_BYTES", 0)
    monkeypatch.setattr(tables, "CHUNK_BYTES", 40)
    monkeypatch.setattr(tables, "MAPPED_BYTES", 0)


def numbers_then(tail_cells, rows=60):
    """A column of numbers whose last rows hold ``tail_cells``, beside two plain columns."""
    lines = ["a,b,c"] + [f"{i},{i * 0.5},{'x' if i % 3 else 'y'}" for i in range(rows)]
    lines += [f"{i},{cell},z" for i, cell in enumerate(tail_cells)]
    return "\n".join(lines) + "\n"


TEXTS = {
    "numbers": "a,b\n" + "".join(f"{i},{i / 7:.4f}\n" for i in range(50)),
    "whole numbers, then fractions": numbers_then(["1.5", "2.25"]),
    "whole numbers, then missing cells": numbers_then(["", "NA"]),
    "numbers, then words": numbers_then(["abc", "4"]),
    "text empty at first": "a,t\n" + "".join(f"{i},\n" for i in range(30)) + "1,red\n2,blue\n",
    "booleans, then missing": "a,f\n" + "".join(f"{i},True\n" for i in range(30)) + "1,\n",
    "decimal commas": "a;b\n" + "".join(f"{i};{i},5\n" for i in range(40)),
    "quoted newlines": 'a,note\n1,"two\nlines"\n' + "".join(f'{i},"x{i}"\n' for i in range(40)),
    "windows line ends": "a,b\r\n" + "".join(f"{i},{i}.5\r\n" for i in range(40)),
    "old mac line ends": "a,b\r" + "".join(f"{i},{i}.5\r" for i in range(40)),
    "blank lines": "a,b\n" + "".join(f"{i},{i}\n\n" for i in range(40)),
    "two columns of numbers, then words": "a,b,c\n"
    + "".join(f"{i},{i / 2},{i}\n" for i in range(40))
    + "x,y,1\n",
    "a lone carriage return in a file of line feeds": "a,b\n"
    + "".join(f"{i},{i}.5\n" for i in range(40))
    + "1,2\r3,4\n",
}


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_a_table_read_in_chunks_is_the_table_read_whole(tmp_path, monkeypatch, name):
    path = tmp_path / "t.csv"
    path.write_text(TEXTS[name], newline="")
    whole = read_table(path)
    monkeypatch.setattr(tables, "CHUNKED_BYTES", 0)
    monkeypatch.setattr(tables, "CHUNK_BYTES", 40)
    monkeypatch.setattr(tables, "MAPPED_BYTES", 0)  # every number column in a map of its own
    calls = []
    monkeypatch.setattr(tables._Columns, "add", spy(tables._Columns.add, calls))
    in_chunks = read_table(path)
    assert len(calls) > 3  # it was read in chunks
    pd.testing.assert_frame_equal(in_chunks.frame, whole.frame)
    assert in_chunks.notes == whole.notes


def spy(function, calls):
    def called(*args, **kwargs):
        calls.append(args)
        return function(*args, **kwargs)

    return called


def test_compressed_and_utf16_tables_read_in_chunks_as_whole(tmp_path, monkeypatch):
    text = TEXTS["whole numbers, then missing cells"]
    gz, utf16 = tmp_path / "t.csv.gz", tmp_path / "u.csv"
    gz.write_bytes(gzip.compress(text.encode()))
    utf16.write_bytes(text.encode("utf-16"))
    wholes = [read_table(path).frame for path in (gz, utf16)]
    monkeypatch.setattr(tables, "CHUNKED_BYTES", 0)
    monkeypatch.setattr(tables, "CHUNK_BYTES", 40)
    monkeypatch.setattr(tables, "MAPPED_BYTES", 0)
    for path, whole in zip((gz, utf16), wholes, strict=True):
        pd.testing.assert_frame_equal(read_table(path).frame, whole)


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [("1,2,3,4", "line 43: 4 cells but the header has 3"), ("1,2", "line 43: 2 cells")],
)
def test_a_bad_row_in_a_later_chunk_is_named_by_its_line(tmp_path, chunked, bad_line, message):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n" + "".join(f"{i},{i},{i}\n" for i in range(41)) + bad_line + "\n")
    with pytest.raises(DataError, match=message):
        read_table(path)


def test_a_later_byte_that_is_not_utf8_falls_back_to_windows_1252(tmp_path, chunked):
    path = tmp_path / "t.csv"
    path.write_bytes(("city,n\n" + "Paris,1\n" * 60).encode() + "Zürich,2\n".encode("cp1252"))
    table = read_table(path)
    assert table.frame["city"].iloc[-1] == "Zürich"
    assert table.notes == ["t.csv is not UTF-8; read it as cp1252"]


def messy_frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.normal(10, 3, n),
            "z": rng.integers(0, 4, n).astype(float),
            "empty": np.full(n, np.nan),
            "const": np.full(n, 2.5),
            "when": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 10**8, n), "s"),
            "colour": rng.choice(["red", "green", "blue"], n).astype(object),
            "code": rng.choice([f"c{i}" for i in range(70)], n).astype(object),
            "ok": rng.choice([True, False], n),
        }
    )
    frame.loc[[1, 5, 9], "x"] = np.nan
    frame.loc[3, "colour"] = None
    return frame


ROLES = {
    "x": "numeric",
    "z": "numeric",
    "empty": "numeric",
    "const": "numeric",
    "when": "datetime",
    "colour": "categorical",
    "code": "categorical",
    "ok": "boolean",
}


def test_statistics_a_column_at_a_time_are_scikit_learns(monkeypatch):
    frame = messy_frame()
    rows = np.random.default_rng(1).permutation(len(frame))[:300]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn on the empty column
        reference = TablePreprocessor.fit(frame, ROLES, rows=rows)
    monkeypatch.setattr(preprocessing, "COLUMNWISE_ROWS", 0)
    monkeypatch.setattr(
        "sklearn.compose.ColumnTransformer.fit", lambda *a, **k: pytest.fail("scikit-learn fit")
    )
    ours = TablePreprocessor.fit(frame, ROLES, rows=rows)
    assert ours.to_dict() == reference.to_dict()
    np.testing.assert_array_equal(ours.medians, reference.medians)
    np.testing.assert_allclose(ours.means, reference.means, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours.scales, reference.scales, rtol=1e-12)
    assert ours.scales[ours.numeric.index("const")] == 1.0  # a constant keeps scale 1
    np.testing.assert_allclose(
        ours.transform(frame, rows=rows[:50]),
        reference.transform(frame.iloc[rows[:50]]),
        rtol=1e-12,
        atol=1e-12,
    )


def test_rows_picked_by_position_and_a_dtype_give_the_rows_preprocessed():
    frame = messy_frame()
    table = TablePreprocessor.fit(frame, ROLES)
    rows = np.array([7, 3, 3, 0, 399])
    picked = table.transform(frame, rows=rows, dtype=np.float32)
    assert picked.dtype == np.float32
    np.testing.assert_array_equal(picked, table.transform(frame.iloc[rows]).astype(np.float32))


def test_a_large_split_copies_no_part_of_the_table_and_fills_float32_once():
    """Past COLUMNWISE_ROWS the split's peak (tracemalloc: NumPy's allocations) stays near the
    table's own size (0.93x here; 21.6x before): copying the rows of each part, scikit-learn's
    copies, or float64 inputs cast later would each go past 1.2x."""
    n = 40_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(n, 10)), columns=[f"x{i}" for i in range(10)])
    frame["y"] = frame.sum(axis=1) + rng.normal(size=n)
    data = load_table_data(frame, "y")
    tracemalloc.start()
    splits, table = table_splits(data, dtype=lambda rows, width: "float32")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert splits.train.x.dtype == np.float32 and splits.sizes()["train"] == 24_000
    assert peak < 1.2 * frame.memory_usage().sum()
    expected = table.transform(frame.iloc[np.sort(splits.test.rows)], dtype=np.float32)
    np.testing.assert_array_equal(splits.test.x[np.argsort(splits.test.rows)], expected)


def test_a_large_table_trains_on_float32_inputs_made_once(monkeypatch):
    """With the sizes lowered, the workflow reads a table past the large-table size into
    float32 inputs (the recipe's dtype there) and trains; a small one keeps float64."""
    import glassnet
    from glassnet.training import table_recipe

    frame = messy_frame(300).drop(columns=["empty", "const", "code"])
    frame["target"] = np.random.default_rng(2).normal(size=300)
    small = glassnet.workflow.prepare(frame, "target", progress=False)
    assert small.inputs.splits.train.x.dtype == np.float64
    monkeypatch.setattr(table_recipe, "SMALL_TABLE", 100)
    monkeypatch.setattr(preprocessing, "COLUMNWISE_ROWS", 100)
    job = glassnet.workflow.prepare(frame, "target", progress=False, epochs=2)
    assert job.preset.train.dtype == "float32"
    assert job.inputs.splits.train.x.dtype == np.float32
    assert job.inputs.splits.test.x.dtype == np.float32
    assert np.isfinite(job.run().metrics["test_r2"])


@pytest.mark.parametrize("loss", [SoftmaxCrossEntropy(), MeanSquaredError()])
def test_validation_scored_in_chunks_is_scored_whole(monkeypatch, loss):
    rng = np.random.default_rng(0)
    net = mlp([5, 8, 3], rng=rng)
    x = rng.normal(size=(101, 5))
    y = rng.integers(0, 3, 101) if isinstance(loss, SoftmaxCrossEntropy) else rng.normal(size=101)
    net = net if isinstance(loss, SoftmaxCrossEntropy) else mlp([5, 8, 1], rng=rng)
    whole = loop.evaluate(net, loss, x, y)
    monkeypatch.setattr(loop, "EVALUATE_ROWS", 10)
    in_chunks = loop.evaluate(net, loss, x, y)
    assert in_chunks[0] == pytest.approx(whole[0], rel=1e-12)
    assert in_chunks[1] == whole[1]


@pytest.mark.parametrize("n", [3, 10, 101, 1000])
@pytest.mark.parametrize("size", [0.2, 0.25, 0.5])
def test_the_unstratified_cut_is_train_test_splits(n, size):
    rng = np.random.default_rng(n)
    rows, y = rng.permutation(3 * n)[:n], rng.normal(size=3 * n)  # every value once
    for state in (0, 7):
        ours = stratified_cut(rows, y, size, state, name="t", n_rows=n)
        theirs = train_test_split(rows, test_size=size, random_state=state)
        for mine, reference in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(mine, reference)


def test_a_released_table_gives_the_same_splits_and_its_columns_go(monkeypatch):
    monkeypatch.setattr(preprocessing, "COLUMNWISE_ROWS", 100)
    frame = messy_frame(400).drop(columns=["empty", "const", "code"])
    frame["target"] = np.random.default_rng(3).normal(size=400)
    kept, _ = table_splits(load_table_data(frame, "target"), dtype=lambda rows, width: "float32")
    data = load_table_data(frame, "target")
    used = [info.name for info in data.columns if info.used]
    released, _ = table_splits(data, dtype=lambda rows, width: "float32", release=True)
    for part in ("train", "validation", "test"):
        ours, theirs = getattr(released, part), getattr(kept, part)
        assert ours.x.flags.c_contiguous and ours.x.dtype == np.float32
        np.testing.assert_array_equal(ours.x, theirs.x)
        np.testing.assert_array_equal(ours.rows, theirs.rows)
    assert len(used) == 5 and list(data.frame.columns) == ["target"]  # the used ones went
    assert list(frame.columns) == [*used, "target"]  # the caller's frame is untouched


def test_every_mixed_column_is_read_again_in_one_pass(tmp_path, chunked, monkeypatch):
    """Columns whose chunks disagree (numbers, then words) are read again on their own: all
    of them in one more pass over the file, not one pass each."""
    import pandas

    path = tmp_path / "t.csv"
    path.write_text(TEXTS["two columns of numbers, then words"])
    reads = []
    monkeypatch.setattr(pandas, "read_csv", spy(pandas.read_csv, reads))
    read_table(path)  # its frame is the whole read's: test_a_table_read_in_chunks_is_...
    assert len(reads) == 2  # the chunks, then both mixed columns together


def test_old_mac_line_ends_are_read_in_chunks_of_the_same_size():
    lines = "".join(f"{i},{i}.5,text\n" for i in range(200))
    assert tables._chunk_rows(lines.replace("\n", "\r")) == tables._chunk_rows(lines) > 1
