"""Preprocessing learned on the training rows and stored as plain data: ``Scaler`` for
arrays, ``TablePreprocessor`` for the columns of a table."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glassnet.errors import DataError, DataWarning


@dataclass
class Scaler:
    """Affine feature scaling ``(x - offset) / scale``, fitted on training data only.

    ``kind="standard"``: zero mean, unit variance per feature; ``kind="minmax"``: range
    [0, 1] per feature; ``kind="global"``: one mean and one standard deviation over all
    features, for images, where a pixel moved by augmentation must keep its meaning (per-pixel
    scaling blows up nearly-always-blank border pixels). Constant features keep scale 1 so
    they map to 0 instead of dividing by zero.

    Examples:
        >>> import numpy as np
        >>> x = np.array([[1.0, 10.0], [3.0, 10.0]])
        >>> scaler = Scaler.fit("standard", x)
        >>> print(scaler.offset, scaler.scale)  # the constant second column keeps scale 1
        [ 2. 10.] [1. 1.]
        >>> print(scaler.transform(x))
        [[-1.  0.]
         [ 1.  0.]]
        >>> print(scaler.inverse_transform(scaler.transform(x)))
        [[ 1. 10.]
         [ 3. 10.]]
    """

    kind: str
    offset: np.ndarray
    scale: np.ndarray

    KINDS = ("standard", "minmax", "global")

    @classmethod
    def fit(cls, kind: str, x: np.ndarray) -> Scaler:
        if kind not in cls.KINDS:
            raise DataError(f"unknown scaling {kind!r}; choose one of {list(cls.KINDS)}")
        with np.errstate(over="ignore", invalid="ignore"):  # said below, naming the column
            if kind == "standard":
                offset, scale = x.mean(axis=0), x.std(axis=0)
            elif kind == "minmax":
                offset, scale = x.min(axis=0), x.max(axis=0) - x.min(axis=0)
            else:  # global
                offset, scale = np.full(x.shape[1], x.mean()), np.full(x.shape[1], x.std())
        finite = np.isfinite(offset) & np.isfinite(scale)
        if not np.all(finite):
            column = int(np.argmax(np.abs(x).max(axis=0)))  # the one with the largest
            raise DataError(
                f"feature {column} holds numbers too large to scale (up to "
                f"{np.abs(x[:, column]).max():.3g}; float64 overflows past about 1e154 when "
                "squared): rescale that column, e.g. to other units or a logarithm"
            )
        scale = np.where(scale > 0, scale, 1.0)
        return cls(kind, offset.astype(np.float64), scale.astype(np.float64))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.offset) / self.scale

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Raw features back from scaled ones: ``x * scale + offset``."""
        return x * self.scale + self.offset


# A categorical cell with no value is a category of its own, under this name.
MISSING_CATEGORY = "(missing)"
# A column with more categories than MANY_CATEGORIES (a code: countries, airports, agents)
# keeps as its own input only those seen on at least MIN_CATEGORY_ROWS training rows; the
# rarer ones, and those never seen, share the input of the category OTHER_CATEGORY (issue 24:
# such columns were dropped, which lost most of what they say).
MANY_CATEGORIES = 50
MIN_CATEGORY_ROWS = 5
OTHER_CATEGORY = "(other)"
# What a datetime column becomes: one numeric column per part, named "COLUMN.PART".
DATE_PARTS = ("year", "month", "day", "weekday", "hour")
# Above this many training rows the statistics are computed here, one column at a time (the
# ones scikit-learn's imputer, scaler and encoder learn, to rounding), not by scikit-learn,
# whose transformers copy the whole block of training rows several times over: a 1,000,000 x
# 20 table peaked at 7.8x its CSV's size (issue 24). Smaller tables keep scikit-learn's fit.
COLUMNWISE_ROWS = 20_000


