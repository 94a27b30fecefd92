"""Reading a table file with pandas: ``.csv``/``.tsv``/``.txt`` (delimiter sniffed, encoding
detected) or ``.parquet`` (needs pyarrow), the way people export them.

Text tables may be compressed (gzip, bz2, xz or a one-file zip: told by their first bytes,
whatever the name) and in UTF-8, UTF-16 or UTF-32 with a byte-order mark, Windows-1252 or
Latin-1. A text column whose cells are numbers written with decimal commas (``39,1``, the
usual reading when the delimiter is ``;``) or thousands separators (``1,234``) is read as
numbers, and so is a number column with a few cells that are not numbers (those become
missing, with one warning per column). Infinite cells, and numbers too large to scale
(beyond ``MAX_MAGNITUDE``), are missing too, with a warning.

``read_table(path)`` returns a ``Table``: the ``pandas.DataFrame`` with every recognised
missing-value token as NaN, plus one-line ``notes`` for what the user should know (an
encoding fallback, cells read as missing). Anything that makes the file unusable is a
``DataError``.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import mmap
import re
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.data.preprocessing import warn
from glassnet.errors import DataError
from glassnet.paths import regular_file

if TYPE_CHECKING:
    import pandas as pd

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
TABLE_SUFFIXES = (*TEXT_SUFFIXES, ".parquet")
# Cells that mean "no value" (issue 13); nothing else is, so "None" or "-" stay text.
NA_TOKENS = ["", "NA", "N/A", "n/a", "na", "nan", "NaN", "NAN", "null", "NULL", "Null", "?"]
DELIMITERS = (",", ";", "\t", "|")
# Bytes read to sniff the delimiter and parse the header; enough for many lines of a wide file.
SAMPLE_BYTES = 1 << 16
# Tried in order. UTF-8 (with or without a BOM) first; Windows-1252 is what Excel writes on
# Western Windows; Latin-1 decodes any byte, so the last try cannot fail.
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
# Compressed tables, told by their first bytes (the name may say .csv.gz, or just .csv).
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zip", ".xz")
MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip"}
# Byte-order marks of the encodings recognised only by them (UTF-32 before UTF-16: FF FE
# begins both).
BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
# A compressed or UTF-16/32 table is decoded in memory, up to this many bytes.
MAX_DECODED_BYTES = 1 << 31
# A text table of more bytes than this is parsed in chunks of about CHUNK_BYTES of text, each
# chunk's columns copied into columns made once for all the rows (``_Columns``): pandas alone
# holds a large table about twice while reading it (issue 24: a 148 MiB CSV peaked at 428 MiB
# read, 285 MiB held after; in chunks, 299). Smaller tables are read in one call, as always.
CHUNKED_BYTES = 1 << 24
CHUNK_BYTES = 1 << 23
# A number column of at least this many bytes gets memory of its own (``column_array``).
MAPPED_BYTES = 1 << 20
# Numbers beyond this size cannot be scaled (their squares overflow float64 when summed):
# such cells, like infinite ones, are read as missing.
MAX_MAGNITUDE = 1e100
# A text column is read as numbers when at most this share of its cells are not numbers
# (and at least MIN_NUMBERS are); those cells become missing.
MAX_BAD_SHARE = 0.05
MIN_NUMBERS = 10
# Numbers as Europe writes them (39,1 and 1.234,5) and with thousands commas (1,234.5).
DECIMAL_COMMA = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?([eE][+-]?\d+)?$")
THOUSANDS_COMMA = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d*)?([eE][+-]?\d+)?$")


def is_table(source: object, image_shape: object = None) -> bool:
    """True when ``source`` is read as a table: a table file name (.csv, .tsv, .txt, .parquet)
    given without an ``image_shape`` (a file of pixel rows with one is images). The one place
    this is decided, so the recipe, the default scaling and the loader agree."""
    return not image_shape and table_suffix(source) in TABLE_SUFFIXES


def table_suffix(source: object) -> str:
    """The suffix that says what a file holds, lower-cased, a compression suffix skipped:
    ``.csv`` for ``data.CSV.gz``."""
    path = Path(str(source))
    if path.suffix.lower() in COMPRESSION_SUFFIXES:
        path = path.with_suffix("")
    return path.suffix.lower()


@dataclass
class Table:
    """A file's rows as a DataFrame, how it was read, and what the user should be told."""

    frame: pd.DataFrame
    name: str
    delimiter: str | None = None
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)


