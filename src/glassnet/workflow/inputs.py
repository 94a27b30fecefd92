"""A run's data, from what the user gave to numeric splits: a file or a name (``digits``, an
OpenML name), a pandas DataFrame, or arrays. A table (a table file, or a DataFrame) has its
columns' roles guessed, is split, and gets a ``TablePreprocessor`` fitted on its training
rows; other data are loaded as arrays and split. The task (classification or regression)
is read from the labels unless the settings name it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.data.checks import check_features, check_split_classes
from glassnet.data.datasets import Dataset, Splits, random_split, seed_split
from glassnet.data.tables import is_table
from glassnet.errors import ConfigError, DataError
from glassnet.experiments.config_file import DataSettings
from glassnet.experiments.presets import Preset

if TYPE_CHECKING:
    from glassnet.data.columns import ColumnInfo
    from glassnet.data.preprocessing import TablePreprocessor

# A step's spinner: status("loading penguins.csv ...") is a context manager.
Status = Callable[[str], AbstractContextManager[Any]]

# How data given in Python is named in a run's records (run.json, the model file).
FRAME_NAME, ARRAYS_NAME = "DataFrame", "arrays"


@dataclass
class RunInputs:
    """The splits a run trains, validates and tests on, and what was learned reading them:
    a table's preprocessing and its columns' roles (None for other data), and the task."""

    splits: Splits
    table: TablePreprocessor | None
    columns: list[ColumnInfo] | None
    task: str
    # The table recipe's sizes chosen from the training rows (None: none left to them).
    table_defaults: dict[str, Any] | None = None


def source_kind(source: object) -> str:
    """``"table"`` for a DataFrame, ``"arrays"`` for NumPy arrays (or an ``(x, y)`` pair),
    ``"name"`` for a path or a name; anything else is refused."""
    if hasattr(source, "columns") and hasattr(source, "iloc"):  # pandas, not imported here
        return "table"
    if isinstance(source, (np.ndarray, list, tuple)):
        return "arrays"
    if isinstance(source, (str, Path)):
        return "name"
    raise DataError(
        f"cannot train on a {type(source).__name__}: give a file path, 'digits', an OpenML "
        "name, a pandas DataFrame, or arrays (x, with the labels as target=y)"
    )


def source_name(source: object) -> str:
    """What a run's records call ``source``: its path or name, or FRAME_NAME / ARRAYS_NAME."""
    kind = source_kind(source)
    if kind == "name":
        return str(source)
    return FRAME_NAME if kind == "table" else ARRAYS_NAME


def read_inputs(
    source: object,
    target: object,
    settings: DataSettings,
    preset: Preset,
    seed: int,
    status: Status,
    parts: dict[str, Any] | None = None,
) -> RunInputs:
    """The splits of ``source`` with ``settings``, checked against ``preset``'s recipe before
    any run folder is claimed. ``parts`` holds a user's own validation or test rows given in
    Python (DataFrames); files come from ``settings.validation_data`` / ``test_data``. A
    regression switches ``preset.train`` to one output trained with the squared error; a
    layer list takes the images' own shape."""
    kind = source_kind(source)
    given = own_parts(settings, parts)
    if kind == "table" or (kind == "name" and is_table(source, settings.image_shape)):
        inputs = read_table_inputs(source, settings, seed, status, preset, given)
    elif given:
        raise ConfigError(
            "validation_data and test_data (--validation-data, --test-data) take tables; "
            f"{source_name(source)} is not one"
        )
    else:
        if kind == "arrays":
            data = arrays_dataset(source, target, settings)
        else:
            data = named_dataset(str(source), settings, status)
        task = settings.task or ("classification" if kind == "name" else guess_task(data.y))
        if task == "regression":
            data.y = regression_target(data.y, data.name)
        if preset.train.layers is not None and data.input_shape is not None:
            # A layer list's images take the data's own shape (channels, height, width).
            preset.train = preset.train.replace(input_shape=data.input_shape)
        if preset.split == "seed":
            splits = seed_split(data)
        else:
            splits = random_split(
                data,
                validation_fraction=settings.validation_fraction,
                test_fraction=settings.test_fraction,
                seed=seed,
                task=task,
            )
        inputs = RunInputs(splits, None, None, task)
    if inputs.task == "regression":  # run_experiment: the loss "mse" makes it a regression
        preset.train = preset.train.replace(loss="mse", output_activation="identity")
    if inputs.table is not None:
        inputs.table_defaults = size_the_recipe(preset, settings, inputs)
    check_recipe(preset, inputs.splits)
    return inputs


