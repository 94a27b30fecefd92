"""Where data comes from: a CSV or NPZ file, the built-in digits, or an OpenML dataset by name.

``load_dataset(source, target)`` turns what a user types after ``--data`` into a
``Dataset`` of plain arrays (tables are read by pandas, see ``tables``; tables with text or
missing cells go through ``tabular`` instead). Every problem a user can cause (missing
file, missing column, a word in a number column, an unknown OpenML name) raises
``DataError`` naming the row and column.
"""

from __future__ import annotations

import math
import os
import re
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.atomic import write_atomic
from glassnet.data.checks import check_features
from glassnet.data.datasets import Dataset, load_digits
from glassnet.data.images import GIVEN_SHAPE_HINT, image_array, with_image_shape
from glassnet.data.tables import TABLE_SUFFIXES, table_suffix
from glassnet.errors import DataError
from glassnet.paths import regular_file
from glassnet.resources import available_bytes

OPENML_PREFIX = "openml:"
# How np.load, the lazy per-array reads and the .npy header parser surface a damaged .npz
# (an edited header can make NumPy's parser raise SyntaxError or TokenError; zipfile raises
# NotImplementedError for a zip version or compression it cannot read).
DAMAGED_ARCHIVE = (
    OSError,
    ValueError,
    EOFError,
    KeyError,
    SyntaxError,
    tokenize.TokenError,
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
)
# OpenML datasets whose rows are images; the report shows a gallery for these.
KNOWN_IMAGE_SHAPES = {
    "mnist_784": (28, 28),
    "fashion-mnist": (28, 28),
    "kuzushiji-mnist": (28, 28),
    "usps": (16, 16),
}


def load_dataset(
    source: str,
    target: str | None = None,
    *,
    features: list[str] | None = None,
    need_target: bool = True,
    image_shape: tuple[int, ...] | None = None,
    image_hint: str = GIVEN_SHAPE_HINT,
    data_home: str | os.PathLike[str] | None = None,
) -> Dataset:
    """The data that ``source`` names: ``digits``, ``FILE.csv``, ``FILE.npz``, or an OpenML
    name (``mnist_784`` or ``openml:mnist_784``).

    ``target`` is the label column (CSV) or array (NPZ, default ``y``). ``features`` picks
    CSV columns by name, as a trained model remembers them. With ``need_target=False`` a
    missing target gives ``y=None`` (for prediction). ``image_shape`` (height, width[,
    channels]) says the rows are images (``glassnet.data.images``: converted to channels first);
    ``image_hint`` says what to do when images of another shape come (default: for
    ``train --image-shape``).
    """
    path = Path(source)
    if source == "digits":
        data = load_digits()
    elif source.startswith(OPENML_PREFIX):
        data = load_openml(source[len(OPENML_PREFIX) :], data_home=data_home)
    elif table_suffix(path) in (*TABLE_SUFFIXES, ".npz") or (path.exists() and not path.is_dir()):
        regular_file(path, "data file", DataError)
        if table_suffix(path) in TABLE_SUFFIXES:
            data = load_csv(path, target, features=features, need_target=need_target)
        elif path.suffix.lower() == ".npz":
            data = load_npz(path, target or "y", need_target=need_target)
        else:
            raise DataError(
                f"cannot read {source!r}: use a {', '.join(TABLE_SUFFIXES)} or .npz file"
            )
    else:
        data = load_openml(source, data_home=data_home)
    if image_shape is not None:
        data = with_image_shape(data, image_shape, source, hint=image_hint)
    if need_target and data.y is None:
        raise DataError(f"{source!r} has no labels; pass --target with the label column")
    return data


def parse_labels(cells: list[str], *, where: str = "labels", first_line: int = 1) -> np.ndarray:
    """Class labels from text: integers when every cell is one, else numbers, else strings.

    An empty cell is refused (it is a missing label, not a class named ""); the error names
    ``where`` and the line, counting the first cell as ``first_line``."""
    for line, cell in enumerate(cells, start=first_line):
        if not cell.strip():
            raise DataError(f"{where}, line {line}: the label is empty; fill it in or drop the row")
    for kind in (int, float):
        try:
            return np.array([kind(cell) for cell in cells])
        except ValueError:
            continue
    return np.array([cell.strip() for cell in cells])