def read_table(path: str | Path) -> Table:
    """The table in ``path`` (``.csv``, ``.tsv``, ``.txt`` or ``.parquet``) as a ``Table``."""
    path = regular_file(path, "data file", DataError)
    suffix = table_suffix(path)
    if suffix == ".parquet":
        table = Table(_read_parquet(path), path.stem)
        table.notes += numbers_only(table.frame, path.name)
    elif suffix in TEXT_SUFFIXES:
        table = _read_text(path)
    else:
        raise DataError(
            f"cannot read {str(path)!r} as a table: use a {', '.join(TABLE_SUFFIXES)} file "
            f"(text tables may be compressed: {', '.join(COMPRESSION_SUFFIXES)})"
        )
    check_columns(table.frame, str(path))
    return table


def with_text_names(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its column names as text (``0`` -> ``"0"``), as a file's header gives
    them; the caller's frame is left as it was (a shallow copy when a name changes)."""
    if all(isinstance(name, str) for name in frame.columns):
        return frame
    frame = frame.copy(deep=False)
    frame.columns = [str(name) for name in frame.columns]
    return frame


def frame_table(frame: pd.DataFrame) -> Table:
    """A DataFrame given in Python as a ``Table``, its column names as text and checked as a
    file's are; the caller's frame is left as it was."""
    frame = with_text_names(frame.copy(deep=False))
    check_columns(frame, "the DataFrame")
    return Table(frame, "DataFrame")


def _open(source: Path | bytes) -> io.BufferedIOBase:
    """A binary stream of a file, or of text already decoded into memory."""
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115


def _plain_bytes(path: Path) -> bytes | None:
    """None for a plain file in a byte-oriented encoding (read from disk as it is); else its
    text decompressed and, from UTF-16/32, re-encoded as UTF-8, in memory."""
    with open(path, "rb") as handle:
        start = handle.read(8)
    kind = next((kind for magic, kind in MAGIC.items() if start.startswith(magic)), None)
    if kind is None and not any(start.startswith(bom) for bom, _ in BOMS):
        return None
    try:
        data = _decompressed(path, kind) if kind else path.read_bytes()
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError, ValueError) as exc:
        raise DataError(f"{path} is a damaged {kind} file ({_first_line(exc)})") from None
    encoding = next((name for bom, name in BOMS if data.startswith(bom)), None)
    if encoding is None:
        return data
    try:
        return data.decode(encoding).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} starts as {encoding} but is not ({exc.reason})") from None


def _decompressed(path: Path, kind: str) -> bytes:
    """A compressed file's content, refused past ``MAX_DECODED_BYTES`` (a zip holds one file)."""
    if kind == "zip":
        with zipfile.ZipFile(path) as archive:
            files = [
                i for i in archive.infolist() if not i.is_dir() and "__MACOSX" not in i.filename
            ]
            if len(files) != 1:
                raise DataError(f"{path} is a zip of {len(files)} files; it must hold one table")
            with archive.open(files[0]) as member:
                data = member.read(MAX_DECODED_BYTES + 1)
    else:
        module = {"gzip": gzip, "bz2": bz2, "xz": lzma}[kind]
        with module.open(path, "rb") as member:  # type: ignore[attr-defined]
            data = member.read(MAX_DECODED_BYTES + 1)
    if len(data) > MAX_DECODED_BYTES:
        raise DataError(f"{path} decompresses to more than {MAX_DECODED_BYTES:,} bytes; refusing")
    return data


def read_labelled_table(
    source: str | Path | pd.DataFrame, target: str | None, *, need_target: bool = True
) -> tuple[Table, list[str], str | None]:
    """``read_table(source)`` (or a DataFrame's ``frame_table``) with its notes (an encoding
    fallback) given as warnings, its column names, and ``target`` checked: a DataError naming
    the columns when the label column is needed but not given or not there (with the
    nearest name when one is close); None for it when it may be absent and is."""
    table = read_table(source) if isinstance(source, (str, Path)) else frame_table(source)
    source = source if isinstance(source, (str, Path)) else table.name
    for note in table.notes:
        warn(note)
    names = [str(name) for name in table.frame.columns]
    if target is None and need_target:
        raise DataError(
            f"{source}: say which column holds the labels with --target COLUMN "
            f"(columns: {', '.join(names)})"
        )
    if target is not None and target not in names:
        if need_target:
            raise DataError(
                f"{source} has no column {target!r}{did_you_mean(target, names)}; "
                f"columns: {', '.join(names)}"
            )
        target = None
    return table, names, target