def own_parts(settings: DataSettings, parts: dict[str, Any] | None) -> dict[str, Any]:
    """The user's own validation and test tables: given in Python, or named in settings."""
    named = {"validation": settings.validation_data, "test": settings.test_data}
    given = {name: source for name, source in named.items() if source is not None}
    given.update({name: frame for name, frame in (parts or {}).items() if frame is not None})
    for name, source in given.items():
        if isinstance(source, str) and source in (FRAME_NAME, ARRAYS_NAME):
            raise ConfigError(
                f"the {name} rows were a DataFrame given in Python: give them again "
                f"({name}_data=...)"
            )
    return given


def read_table_inputs(
    source: object,
    settings: DataSettings,
    seed: int,
    status: Status,
    preset: Preset,
    given: dict[str, Any] | None = None,
) -> RunInputs:
    """Read a table (a file, or a DataFrame), guess its columns' roles, split it (or take
    the ``given`` validation and test tables) and fit its preprocessing on the training
    rows; the inputs are made in the dtype ``preset`` will train in (``input_dtype``)."""
    from glassnet.data.tabular import load_table_data, table_splits

    columns = settings.columns
    name = source_name(source)
    with status(f"loading {Path(name).name} ..."):
        data = load_table_data(
            source,  # type: ignore[arg-type]
            settings.target,
            task=settings.task,
            drop=columns.get("drop", ()),
            features=columns.get("features"),
            categorical=columns.get("categorical", ()),
            numeric=columns.get("numeric", ()),
        )
    dtype = input_dtype(preset, settings, data.task)
    if given:
        with status("reading your validation and test rows ..."):
            splits, table = own_splits(data, given, settings, seed, dtype)
        return RunInputs(splits, table, data.columns, data.task)
    with status("fitting the preprocessing on the training rows ..."):
        splits, table = table_splits(
            data,
            validation_fraction=settings.validation_fraction,
            test_fraction=settings.test_fraction,
            seed=seed,
            dtype=dtype,
            release=True,  # the table is needed no more: its columns go as they are used
        )
    return RunInputs(splits, table, data.columns, data.task)


def input_dtype(preset: Preset, settings: DataSettings, task: str) -> Any:
    """The dtype a table's inputs are made in: the one its network trains in, a function of
    (training rows, inputs) when the table recipe chooses it (``table_recipe.defaults_for``:
    float32 for large tables, whose inputs are then never held in float64), else the
    preset's; float64 when a sweep tries several, or a scaler is fitted on the inputs."""
    from glassnet.training import table_recipe

    swept = any("dtype" in params for params in preset.grid())
    if swept or preset.scaling != "none":
        return "float64"
    if "dtype" not in settings.table_sized:
        return preset.train.dtype

    def chosen(rows: int, width: int) -> str:
        return str(table_recipe.defaults_for(rows, width, task)["dtype"])

    return chosen


def own_splits(
    data: Any, given: dict[str, Any], settings: DataSettings, seed: int, dtype: Any = "float64"
) -> tuple[Splits, TablePreprocessor]:
    """The user's own split: the ``given`` validation and test tables as they are, and the
    part not given (if any) held out of ``data`` at its fraction, stratified by class where
    the classes allow it; every other row of ``data`` trains. The inputs are made in
    ``dtype`` (``input_dtype``)."""
    from glassnet.data.tabular import Piece, labelled_part, preprocessed_splits

    pieces = {
        name: Piece(name, part.frame, part.y, part.positions)
        for name, part in ((name, labelled_part(src, data)) for name, src in given.items())
    }
    every = np.arange(len(data.frame))
    train_rows = every
    missing = [name for name in ("validation", "test") if name not in pieces]
    if missing:
        (name,) = missing
        share = settings.validation_fraction if name == "validation" else settings.test_fraction
        classes = data.task == "classification"
        train_rows, held = holdout(every, data.y, share, seed, data.name, classes=classes)
        pieces[name] = Piece(name, data.frame, data.y[held], data.positions[held], held)
    train = Piece("train", data.frame, data.y[train_rows], data.positions[train_rows], train_rows)
    parts = [train, pieces["validation"], pieces["test"]]
    return preprocessed_splits(data, parts, dtype=dtype)