def load_csv(
    path: Path,
    target: str | None,
    *,
    features: list[str] | None = None,
    need_target: bool = True,
) -> Dataset:
    """A table file (read by ``tables.read_table``: .csv, .tsv, .txt, .parquet) as plain
    arrays: ``target`` names the label column, every other column (or the ``features``
    columns, in that order) must hold numbers. Tables with text or missing cells are for
    ``glassnet.data.tabular``, which encodes them; here they are refused, naming the cell."""
    from glassnet.data.tables import read_labelled_table

    table, header, target = read_labelled_table(path, target, need_target=need_target)
    frame = table.frame
    if features is None:
        names = [name for name in header if name != target]
    else:
        missing = [name for name in features if name not in header]
        if missing:
            raise DataError(f"{path} lacks the model's feature column(s) {missing}")
        names = list(features)
    if not names:
        raise DataError(f"{path} has no feature columns besides the target {target!r}")
    for name in names:
        _check_numeric_column(path, frame[name], name)
    y = None
    if target is not None:
        cells = ["" if value != value else str(value) for value in frame[target].tolist()]
        if need_target or any(cell.strip() for cell in cells):
            y = parse_labels(cells, where=f"{path}, column {target!r}", first_line=2)
    x = check_features(frame[names].to_numpy(dtype=np.float64), what=f"{path}")
    return Dataset(x, y, name=path.stem, feature_names=names)  # type: ignore[arg-type]


def _check_numeric_column(path: Path, column: Any, name: str) -> None:
    """A DataError naming the first empty or non-numeric cell of ``column`` (line 1 is the
    header), saying that ``glassnet train`` on the table encodes such columns."""
    import pandas as pd

    values = pd.to_numeric(column, errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy())
    if not len(bad):
        return
    line, cell = int(bad[0]) + 2, column.iloc[bad[0]]
    if cell != cell:  # NaN: an empty or NA cell
        raise DataError(
            f"{path}, line {line}, column {name!r} is empty; this model takes numbers only: "
            "fill in missing values, or train on the table with glassnet train, which imputes them"
        )
    raise DataError(
        f"{path}, line {line}, column {name!r}: {cell!r} is not a number; this model takes "
        "numbers only (train on the table with glassnet train to encode text columns)"
    )


def load_npz(path: Path, target: str, *, need_target: bool = True) -> Dataset:
    """An ``.npz`` with features in ``x`` (or ``X``; images ``(n, h, w)`` or channels-last
    ``(n, h, w, c)`` become channels-first rows, see ``glassnet.data.images``) and labels in
    the array named ``target``. Pickled object arrays are refused."""
    arrays = read_npz(path, hint="save the data again with numpy.savez (numeric arrays only)")
    feature_key = next((key for key in ("x", "X") if key in arrays), None)
    if feature_key is None:
        raise DataError(f"{path} needs a features array named 'x'; it has {sorted(arrays)}")
    x = arrays[feature_key]
    image_shape, channels = None, 1
    if x.ndim != 2:
        x, image_shape, channels = image_array(x, what=f"{path}:{feature_key}")
    x = check_features(x, what=f"{path}:{feature_key}")
    y = arrays.get(target)
    if y is None and need_target:
        raise DataError(f"{path} has no labels array {target!r}; arrays: {sorted(arrays)}")
    if y is not None and (y.ndim != 1 or len(y) != len(x)):
        raise DataError(f"{path}: labels {target!r} must be 1-D with one label per row of x")
    return Dataset(
        x,
        y,
        name=path.stem,
        image_shape=image_shape,
        channels=channels,  # type: ignore[arg-type]
    )