@dataclass
class TablePreprocessor:
    """A table's columns -> the network's inputs, learned on the training rows, as plain data.

    Outputs, in order: the ``numeric`` columns (a datetime column ``d`` contributes the
    numeric columns ``d.year``, ``d.month``, ... listed in ``DATE_PARTS``), missing cells
    replaced by ``medians``; then a 0/1 missing-indicator for each column in ``indicators``;
    all of those standardised by ``(value - means) / scales``; then the one-hot code of each
    ``categorical`` column over its ``categories`` (a missing cell is the category
    ``"(missing)"``, a value not in ``categories`` is all zeros). This is scikit-learn's
    ``ColumnTransformer`` of ``SimpleImputer(strategy="median", add_indicator=True)`` +
    ``StandardScaler`` on the numeric columns and ``OneHotEncoder(handle_unknown="ignore")``
    on the categorical ones; ``from_column_transformer`` reads one such fitted object.

    ``roles`` records every training column's role (``"numeric"``, ``"dropped: constant"``,
    ...) for ``glassnet summary``. Arrays: ``medians`` (n_numeric,), ``means`` and ``scales``
    (n_numeric + n_indicators,).
    """

    numeric: list[str]
    medians: np.ndarray
    indicators: list[str]
    means: np.ndarray
    scales: np.ndarray
    categorical: list[str]
    categories: list[list[str]]
    datetime: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.medians = np.asarray(self.medians, dtype=np.float64).reshape(-1)
        self.means = np.asarray(self.means, dtype=np.float64).reshape(-1)
        self.scales = np.asarray(self.scales, dtype=np.float64).reshape(-1)
        self.check()

    @property
    def n_outputs(self) -> int:
        return len(self.numeric) + len(self.indicators) + sum(map(len, self.categories))

    @property
    def input_columns(self) -> list[str]:
        """The table columns ``transform`` reads, in the order they were learned."""
        derived = {f"{name}.{part}" for name in self.datetime for part in DATE_PARTS}
        plain = [name for name in self.numeric if name not in derived]
        return [*plain, *self.datetime, *self.categorical]

    def output_names(self) -> list[str]:
        """A name for each output column: ``x``, ``x (missing)``, ``colour=red``."""
        return [
            *self.numeric,
            *(f"{name} (missing)" for name in self.indicators),
            *(
                f"{name}={category}"
                for name, categories in zip(self.categorical, self.categories, strict=True)
                for category in categories
            ),
        ]

    def check(self) -> None:
        """Refuse values that do not fit together (DataError): a record read from a file
        must describe exactly the arrays it comes with."""
        text_lists = [self.numeric, self.indicators, self.categorical, self.datetime]
        if not all(isinstance(names, list) for names in text_lists) or not all(
            isinstance(name, str) for names in text_lists for name in names
        ):
            raise DataError("column lists of the table preprocessing must be lists of names")
        if not set(self.indicators) <= set(self.numeric):
            raise DataError("missing indicators must belong to numeric columns")
        width = len(self.numeric) + len(self.indicators)
        if self.medians.shape != (len(self.numeric),) or self.means.shape != (width,):
            raise DataError("medians/means do not match the numeric columns")
        if self.scales.shape != (width,) or np.any(self.scales <= 0):
            raise DataError("scales must be positive, one per numeric output")
        for values in (self.medians, self.means, self.scales):
            if not np.all(np.isfinite(values)):
                raise DataError("the table preprocessing holds NaN or infinite statistics")
        if not isinstance(self.categories, list) or len(self.categories) != len(self.categorical):
            raise DataError("there must be one category list per categorical column")
        for categories in self.categories:
            if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
                raise DataError("categories must be lists of text values")
            if len(set(categories)) != len(categories):
                raise DataError("a categorical column lists a category twice")
        inputs = self.input_columns
        if len(set(inputs)) != len(inputs):
            raise DataError("a column appears twice in the table preprocessing")
        if not isinstance(self.roles, dict):
            raise DataError("the column roles must be a mapping of name to role")

    @classmethod
    def fit(
        cls,
        frame: Any,
        roles: dict[str, str],
        *,
        datetime: list[str] | None = None,
        rows: np.ndarray | None = None,
    ) -> TablePreprocessor:
        """Fit scikit-learn's transformers on the training rows ``frame`` for the used
        columns in ``roles`` (name -> numeric, categorical, boolean or datetime); ``rows``
        picks the training rows out of ``frame`` by position (None: all). Past
        ``COLUMNWISE_ROWS`` rows the same statistics are computed a column at a time
        (``fit_columns``)."""
        dates = [name for name, role in roles.items() if role == "datetime"]
        numeric = [name for name, role in roles.items() if role == "numeric"]
        numeric += [f"{name}.{part}" for name in dates for part in DATE_PARTS]
        categorical = [name for name, role in roles.items() if role in ("categorical", "boolean")]
        if columnwise(len(frame) if rows is None else len(rows)):
            return cls.fit_columns(frame, numeric, categorical, dates, roles, rows)
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        if rows is not None:
            frame = frame.iloc[rows]
        inputs = input_frame(frame, numeric, categorical, dates)
        steps = []
        if numeric:
            imputer = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)
            steps.append(
                ("numeric", Pipeline([("impute", imputer), ("scale", StandardScaler())]), numeric)
            )
        if categorical:
            encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
            steps.append(("categorical", encoder, categorical))
        transformer = ColumnTransformer(steps, remainder="drop").fit(inputs)
        table = cls.from_column_transformer(transformer, datetime=dates, roles=roles)
        table.categories = [
            frequent_categories(inputs[name], found)
            for name, found in zip(table.categorical, table.categories, strict=True)
        ]
        return table

    @classmethod
    def fit_columns(
        cls,
        frame: Any,
        numeric: list[str],
        categorical: list[str],
        dates: list[str],
        roles: dict[str, str],
        rows: np.ndarray | None = None,
    ) -> TablePreprocessor:
        """What ``fit`` learns, one column of the training rows at a time: the median of each
        numeric column, a missing indicator for each with missing cells, the mean and
        standard deviation of both after imputation (scikit-learn's ``StandardScaler``: a
        near-constant column keeps scale 1), and each categorical column's sorted values,
        those of too few rows folded into one (``frequent_categories``)."""
        medians, means, scales, missing_means, missing_scales = [], [], [], [], []
        indicators = []
        for name, values in numeric_inputs(frame, numeric, dates, rows):
            missing = np.isnan(values)
            median = float(np.median(values[~missing])) if not missing.all() else 0.0
            values[missing] = median
            medians.append(median)
            mean, scale = _mean_and_scale(values)
            means.append(mean)
            scales.append(scale)
            if missing.any():
                indicators.append(name)
                mean, scale = _mean_and_scale(missing.astype(np.float64))
                missing_means.append(mean)
                missing_scales.append(scale)
        categories = []
        for name in categorical:
            text = category_text(frame[name] if rows is None else frame[name].iloc[rows])
            categories.append(frequent_categories(text, sorted(set(text))))
        return cls(
            numeric,
            np.array(medians),
            indicators,
            np.array(means + missing_means),
            np.array(scales + missing_scales),
            categorical,
            categories,
            dates,
            dict(roles),
        )

    @classmethod
    def from_column_transformer(
        cls,
        transformer: Any,
        *,
        datetime: list[str] | None = None,
        roles: dict[str, str] | None = None,
    ) -> TablePreprocessor:
        """The plain-data record of a fitted ``ColumnTransformer`` laid out as described in
        the class docstring (transformers named "numeric" and "categorical", either may be
        absent). Datetime columns must already be expanded into their parts."""
        numeric: list[str] = []
        medians = means = scales = np.zeros(0)
        indicators: list[str] = []
        categorical: list[str] = []
        categories: list[list[str]] = []
        for name, fitted, columns in transformer.transformers_:
            if name == "numeric":
                numeric = [str(column) for column in columns]
                imputer, scaler = fitted.named_steps["impute"], fitted.named_steps["scale"]
                medians = imputer.statistics_
                if imputer.indicator_ is not None:
                    indicators = [numeric[i] for i in imputer.indicator_.features_]
                means, scales = scaler.mean_, scaler.scale_
            elif name == "categorical":
                categorical = [str(column) for column in columns]
                categories = [[str(c) for c in found] for found in fitted.categories_]
        return cls(
            numeric,
            medians,
            indicators,
            means,
            scales,
            categorical,
            categories,
            list(datetime or []),
            dict(roles or {}),
        )

    def transform(
        self,
        frame: Any,
        *,
        what: str = "data",
        rows: np.ndarray | None = None,
        dtype: Any = np.float64,
    ) -> np.ndarray:
        """The network's inputs (n_rows, n_outputs) for a DataFrame with (at least) the
        learned columns, in any order; ``rows`` picks rows by position (None: all). A missing
        column is a DataError; cells that are not numbers in a numeric column, and categories
        never seen in training, give a warning and are treated as missing / all-zero.

        The output array, of ``dtype``, is filled in place a column at a time (each computed
        in float64): a large table is not copied whole once per step."""
        return self.transform_parts(frame, [(what, rows)], dtype=dtype)[0]

    def transform_parts(
        self,
        frame: Any,
        parts: list[tuple[str, np.ndarray | None]],
        *,
        dtype: Any = np.float64,
        release: bool = False,
    ) -> list[np.ndarray]:
        """``transform`` of several parts of ``frame`` at once, each ``(what, rows)``, a
        column at a time. With ``release`` each column is dropped from ``frame`` once read
        (the frame is left without them) and the parts are filled column by column (then made
        row-major one at a time): a large table's columns give way to the inputs as they are
        made, instead of the whole table being held beside all of them."""
        absent = [name for name in self.input_columns if name not in frame.columns]
        if absent:
            raise DataError(
                f"{parts[0][0]} lacks the column(s) {absent} the model was trained on; add "
                "them (cells may be empty)"
            )
        outs = [
            np.zeros(
                (len(frame) if rows is None else len(rows), self.n_outputs),
                dtype=dtype,
                order="F" if release else "C",
            )
            for _, rows in parts
        ]
        flags = {name: len(self.numeric) + i for i, name in enumerate(self.indicators)}
        dates = date_inputs(self.datetime)
        parsed: list[dict[str, Any]] = [{} for _ in parts]
        for index, name in enumerate(self.numeric):
            for (what, rows), out, cache in zip(parts, outs, parsed, strict=True):
                values = numeric_input(frame, name, dates, rows, what, cache)
                missing = np.isnan(values)
                values[missing] = self.medians[index]
                values -= self.means[index]
                values /= self.scales[index]
                out[:, index] = values
                if name in flags:
                    flag = flags[name]
                    out[:, flag] = (missing - self.means[flag]) / self.scales[flag]
            if release and name in frame.columns:
                del frame[name]
            elif release and name.endswith(f".{DATE_PARTS[-1]}") and name in dates:
                del frame[dates[name][0]]  # a datetime column, after its last part
        start = len(self.numeric) + len(self.indicators)
        for name, categories in zip(self.categorical, self.categories, strict=True):
            for (what, rows), out in zip(parts, outs, strict=True):
                self._fill_categories(frame, name, categories, rows, what, out[:, start:])
            if release:
                del frame[name]
            start += len(categories)
        if release:
            for index, out in enumerate(outs):
                outs[index] = np.ascontiguousarray(out)  # the Fortran-order one goes
        return outs

    @staticmethod
    def _fill_categories(
        frame: Any,
        name: str,
        categories: list[str],
        rows: np.ndarray | None,
        what: str,
        out: np.ndarray,
    ) -> None:
        """Set the one-hot code of column ``name`` (its ``rows``) into ``out``'s first
        ``len(categories)`` columns, saying (warning) what was not seen in training."""
        text = category_text(frame[name] if rows is None else frame[name].iloc[rows])
        codes = _category_codes(text, categories)
        unseen = codes < 0
        if OTHER_CATEGORY in categories:  # rare and unseen categories share one input
            codes[unseen] = categories.index(OTHER_CATEGORY)
            unseen[:] = False
        if unseen.any():
            examples = sorted(set(text[unseen].tolist()))[:3]
            warn(
                f"{what}, column {name!r}: {int(unseen.sum())} row(s) hold categories not "
                f"seen in training (e.g. {examples}); they are encoded as none of the known"
            )
        out[np.flatnonzero(~unseen), codes[~unseen]] = 1.0

    def arrays(self) -> dict[str, np.ndarray]:
        """The numeric statistics, for the model file's arrays."""
        return {"medians": self.medians, "means": self.means, "scales": self.scales}

    def to_dict(self) -> dict[str, Any]:
        """Everything but ``arrays()``, as JSON-ready lists and strings."""
        return {
            "numeric": self.numeric,
            "indicators": self.indicators,
            "categorical": self.categorical,
            "categories": self.categories,
            "datetime": self.datetime,
            "roles": self.roles,
        }

    @classmethod
    def from_dict(cls, record: dict[str, Any], arrays: dict[str, np.ndarray]) -> TablePreprocessor:
        """The inverse of ``to_dict()`` and ``arrays()``; a DataError if they do not fit."""
        keys = {"numeric", "indicators", "categorical", "categories", "datetime", "roles"}
        if not isinstance(record, dict) or set(record) != keys:
            raise DataError(f"a table preprocessing record has the keys {sorted(keys)}")
        if set(arrays) != {"medians", "means", "scales"}:
            raise DataError("a table preprocessing needs the arrays medians, means and scales")
        return cls(
            record["numeric"],
            arrays["medians"],
            record["indicators"],
            arrays["means"],
            arrays["scales"],
            record["categorical"],
            record["categories"],
            record["datetime"],
            record["roles"],
        )