def holdout(
    rows: np.ndarray, y: np.ndarray, share: float, seed: int, name: str, *, classes: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` (indices into ``y``) cut in two (kept, held out ``share``) as ``random_split``
    cuts, stratified by ``y`` when every class has two rows or more; with ``classes``, a
    class the cut leaves out of the kept rows keeps all its rows there, with a warning, as
    ``random_split`` does."""
    from glassnet.data.datasets import classes_to_training, stratified_cut

    kept, held = stratified_cut(rows, y, share, seed, name=name, n_rows=len(rows))
    if classes:
        kept, (held,) = classes_to_training(y, kept, [held])
    return np.sort(kept), np.sort(held)


def named_dataset(source: str, settings: DataSettings, status: Status) -> Dataset:
    """``digits``, an NPZ or numeric CSV file with ``--image-shape``, or an OpenML name."""
    from glassnet.data.sources import load_dataset

    with status(f"loading {source} ..."):
        return load_dataset(
            source,
            settings.target,
            image_shape=settings.image_shape,
            data_home=settings.data_home,
        )


def arrays_dataset(source: Any, target: Any, settings: DataSettings) -> Dataset:
    """Arrays given in Python: ``x`` with ``target=y``, or an ``(x, y)`` pair. Rows of images
    take ``image_shape``; ``(n, h, w)`` or channels-last ``(n, h, w, c)`` images bring theirs."""
    from glassnet.data.images import image_array, with_image_shape

    if isinstance(source, tuple) and len(source) == 2 and target is None:
        source, target = source
    if target is None:
        raise DataError("arrays need their labels: glassnet.train(x, target=y)")
    x, y = np.asarray(source), np.asarray(target)
    image_shape, channels = None, 1
    if x.ndim in (3, 4):  # images: channels-first rows, as an NPZ file of images gives them
        x, image_shape, channels = image_array(x, what="x")
    x = check_features(x, what="x")
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"target must hold one label per row of x ({len(x)}), got shape {y.shape}")
    data = Dataset(x, y, name=ARRAYS_NAME, image_shape=image_shape, channels=channels)
    if settings.image_shape is not None:
        data = with_image_shape(data, tuple(settings.image_shape), ARRAYS_NAME)
    return data


def guess_task(y: np.ndarray) -> str:
    """The task arrays' labels imply, as a table's label column implies it (``infer_task``)."""
    import pandas as pd

    from glassnet.data.tabular import infer_task

    return infer_task(pd.Series(y))


def regression_target(y: np.ndarray, name: str) -> np.ndarray:
    """A regression's target as float64; labels that are not numbers are refused."""
    try:
        values = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            f"{name}: a regression target must be numeric (or use task='classification')"
        ) from None
    if not np.all(np.isfinite(values)):
        raise DataError(f"{name}: the regression target holds NaN or infinite values")
    return values


def size_the_recipe(
    preset: Preset, settings: DataSettings, inputs: RunInputs
) -> dict[str, Any] | None:
    """Give ``preset`` the table recipe's settings the user left open (batch size, epochs,
    patience, ..., the ensemble: ``settings.table_sized``) for this many training rows, and
    the numeric columns its PLR embedding takes; returns the sizes chosen (None: none)."""
    from glassnet.training import table_recipe

    sized = None
    if settings.table_sized:
        given = set(table_recipe.SIZED) - set(settings.table_sized)
        rows, width = inputs.splits.train.x.shape
        sized = table_recipe.sized_settings(dict.fromkeys(given), rows, width, inputs.task)
        preset.train = preset.train.replace(**sized)
        if "ensemble" in settings.table_sized:
            preset.ensemble = sized["ensemble"] = table_recipe.ensemble_for(rows, inputs.task)
    if preset.train.numeric_embedding and preset.train.embedded_columns is None:
        # PLR embeddings take the numeric columns, which come first in a table's inputs.
        preset.train = preset.train.replace(embedded_columns=len(inputs.table.numeric))
    return sized


def check_recipe(preset: Preset, splits: Splits) -> None:
    """Refuse, before any run folder is claimed, a recipe that cannot train on these splits
    (augmentation needs images), and validation or test rows holding a class the training
    rows lack (a numeric target taken for classes)."""
    if preset.train.augments and splits.train.image_shape is None:
        raise ConfigError(
            f"preset {preset.name!r} augments images (augment_shift / augment_degrees / "
            f"augment_subpixel), but {preset.data} has no image shape; choose a preset without "
            "augmentation, or give --image-shape for image rows"
        )
    if preset.train.loss != "mse":
        for part in (splits.validation, splits.test):
            if part.y is not None:
                check_split_classes(part.y, splits.train.y, part.name.split(":")[-1])