def _read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise DataError(
            f"reading {path.name} needs pyarrow: pip install 'glassnet[parquet]' "
            "(or save the table as .csv)"
        ) from None
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is not a readable Parquet file ({exc})") from None


def _read_text(path: Path) -> Table:
    import pandas as pd

    decoded = _plain_bytes(path)
    source: Path | bytes = path if decoded is None else decoded
    with _open(source) as handle:
        raw = handle.read(SAMPLE_BYTES)
    if not raw.strip():
        raise DataError(f"{path} is empty; it needs a header row and at least one data row")
    encoding, sample = _sample_encoding(path, raw)
    try:
        delimiter = "\t" if table_suffix(path) == ".tsv" else sniff_delimiter(sample)
        header = next(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter), [])
    except csv.Error as exc:  # a lone carriage return in a field, found by fuzzing
        raise DataError(f"{path} is not a well-formed table ({exc})") from None
    names = [name.strip() for name in header]
    repeated = sorted(name for name, count in Counter(names).items() if count > 1 and name)
    if repeated:
        raise DataError(
            f"{path}: column name(s) {repeated} appear more than once; rename them so "
            "each column has its own name"
        )
    notes = []
    size = len(source) if isinstance(source, bytes) else path.stat().st_size
    chunk_rows = None if size <= CHUNKED_BYTES else _chunk_rows(sample)
    for attempt in ENCODINGS[ENCODINGS.index(encoding) :]:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                frame = _parsed(source, delimiter, attempt, chunk_rows)
        except UnicodeDecodeError:
            continue  # bytes past the sample were not in this encoding: try the next one
        except pd.errors.EmptyDataError:
            raise DataError(
                f"{path} has no header row; the first line must name the columns"
            ) from None
        except pd.errors.ParserError as exc:
            found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
            if found:
                raise DataError(
                    f"{path}, line {found[2]}: {found[3]} cells but the header has {found[1]} "
                    "columns; fix that row"
                ) from None
            raise DataError(f"{path} is not a well-formed table ({_first_line(exc)})") from None
        break
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise DataError(
            f"{path}, line 2: more cells than the header's {len(header)} columns; fix that row"
        )
    # A short row comes out of pandas with missing trailing cells; only then is it looked for.
    if len(frame.columns) and frame.iloc[:, -1].isna().any():
        short = short_row(source, delimiter, len(header), attempt)
        if short is not None:
            raise DataError(
                f"{path}, line {short[0]}: {short[1]} cells but the header has {len(header)} "
                "columns; fix that row (a missing cell is written as an empty field)"
            )
    if attempt != "utf-8-sig":
        notes.append(f"{path.name} is not UTF-8; read it as {attempt}")
    frame.columns = [str(name).strip() for name in frame.columns]
    if len(frame) == 0:
        raise DataError(f"{path} has a header but no rows; it needs at least one data row")
    notes += read_numbers(frame, delimiter, path.name)
    notes += numbers_only(frame, path.name)
    stem = path.stem if decoded is None else Path(path.stem).stem
    return Table(frame, stem, delimiter, attempt, notes)


def _parsed(
    source: Path | bytes, delimiter: str, encoding: str, chunk_rows: int | None
) -> pd.DataFrame:
    """pandas' reading of a text table; with ``chunk_rows``, that many rows at a time, each
    chunk's columns gathered by ``_Columns``."""
    import pandas as pd

    options: dict[str, Any] = {
        "sep": delimiter,
        "encoding": encoding,
        "na_values": NA_TOKENS,
        "keep_default_na": False,
        "skip_blank_lines": True,
        "index_col": False,  # a row with one cell too many is an error, not an index
    }

    def read(**more: Any) -> Any:
        with _open(source) as handle:
            return pd.read_csv(handle, **options, **more)

    if chunk_rows is None:
        return read()
    columns = _Columns(_line_count(source))
    with _open(source) as handle, pd.read_csv(handle, chunksize=chunk_rows, **options) as chunks:
        for chunk in chunks:
            columns.add(chunk)
    if columns.names is None:  # a header and blank lines: nothing to gather
        return read()
    return columns.frame(lambda indexes: read(usecols=indexes))