def columnwise(n_rows: int) -> bool:
    """Whether a table of ``n_rows`` training rows is preprocessed a column at a time
    (``COLUMNWISE_ROWS``)."""
    return n_rows > COLUMNWISE_ROWS


def numeric_inputs(
    frame: Any,
    numeric: list[str],
    dates: list[str],
    rows: np.ndarray | None = None,
    *,
    what: str = "data",
) -> Iterator[tuple[str, np.ndarray]]:
    """Each of the ``numeric`` inputs of ``frame`` (its ``rows``; None: all), in order, with
    ``numeric_input``; the datetime columns are ``dates``."""
    parts, cache = date_inputs(dates), {}
    for name in numeric:
        yield name, numeric_input(frame, name, parts, rows, what, cache)


def date_inputs(dates: list[str]) -> dict[str, tuple[str, str]]:
    """``"when.month"`` -> ``("when", "month")`` for each part of each datetime column."""
    return {f"{name}.{part}": (name, part) for name in dates for part in DATE_PARTS}


def numeric_input(
    frame: Any,
    name: str,
    dates: dict[str, tuple[str, str]],
    rows: np.ndarray | None,
    what: str,
    cache: dict[str, Any],
) -> np.ndarray:
    """The numeric input ``name`` of ``frame`` (its ``rows``; None: all) as a new float64
    array of its own (the caller may write to it), NaN where missing: a numeric column's
    numbers, or a part of a datetime column (``dates``: ``date_inputs``), the column parsed
    once for all its parts (kept in ``cache``)."""
    if name not in dates:
        raw = frame[name] if rows is None else frame[name].iloc[rows]
        return numbers(raw, name, what).to_numpy(dtype=np.float64, copy=True)
    column, part = dates[name]
    if cache.get("column") != column:
        cache["column"], cache["parsed"] = column, date_values(frame, column, rows)
    return date_part(cache["parsed"], part).to_numpy(dtype=np.float64, copy=True)


