"""Reading table files: delimiters, encodings, NA tokens, suffixes and refused files."""

import sys

import numpy as np
import pandas as pd
import pytest

from glassnet.data.tables import NA_TOKENS, is_table, read_table, short_row, sniff_delimiter
from glassnet.errors import DataError

ROWS = [["Adelie", "3,5", "39.1"], ["Gentoo", "4,0", "47.5"], ["Chinstrap", "3,8", "NA"]]


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_sniffed_and_quoted_cells_keep_theirs(tmp_path, delimiter):
    lines = [delimiter.join(["species", "note", "bill"])]
    lines += [delimiter.join([a, f'"{b}"', c]) for a, b, c in ROWS]
    table = read_table(write(tmp_path / "t.csv", "\n".join(lines) + "\n"))
    assert table.delimiter == delimiter
    assert list(table.frame.columns) == ["species", "note", "bill"]
    # The quoted cells kept their comma, which is a decimal comma (issue 23).
    assert table.frame["note"].tolist() == [3.5, 4.0, 3.8]
    assert table.frame["bill"].tolist()[:2] == [39.1, 47.5] and np.isnan(table.frame["bill"][2])


def test_tsv_and_txt_suffixes_are_read(tmp_path):
    text = "a\tb\n1\t2\n3\t4\n"
    assert read_table(write(tmp_path / "t.tsv", text)).frame["b"].tolist() == [2, 4]
    assert read_table(write(tmp_path / "t.txt", text)).frame["a"].tolist() == [1, 3]


def test_a_single_column_file_is_read_with_the_comma_default():
    assert sniff_delimiter("value\n1\n2\n") == ","


def test_utf8_with_a_bom_gives_a_clean_first_name(tmp_path):
    table = read_table(write(tmp_path / "t.csv", "name,x\nZoë,1\n", "utf-8-sig"))
    assert list(table.frame.columns) == ["name", "x"] and table.notes == []
    assert table.frame["name"][0] == "Zoë"


def test_windows_1252_falls_back_and_says_so(tmp_path):
    table = read_table(
        write(tmp_path / "t.csv", "city;price\nZürich;5 €\nSão Paulo;3 €\n", "cp1252")
    )
    assert table.frame["city"].tolist() == ["Zürich", "São Paulo"]
    assert table.frame["price"][0] == "5 €"
    assert table.notes == ["t.csv is not UTF-8; read it as cp1252"]


def test_bytes_that_are_not_windows_1252_are_read_as_latin_1(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"name,x\nab\x81c,1\n")  # 0x81 is undefined in Windows-1252
    table = read_table(path)
    assert table.encoding == "latin-1" and table.frame["name"][0] == "ab\x81c"


def test_an_encoding_problem_past_the_sniffed_sample_is_still_handled(tmp_path):
    body = "".join(f"plain,{i}\n" for i in range(20000))  # > 64 KiB of ASCII first
    table = read_table(write(tmp_path / "t.csv", "name,x\n" + body + "café,1\n", "cp1252"))
    assert table.frame["name"].iloc[-1] == "café" and table.encoding == "cp1252"


def test_every_missing_value_token_is_nan_and_nothing_else_is(tmp_path):
    cells = [*dict.fromkeys(NA_TOKENS), "None", "-", "0"]
    lines = ["x,y"] + [f"{cell},1" for cell in cells]
    frame = read_table(write(tmp_path / "t.csv", "\n".join(lines) + "\n")).frame
    missing = frame["x"].isna().tolist()
    assert missing == [True] * len(dict.fromkeys(NA_TOKENS)) + [False, False, False]


def test_repeated_column_names_are_refused_by_name(tmp_path):
    with pytest.raises(DataError, match=r"\['a', 'b'\] appear more than once"):
        read_table(write(tmp_path / "t.csv", "a,b,a,b,c\n1,2,3,4,5\n"))