class _Columns:
    """A table's columns gathered from chunks of its rows (pandas DataFrames, in order), each
    as reading the whole table at once makes it.

    A column whose chunks all come with one NumPy dtype (or whole numbers, then fractions:
    float64) is copied into an array made for ``capacity`` rows (the file's lines: at least
    its rows) as the chunks come, so the table is held once, not once in chunks and again
    joined; a column of another dtype (text) keeps its chunks, joined at the end. A column
    whose chunks disagree otherwise (numbers, then words) is read again on its own
    (``frame``'s ``read_column``), as pandas types it seeing all its cells."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.rows = capacity, 0
        self.names: list[str] | None = None
        self.arrays: dict[str, np.ndarray] = {}
        self.pieces: dict[str, list[Any]] = {}
        self.mixed: set[str] = set()

    def add(self, chunk: pd.DataFrame) -> None:
        if self.names is None:
            self.names = [str(name) for name in chunk.columns]
            self._make_arrays(chunk)
        start, stop = self.rows, self.rows + len(chunk)
        for name, (_, cells) in zip(self.names, chunk.items(), strict=True):
            if name in self.mixed:
                continue
            array = self.arrays.get(name)
            fits = array is not None and stop <= self.capacity
            if fits and cells.dtype == array.dtype:  # type: ignore[union-attr]
                array[start:stop] = cells.to_numpy()  # type: ignore[index]
            elif fits and {cells.dtype.kind, array.dtype.kind} == {"i", "f"}:  # type: ignore[union-attr]
                if array.dtype.kind == "i":  # type: ignore[union-attr]
                    floats = column_array(self.capacity, np.dtype(np.float64))
                    floats[:start] = array[:start]  # type: ignore[index]
                    self.arrays[name] = array = floats
                array[start:stop] = cells.to_numpy(dtype=np.float64)
            elif name in self.pieces and all(cells.dtype == p.dtype for p in self.pieces[name][:1]):
                self.pieces[name].append(cells)
            else:
                self.mixed.add(name)
                self.arrays.pop(name, None)
                self.pieces.pop(name, None)
        self.rows = stop

    def _make_arrays(self, chunk: pd.DataFrame) -> None:
        """The arrays of the first chunk's number columns (``column_array``); the other
        columns' lists of chunks."""
        for index, name in enumerate(self.names or []):
            dtype = chunk.dtypes.iloc[index]
            if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
                self.arrays[name] = column_array(self.capacity, dtype)
            else:
                self.pieces[name] = []

    def frame(self, read_columns: Callable[[list[int]], pd.DataFrame]) -> pd.DataFrame:
        """The table; ``read_columns(indexes)`` reads the columns at ``indexes`` (in file
        order) on their own, in one pass over the file for all the mixed ones."""
        import pandas as pd

        names = self.names or []
        mixed = [index for index, name in enumerate(names) if name in self.mixed]
        again = read_columns(mixed) if mixed else None
        columns = {}
        for index, name in enumerate(names):
            if name in self.arrays:
                columns[name] = self.arrays.pop(name)[: self.rows]
            elif name in self.pieces:
                columns[name] = pd.concat(self.pieces.pop(name), ignore_index=True)
            else:
                columns[name] = again.iloc[:, mixed.index(index)]  # type: ignore[union-attr]
        return pd.DataFrame(columns, copy=False)


def column_array(rows: int, dtype: np.dtype) -> np.ndarray:
    """An array for a column of ``rows`` cells; from ``MAPPED_BYTES`` on, in memory of its own
    (an anonymous map), which goes back to the system the moment the column is dropped: the
    allocator could keep column-sized blocks, and a large table's preprocessing drops its
    columns one by one. (Smaller ones, the columns of a very wide table, are not worth a map
    each: a process may hold only so many.)"""
    size = rows * dtype.itemsize
    if size < max(1, MAPPED_BYTES):
        return np.empty(rows, dtype=dtype)
    # Private: a process forked while the column lives copies it on write, as any memory.
    private = {"flags": mmap.MAP_PRIVATE} if hasattr(mmap, "MAP_PRIVATE") else {}
    return np.frombuffer(mmap.mmap(-1, size, **private), dtype=dtype, count=rows)