def date_values(frame: Any, name: str, rows: np.ndarray | None) -> Any:
    from glassnet.data.columns import parse_dates

    return parse_dates(frame[name] if rows is None else frame[name].iloc[rows])


def date_part(parsed: Any, part: str) -> Any:
    """One part (``DATE_PARTS``) of parsed datetimes, as float (NaN where missing)."""
    values = parsed.dt.day_of_week if part == "weekday" else getattr(parsed.dt, part)
    return values.astype(np.float64)


def numbers(raw: Any, name: str, what: str) -> Any:
    """A column's cells as float64 numbers, NaN where missing; cells that are not numbers
    are missing too, with a warning naming the column and one of them."""
    import pandas as pd

    values = pd.to_numeric(raw, errors="coerce").astype(np.float64)
    bad = int((values.isna() & raw.notna()).sum())
    if bad:
        example = raw[values.isna() & raw.notna()].iloc[0]
        warn(
            f"{what}, column {name!r}: {bad} cell(s) are not numbers (e.g. {example!r}); "
            "they are treated as missing"
        )
    return values


def input_frame(
    frame: Any,
    numeric: list[str],
    categorical: list[str],
    dates: list[str],
) -> Any:
    """The columns a TablePreprocessor reads, in the types its steps take: numbers as float
    (NaN where missing; datetime parts computed), categories as text (``"(missing)"``)."""
    import pandas as pd

    columns: dict[str, Any] = {}
    for name in dates:
        parsed = date_values(frame, name, None)
        for part in DATE_PARTS:
            columns[f"{name}.{part}"] = date_part(parsed, part)
    for name in numeric:
        if name not in columns:
            columns[name] = numbers(frame[name], name, "data").to_numpy()
    for name in categorical:
        columns[name] = category_text(frame[name])
    return pd.DataFrame(columns, index=frame.index)