def read_npz(path: Path, *, hint: str) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` file at ``path``, read without pickle.

    A truncated or corrupt archive, a plain ``.npy`` file or a pickled object array raises
    ``DataError`` naming ``path``, what went wrong and ``hint`` (how to fix it)."""
    regular_file(path, "data file", DataError)
    _check_declared_size(path)
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded as archive:
                return {name: archive[name] for name in archive.files}
        problem = "it holds a single array, not an .npz archive of named arrays"
    except DAMAGED_ARCHIVE as exc:
        problem = f"{type(exc).__name__}: {exc}"
    raise DataError(f"{path} is not a readable .npz file ({problem}); {hint}")


NPY_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _check_declared_size(path: Path) -> None:
    """Refuse, before inflating anything, an .npz whose members declare more bytes than half
    the memory available (a zip bomb: a small compressed file that inflates to gigabytes) or
    an array whose .npy header declares more bytes than its member holds (NumPy would
    allocate that first: a MemoryError)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            declared = sum(info.file_size for info in infos)
            available = available_bytes()
            if available is not None and declared > available // 2:
                raise DataError(
                    f"{path} declares {declared:,} bytes of arrays, more than half the memory "
                    f"available ({available:,} bytes); refusing to inflate it"
                )
            for info in infos:
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    if version not in NPY_HEADER_READERS:
                        continue
                    shape, _, dtype = NPY_HEADER_READERS[version](member)
                if math.prod(shape) * dtype.itemsize > info.file_size:
                    raise DataError(
                        f"{path}: array {info.filename!r} declares shape {shape}, larger than "
                        "its data; the file is damaged"
                    )
    except (*DAMAGED_ARCHIVE, TypeError) as exc:
        if isinstance(exc, DataError):
            raise
        return  # an unreadable archive or header: np.load says what is wrong


def load_openml(name: str, *, data_home: str | os.PathLike[str] | None = None) -> Dataset:
    """An OpenML dataset by name (its active version) or numeric id.

    The first load goes through scikit-learn's ``fetch_openml``, which downloads into (and
    later reads from) ``data_home``; glassnet then keeps the parsed arrays in
    ``data_home/glassnet/openml/NAME.npz`` because parsing ARFF text is slow for big sets.
    """
    from sklearn.datasets import get_data_home

    safe_name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    cache = Path(get_data_home(data_home)) / "glassnet" / "openml" / f"{safe_name}.npz"
    if cache.is_file():
        try:
            arrays = read_npz(cache, hint="it is rebuilt")
            x, y, title = arrays["x"], arrays["y"], str(arrays["name"])
            feature_names = arrays["feature_names"].tolist()
        except (DataError, KeyError):
            cache.unlink(missing_ok=True)  # a broken cache is rebuilt below
        else:
            return _openml_dataset(title, x, y, feature_names)
    title, x, y, feature_names = _fetch_openml(name, data_home)
    # Pixel-like data is stored as uint8: 8x smaller, and exact.
    small = x.astype(np.uint8) if np.array_equal(x, x.astype(np.uint8)) else x
    arrays = {"x": small, "y": y, "name": np.array(title), "feature_names": np.array(feature_names)}
    write_atomic(cache, lambda handle: np.savez(handle, **arrays))
    return _openml_dataset(title, x, y, feature_names)


def _fetch_openml(
    name: str, data_home: str | os.PathLike[str] | None
) -> tuple[str, np.ndarray, np.ndarray, list[str]]:
    from sklearn.datasets import fetch_openml

    by: dict[str, Any] = {"data_id": int(name)} if name.isdigit() else {"name": name}
    try:
        # parser="liac-arff" and as_frame=False: dense ARFF without needing pandas.
        bunch: Any = fetch_openml(**by, as_frame=False, parser="liac-arff", data_home=data_home)
    except OSError as exc:
        raise DataError(
            f"could not download OpenML dataset {name!r} ({exc}); check the "
            "network, or --data-home if you have a cached copy"
        ) from None
    except ValueError as exc:
        raise DataError(f"OpenML has no usable dataset {name!r}: {exc}") from None
    x = bunch.data.toarray() if hasattr(bunch.data, "toarray") else bunch.data
    x = check_features(x, what=f"OpenML dataset {name!r}")
    if bunch.target is None or np.ndim(bunch.target) != 1:
        raise DataError(f"OpenML dataset {name!r} has no single target column to classify")
    y = parse_labels([str(label) for label in bunch.target])
    title = str(bunch.details.get("name", name))
    return title, x, y, [str(f) for f in bunch.feature_names]


def _openml_dataset(
    title: str, x: np.ndarray, y: np.ndarray, feature_names: list[str] | None
) -> Dataset:
    shape = KNOWN_IMAGE_SHAPES.get(title.lower())
    return Dataset(
        x.astype(np.float64), y, name=title, image_shape=shape, feature_names=feature_names
    )