def _chunk_rows(sample: str) -> int:
    """Rows of about ``CHUNK_BYTES`` of text, judged by the sample's lines (ended by ``\\n``,
    or by ``\\r`` alone in old Mac files)."""
    lines = max(1, sample.count("\n"), sample.count("\r"))
    return max(1, CHUNK_BYTES * lines // max(1, len(sample.encode("utf-8"))))


def _line_count(source: Path | bytes) -> int:
    """The ``\\n`` and ``\\r`` in ``source`` plus one: at least its rows, since pandas ends a
    row at either (a ``\\r\\n`` counts twice: the spare capacity is never touched)."""
    count = 1
    with _open(source) as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n") + chunk.count(b"\r")
    return count


def read_numbers(frame: pd.DataFrame, delimiter: str, name: str) -> list[str]:
    """Text columns of ``frame`` that hold numbers, made number columns in place: cells with
    decimal commas (preferred when the delimiter is ``;``) or thousands commas, and at most
    ``MAX_BAD_SHARE`` of cells that are not numbers (missing now, told in one note per
    column naming the first few, by line)."""
    import pandas as pd

    notes = []
    for column in frame.columns:
        cells = frame[column]
        if pd.api.types.is_numeric_dtype(cells) or pd.api.types.is_bool_dtype(cells):
            continue
        given = cells.dropna()
        if given.empty or not all(isinstance(cell, str) for cell in given.iloc[:100]):
            continue
        text = given.astype(str).str.strip()
        if text.iloc[:200].str.contains(r"\d").mean() < 1 - MAX_BAD_SHARE:
            continue  # words, not numbers: skip the parsing
        readings = [_decimal_comma(text), _thousands_comma(text)]
        if delimiter != ";":
            readings.reverse()
        values = max(readings, key=lambda found: int(found.notna().sum()))
        bad = values.isna()
        n_bad, n_numbers = int(bad.sum()), len(values) - int(bad.sum())
        if n_bad and (n_numbers < MIN_NUMBERS or n_bad > MAX_BAD_SHARE * len(values)):
            continue
        frame[column] = values.reindex(frame.index).astype(np.float64)
        if n_bad:
            shown = ", ".join(
                f"line {int(row) + 2}: {text[row]!r}" for row in text.index[bad.to_numpy()][:3]
            )
            notes.append(
                f"{name}, column {column!r}: {n_bad} of {len(values)} cells are not numbers "
                f"({shown}{', ...' if n_bad > 3 else ''}); they are read as missing"
            )
    return notes


def _decimal_comma(text: pd.Series) -> pd.Series:
    import pandas as pd

    fits = text.str.fullmatch(DECIMAL_COMMA.pattern.strip("^$"))
    plain = text.where(~fits, text.str.replace(".", "", regex=False).str.replace(",", "."))
    return pd.to_numeric(plain.where(fits | ~text.str.contains(",")), errors="coerce")


def _thousands_comma(text: pd.Series) -> pd.Series:
    import pandas as pd

    fits = text.str.fullmatch(THOUSANDS_COMMA.pattern.strip("^$"))
    return pd.to_numeric(text.str.replace(",", "", regex=False).where(fits), errors="coerce")


def numbers_only(frame: pd.DataFrame, name: str) -> list[str]:
    """Infinite cells, and numbers beyond +-``MAX_MAGNITUDE`` (they would overflow the
    scaling), set missing in place; one note counting them, naming the columns."""
    import pandas as pd

    found: dict[str, int] = {}
    for column in frame.columns:
        cells = frame[column]
        if not pd.api.types.is_float_dtype(cells):
            continue
        values = cells.to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            wild = np.isinf(values) | (np.abs(values) > MAX_MAGNITUDE)
        if wild.any():
            frame[column] = np.where(wild, np.nan, values)
            found[str(column)] = int(wild.sum())
    if not found:
        return []
    listed = ", ".join(f"{column!r} ({count})" for column, count in list(found.items())[:5])
    return [
        f"{name}: {sum(found.values())} cell(s) hold infinite numbers or numbers beyond "
        f"+-{MAX_MAGNITUDE:g} in column(s) {listed}; they are read as missing"
    ]


def _sample_encoding(path: Path, raw: bytes) -> tuple[str, str]:
    """The first encoding in ``ENCODINGS`` that decodes the sample, and the decoded text.

    A cut in the middle of a multi-byte character at the sample's end is not an error."""
    for encoding in ENCODINGS:
        try:
            return encoding, raw.decode(encoding)
        except UnicodeDecodeError as exc:
            if encoding == "utf-8-sig" and exc.start >= len(raw) - 3:
                return encoding, raw[: exc.start].decode(encoding)
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def short_row(
    path: Path | bytes, delimiter: str, n_columns: int, encoding: str = "utf-8-sig"
) -> tuple[int, int] | None:
    """(line number, cells) of the first non-blank line with another number of cells than
    the header's ``n_columns``, or None. pandas pads a short row with missing values, so
    that is checked here, on the raw bytes in 8 MiB chunks with NumPy. In a file with quotes
    (a quoted delimiter or newline is no boundary) the slower ``csv`` module counts instead.
    """
    separator, newline, carriage = ord(delimiter), ord("\n"), ord("\r")
    line, cells, length = 0, 1, 0  # the line being read: its index, its cells and bytes so far
    with _open(path) as handle:
        while chunk := handle.read(1 << 23):
            if b'"' in chunk:
                return _short_quoted_row(path, delimiter, n_columns, encoding)
            data = np.frombuffer(chunk, dtype=np.uint8)
            ends = np.flatnonzero(data == newline)
            separators = np.flatnonzero(data == separator)
            starts = np.concatenate([[0], ends + 1])
            # Cells and bytes (without a final "\r") of each line ending in this chunk; the
            # first one continues the previous chunk's last line.
            before = np.searchsorted(separators, starts)
            line_cells = before[1:] - before[:-1] + 1
            line_bytes = ends - starts[:-1] - (data[np.maximum(ends - 1, 0)] == carriage)
            if len(ends):
                line_cells[0] += cells - 1
                line_bytes[0] += length
            wrong = np.flatnonzero((line_cells != n_columns) & (line_bytes > 0))
            wrong = wrong[wrong + line > 0]  # the header (line index 0) defines n_columns
            if len(wrong):
                return int(line + wrong[0] + 1), int(line_cells[wrong[0]])
            tail_cells = len(separators) - int(before[-1])
            tail_bytes = len(data) - int(starts[-1])
            cells = tail_cells + (1 if len(ends) else cells)
            length = tail_bytes + (0 if len(ends) else length)
            line += len(ends)
    if length and cells != n_columns and line > 0:
        return line + 1, cells
    return None


def _short_quoted_row(
    path: Path | bytes, delimiter: str, n_columns: int, encoding: str
) -> tuple[int, int] | None:
    with io.TextIOWrapper(_open(path), newline="", encoding=encoding, errors="replace") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            for row in reader:
                if row and len(row) != n_columns:
                    return reader.line_num, len(row)
        except csv.Error:
            return None  # pandas read the file; the count is only for a better message
    return None


def sniff_delimiter(sample: str) -> str:
    """The delimiter among ``, ; tab |`` that splits the sample's lines into the same number
    of fields (more than one), the most fields winning; quoted fields are respected, so a
    quoted "a, b" in a semicolon file does not fool it. A single-column file gives ","."""
    lines = sample.splitlines()[:-1] or sample.splitlines()  # the last one may be cut
    best, best_fields = ",", 1
    for delimiter in DELIMITERS:
        counts = {len(row) for row in csv.reader(lines[:50], delimiter=delimiter) if row}
        if len(counts) == 1 and (fields := counts.pop()) > best_fields:
            best, best_fields = delimiter, fields
    return best


def check_columns(frame: pd.DataFrame, what: str) -> None:
    """Refuse repeated or empty-set column lists, and names holding a NUL character (NumPy
    text drops trailing NULs, so such a name would stop naming its column), with a message
    naming them."""
    names = [str(name) for name in frame.columns]
    nul = [index + 1 for index, name in enumerate(names) if "\x00" in name]
    if nul:
        raise DataError(
            f"{what}: the name of column(s) {nul} (counted from 1) holds a NUL character "
            "(\\x00); rename those columns"
        )
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise DataError(
            f"{what}: column name(s) {repeated} appear more than once; rename them so "
            "each column has its own name"
        )
    if not names:
        raise DataError(f"{what} has no columns")


def did_you_mean(name: str, names: list[str]) -> str:
    """`` (did you mean 'Status'?)`` when one of ``names`` is close to ``name`` (another
    case, a typo), else empty."""
    import difflib

    lowered = {known.lower(): known for known in names}
    close = lowered.get(name.lower()) or next(
        iter(difflib.get_close_matches(name, names, n=1, cutoff=0.75)), None
    )
    return f" (did you mean {close!r}?)" if close else ""


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