def category_text(column: Any) -> Any:
    """A column's cells as category names: whole numbers without ".0" (so 3 and 3.0 are one
    category), booleans as True/False, text stripped, missing cells ``"(missing)"``."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(column):
        text = column.map({True: "True", False: "False"})
    elif pd.api.types.is_numeric_dtype(column):
        values = column.astype(np.float64)
        whole = values.notna() & (np.mod(values.fillna(0), 1.0) == 0.0)
        text = values.map(lambda value: repr(float(value))).where(
            ~whole, values.fillna(0).astype(np.int64).astype(str)
        )
    else:
        text = column.astype(str).str.strip()
    return text.where(column.notna(), MISSING_CATEGORY).astype(object)


def frequent_categories(text: Any, categories: list[str]) -> list[str]:
    """``categories`` as learned, or for a column of more than MANY_CATEGORIES those on at
    least MIN_CATEGORY_ROWS of the training cells ``text``, then OTHER_CATEGORY."""
    if len(categories) <= MANY_CATEGORIES:
        return categories
    counts = text.value_counts()
    kept = [name for name in categories if counts.get(name, 0) >= MIN_CATEGORY_ROWS]
    return [name for name in kept if name != OTHER_CATEGORY] + [OTHER_CATEGORY]


def _mean_and_scale(values: np.ndarray) -> tuple[float, float]:
    """The mean and standard deviation of a column as scikit-learn's ``StandardScaler``
    computes them (a two-pass variance; scale 1 for a column indistinguishable from a
    constant)."""
    count = len(values)
    mean = float(values.sum() / count)
    centred = values - mean
    variance = float((np.dot(centred, centred) - centred.sum() ** 2 / count) / count)
    eps = np.finfo(np.float64).eps
    constant = variance <= count * eps * variance + (count * mean * eps) ** 2
    return mean, 1.0 if constant else float(np.sqrt(variance))


def _category_codes(text: Any, categories: list[str]) -> np.ndarray:
    """Index of each cell in ``categories``, -1 for a value not among them."""
    import pandas as pd

    return np.asarray(pd.Index(categories).get_indexer(text), dtype=np.int64)


def warn(message: str) -> None:
    """A warning the user should read (the CLI prints it as one line)."""
    warnings.warn(DataWarning(message), stacklevel=3)