def test_a_column_name_holding_a_nul_is_refused_in_a_file_and_a_dataframe(tmp_path):
    """Found by the fuzz test: a header cell "\\x00" became '' inside NumPy's text arrays and
    training ended in a KeyError traceback."""
    from glassnet.data.tables import frame_table

    for header in ("a,\x00,label", "a,x\x00y,label"):
        path = write(tmp_path / "t.csv", header + "\n1,red,yes\n2,blue,no\n")
        with pytest.raises(DataError, match=r"column\(s\) \[2\] .* NUL character"):
            read_table(path)
    with pytest.raises(DataError, match="NUL character"):
        frame_table(pd.DataFrame({"\x00": [1, 2]}))


def test_a_pandas_index_column_keeps_its_unnamed_name(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": [1, 2], "y": ["a", "b"]}).to_csv(path)
    assert list(read_table(path).frame.columns) == ["Unnamed: 0", "x", "y"]


@pytest.mark.parametrize(
    "text, line, cells",
    [
        ("a,b,c\n1,2,3\n4,5\n7,8,9\n", 3, 2),
        ("a,b,c\n1,2,3\n4,5,6,7\n", 3, 4),
        ('a,b,c\n1,2,3\n"4",5\n', 3, 2),  # quotes: pandas pads it; the column check finds it
    ],
)
def test_a_row_with_too_few_or_too_many_cells_is_refused_with_its_line(tmp_path, text, line, cells):
    with pytest.raises(DataError, match=f"line {line}: {cells} cells but the header has 3"):
        read_table(write(tmp_path / "t.csv", text))


def test_a_first_row_with_a_cell_too_many_is_refused(tmp_path):
    with pytest.raises(DataError, match="line 2: more cells than the header's 3 columns"):
        read_table(write(tmp_path / "t.csv", "a,b,c\n1,2,3,4\n5,6,7\n"))


def test_row_lengths_are_counted_across_chunks_and_blank_lines(tmp_path):
    rows = ["a,b,c"] + [f"{i},{i},{i}" for i in range(200_000)]
    rows[150_001] = ""  # blank lines are skipped, by pandas too
    path = write(tmp_path / "t.csv", "\r\n".join(rows) + "\r\n")
    assert short_row(path, ",", 3) is None
    rows[180_001] = "1,2"
    assert short_row(write(path, "\n".join(rows)), ",", 3) == (180_002, 2)


@pytest.mark.parametrize(
    "text, words",
    [("", "is empty"), ("a,b\n", "at least one data row"), ('a,b\n"1,2\n', "well-formed")],
)
def test_unusable_text_files_are_data_errors(tmp_path, text, words):
    with pytest.raises(DataError, match=words):
        read_table(write(tmp_path / "t.csv", text))


def test_unknown_suffixes_and_missing_files_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="as a table: use a .csv, .tsv, .txt, .parquet file"):
        read_table(write(tmp_path / "t.xlsx", "a\n1\n"))
    with pytest.raises(DataError, match="does not exist"):
        read_table(tmp_path / "none.csv")


def test_parquet_is_read_through_pyarrow(tmp_path):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"x": [1.5, None], "when": pd.to_datetime(["2020-01-01", "2021-06-30"])})
    frame.to_parquet(tmp_path / "t.parquet")
    read = read_table(tmp_path / "t.parquet").frame
    pd.testing.assert_frame_equal(read, frame)


def test_parquet_without_pyarrow_says_how_to_install_it(tmp_path, monkeypatch):
    (tmp_path / "t.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` fail
    with pytest.raises(DataError, match=r"needs pyarrow: pip install 'glassnet\[parquet\]'"):
        read_table(tmp_path / "t.parquet")


def test_a_table_file_is_a_table_unless_its_rows_are_images():
    assert all(is_table(name) for name in ("a.csv", "b.TSV", "c.txt", "d.parquet", "p.csv.gz"))
    assert not any(is_table(name) for name in ("a.npz", "digits", "mnist_784", "p.npz.gz"))
    assert not is_table("pixels.csv", [6, 6, 3])
    assert not is_table("pixels.parquet", (28, 28))
    assert is_table("a.csv", None)
