"""One TOML layout for ``glassnet train``, ``glassnet run`` and ``glassnet sweep``, read here
and nowhere else. A key means the same in every command; the command-line flags override it::

    base = "seed"              # optional: a preset (name or file) whose recipe this file changes
    description = "penguins, a small ReLU net"
    data = "penguins.csv"      # a table, FILE.npz, digits or an OpenML name; beside this file
    target = "species"         # the label column (table) or array (NPZ)
    task = "classification"    # or "regression" (default: inferred from the target)
    validation_fraction = 0.2  # shares of the rows held out (they make split = "random")
    test_fraction = 0.2
    validation_data = "valid.csv"  # or your own split: rows to validate / test on, from
    test_data = "test.csv"         # tables of their own (beside this file)
    split = "random"           # or "seed": the tutorial's fixed digits split
    scaling = "none"           # "standard", "minmax", "global" (default: none on tables)
    image_shape = [28, 28]     # rows are images of this shape ([h, w, c]: channels last)
    ensemble = 1               # train and run: networks trained with the chosen settings ...
    refit = "train"            # ... on "train" or "train+valid"
    seeds = [0, 1, 2]          # sweep: seeds, and search = "grid" | "random", n_iter, search_seed
    [columns]                  # drop, features, categorical, numeric: lists of column names
    [train]                    # TrainConfig settings
    [sweep]                    # swept settings: lists, {logspace|linspace = [a, b, n]}

A key of this layout that a command cannot use (``seeds`` for train, ``refit`` for sweep) is
ignored with a one-line warning, so one file serves all three commands; any other key is
refused. Without a built-in preset as its ``base`` a file starts from ``TrainConfig``'s
defaults, or on a table from the tabular recipe (``TABLE_DEFAULTS``); ``presets.from_dict``
fills in ``split`` (seed on the digits, random otherwise) and ``scaling`` (none on tables,
standard otherwise; a table file with an ``image_shape`` is images, not a table: ``is_table``).
``data`` is required by ``glassnet train``; run and sweep default to the
digits.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glassnet.data.tables import is_table
from glassnet.errors import ConfigError, DataWarning
from glassnet.experiments import presets
from glassnet.training import table_recipe
from glassnet.training.config import TrainConfig

COMMANDS = ("train", "run", "sweep")
# What reading and splitting the data needs, beside ``data`` (a preset key).
DATA_KEYS = (
    "target",
    "task",
    "validation_fraction",
    "test_fraction",
    "image_shape",
    "validation_data",
    "test_data",
)
PLAN_KEYS = ("seeds", "search", "n_iter", "search_seed")
# Each key of the layout, and the commands that use it: a preset's own keys (so a key added
# to presets is part of the layout), what reading and splitting the data needs, a base.
USED_BY: dict[str, tuple[str, ...]] = {
    **{key: COMMANDS for key in sorted(presets.PRESET_KEYS)},
    **{key: COMMANDS for key in ("base", "columns", *DATA_KEYS)},
    # What the final model is made of: a sweep trains no final model.
    "ensemble": ("train", "run"),
    "refit": ("train", "run"),
    # How a sweep searches: train and run take one --seed and sweep every combination.
    **{key: ("sweep",) for key in PLAN_KEYS},
}
WHY_UNUSED = {
    "sweep": "it trains no final model",
    "train": "only glassnet sweep searches over seeds or at random",
    "run": "only glassnet sweep searches over seeds or at random",
}
COLUMN_KEYS = ("drop", "features", "categorical", "numeric")
TASKS = ("classification", "regression")
SEARCHES = ("grid", "random")
# What a random search samples from (glassnet.experiments.plan); a grid needs lists.
DISTRIBUTIONS = ("loguniform", "uniform", "randint")

# The recipe a table gets unless the file or the flags say otherwise (issue 24): the fixed part
# and, until the data are read, the small-table sizes; batch size, epochs and patience left to
# the recipe are then chosen from the training rows (``table_recipe.sized_settings``, called
# where the table is split; the keys left open travel in the data settings as "table_sized").
TABLE_DEFAULTS: dict[str, Any] = table_recipe.table_defaults(1)


def defaults_by_kind() -> dict[str, dict[str, Any]]:
    """The training settings that apply when neither a file, a preset nor a flag sets them:
    on a table the tabular recipe (``TABLE_DEFAULTS``), on other data (the digits, arrays,
    images) ``TrainConfig``'s, which are the seed experiment's recipe."""
    base = TrainConfig().to_dict()
    return {"table": {**base, **TABLE_DEFAULTS}, "other": base}


@dataclass(frozen=True)
class DataSettings:
    """What reading and splitting the data takes, typed: the one place each of these keys
    gets its default (a file's or flag's value replaces it, checked by ``check_keys``).

    ``data`` names the source (a file, ``digits``, an OpenML name; ``DataFrame`` or
    ``arrays`` for data given in Python); ``columns`` maps drop / features / categorical /
    numeric to column names."""

    data: str = "digits"
    target: str | None = None
    task: str | None = None
    columns: dict[str, list[str]] = field(default_factory=dict)
    validation_fraction: float = 0.2
    test_fraction: float = 0.2
    image_shape: tuple[int, ...] | None = None
    data_home: str | None = None
    # The user's own split: validation and test rows from tables of their own, instead of
    # shares of ``data`` (None: split off ``data``).
    validation_data: str | None = None
    test_data: str | None = None
    # The table recipe's settings the user left open (batch size, epochs, patience, the
    # ensemble): chosen from the training rows once the table is read (table_recipe).
    table_sized: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The settings in run.json's layout (lists, not tuples)."""
        record = dataclasses.asdict(self)
        record["image_shape"] = None if self.image_shape is None else list(self.image_shape)
        record["table_sized"] = list(self.table_sized)
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> DataSettings:
        """The settings a run.json recorded (keys of other commands' records are ignored)."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {key: value for key, value in record.items() if key in known}
        shape = values.get("image_shape")
        values["image_shape"] = None if shape is None else tuple(shape)
        values["table_sized"] = tuple(values.get("table_sized") or ())
        values["columns"] = {
            key: list(names) for key, names in (values.get("columns") or {}).items()
        }
        for key in ("validation_fraction", "test_fraction"):
            if values.get(key) is None:
                values.pop(key, None)
        return cls(**values)


@dataclass
class Settings:
    """A file (and flags) read for one command: the preset to run, what reading and
    splitting the data takes (``data``), and a sweep's search (``plan``: seeds, search,
    n_iter, search_seed, and ``space``, the swept settings as written)."""

    preset: presets.Preset
    data: DataSettings = field(default_factory=DataSettings)
    plan: dict[str, Any] = field(default_factory=dict)

    @property
    def user_data(self) -> bool:
        """True unless the data are the digits with their fixed seed split (the presets' own)."""
        return not (self.preset.data == "digits" and self.preset.split == "seed")


def read_file(path: str | Path) -> dict[str, Any]:
    """The keys of a config file, checked against the layout; a relative ``data`` path, or
    ``base`` naming a .toml file, is found beside the file when it is there."""
    path = Path(path)
    file = presets.read_toml(path, f"config file {str(path)!r}")
    check_keys(file, f"config file {str(path)!r}")
    for key in ("data", "base", "validation_data", "test_data"):
        value = file.get(key)
        if key == "base" and not (isinstance(value, str) and Path(value).suffix == ".toml"):
            continue  # a built-in preset's name is no path
        if isinstance(value, str) and not Path(value).is_absolute():
            if (path.parent / value).is_file():
                file[key] = str(path.parent / value)
    return file


def check_keys(layout: dict[str, Any], where: str) -> None:
    """Refuse keys outside the layout and tables of the wrong shape, naming them."""
    unknown = sorted(set(layout) - set(USED_BY))
    if unknown:
        hint = ""
        if set(unknown) & set(COLUMN_KEYS):
            hint = " (column lists go in a [columns] table)"
        elif set(unknown) & {"seed"}:
            hint = " (the seed is the --seed flag; a sweep's are `seeds = [...]`)"
        raise ConfigError(f"{where}: unknown key(s) {unknown}{hint}; known: {sorted(USED_BY)}")
    for table in ("columns", "train", "sweep"):
        if not isinstance(layout.get(table, {}), dict):
            raise ConfigError(f"{where}: {table} must be a table ([{table}])")
    settings = {f.name for f in dataclasses.fields(TrainConfig)}
    for table in ("train", "sweep"):
        unknown = sorted(set(layout.get(table, {})) - settings)
        if unknown:
            what = "has unknown training" if table == "train" else "sweeps unknown"
            raise ConfigError(
                f"{where}: [{table}] {what} setting(s) {unknown}; known: {sorted(settings)}"
            )
    columns = layout.get("columns", {})
    bad = sorted(set(columns) - set(COLUMN_KEYS))
    if bad:
        raise ConfigError(f"{where}: [columns] may hold only {list(COLUMN_KEYS)}, not {bad}")
    for key, names in columns.items():
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ConfigError(f"{where}: [columns] {key} must be a list of column names")
    for key in ("data", "target", "base", "description", "validation_data", "test_data"):
        if key in layout and not isinstance(layout[key], str):
            raise ConfigError(f"{where}: {key} must be a string, got {layout[key]!r}")
    for key in ("validation_fraction", "test_fraction"):
        value = layout.get(key, 0.5)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise ConfigError(f"{where}: {key} must be a number between 0 and 1, got {value!r}")
    shape = layout.get("image_shape", [1, 1])
    if not (
        isinstance(shape, (list, tuple))
        and len(shape) in (2, 3)
        and all(isinstance(side, int) and not isinstance(side, bool) and side > 0 for side in shape)
    ):
        raise ConfigError(
            f"{where}: image_shape must be [height, width] or [height, width, channels], "
            f"got {shape!r}"
        )
    if layout.get("task") is not None and layout["task"] not in TASKS:
        raise ConfigError(f"{where}: task must be one of {list(TASKS)}, got {layout['task']!r}")
    check_plan_keys(layout, where)


def check_plan_keys(layout: dict[str, Any], where: str) -> None:
    """A sweep's own keys: ``seeds`` a list of seeds (or the text --seeds takes), ``search``
    a known search, ``n_iter`` a positive integer, ``search_seed`` a seed."""
    if "seeds" in layout:
        seeds = layout["seeds"]
        if isinstance(seeds, str):
            try:
                parse_seeds(seeds)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
        elif not (isinstance(seeds, list) and seeds and all(_is_seed(seed) for seed in seeds)):
            raise ConfigError(
                f'{where}: seeds must be a list of non-negative integers (or "0-4"), got {seeds!r}'
            )
    if "search" in layout and layout["search"] not in SEARCHES:
        raise ConfigError(
            f"{where}: search must be one of {list(SEARCHES)}, got {layout['search']!r}"
        )
    n_iter = layout.get("n_iter", 1)
    if not (_is_int(n_iter) and n_iter >= 1):
        raise ConfigError(f"{where}: n_iter must be an integer >= 1, got {n_iter!r}")
    if not _is_seed(layout.get("search_seed", 0)):
        raise ConfigError(
            f"{where}: search_seed must be a non-negative integer, got {layout['search_seed']!r}"
        )


def parse_seeds(text: str) -> list[int]:
    """``0,1,2`` or a range ``0-4`` (both ends included): what --seeds and ``seeds = "..."``
    take."""
    try:
        if re.fullmatch(r"\s*\d+\s*-\s*\d+\s*", text):
            first, last = (int(part) for part in text.split("-"))
            seeds = list(range(first, last + 1))
        else:
            seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        seeds = []
    if not seeds or not all(_is_seed(seed) for seed in seeds):
        raise ConfigError(f"seeds must look like 0,1,2 or 0-4, got {text!r}")
    return seeds


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_seed(value: object) -> bool:
    return _is_int(value) and 0 <= value < 2**32  # type: ignore[operator]


def override(layout: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``layout`` with ``changes`` (the command-line flags, in the same layout) on top: a
    top-level key is replaced; ``[columns]``, ``[train]`` and ``[sweep]`` change key by key."""
    merged = dict(layout)
    for key, value in changes.items():
        if value is None:
            continue
        if key in ("columns", "train", "sweep"):
            merged[key] = {**merged.get(key, {}), **value}
        else:
            merged[key] = value
    return merged


def with_base(layout: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """``layout`` on top of the preset its ``base`` names: the base's keys and ``[train]``
    settings are underneath; a ``[sweep]`` in ``layout`` replaces the base's."""
    name = layout.get("base")
    if name is None:
        return layout
    if depth > 8:
        raise ConfigError(f"base presets refer to each other in a circle (at {name!r})")
    if Path(name).suffix == ".toml" and Path(name).is_file():
        # A preset file is a file of this layout: read as if its keys were written here.
        recipe = with_base(read_file(name), depth + 1)
        builtin = recipe.pop("base", None)
    elif Path(name).suffix == ".toml":
        raise ConfigError(
            f"base preset file {name!r} does not exist (a config file's relative base is "
            "looked up beside it)"
        )
    elif name in presets.names():
        recipe, builtin = presets.read_builtin(name), name
    else:
        raise ConfigError(
            f"unknown preset {name!r}; available: {', '.join(presets.names())}, or a .toml file"
        )
    merged = {**recipe, **{key: value for key, value in layout.items() if key != "base"}}
    merged["train"] = {**recipe.get("train", {}), **layout.get("train", {})}
    merged["columns"] = {**recipe.get("columns", {}), **layout.get("columns", {})}
    new_data = "data" in layout and layout["data"] != recipe.get("data", "digits")
    if new_data and "split" not in layout:
        merged["split"] = "random"  # a preset's seed split belongs to the digits
    if builtin is not None:
        merged["base"] = builtin  # the recipe is a built-in preset's: no tabular defaults
    return merged


def resolve(
    path: str | Path | dict[str, Any] | None,
    command: str,
    *,
    changes: dict[str, Any] | None = None,
    default_base: str | None = None,
    table: bool | None = None,
    changes_where: str = "flags",
) -> Settings:
    """Read the config file at ``path`` (if any; a dict is a file's keys given in Python) for
    ``command``, put ``changes`` (the flags, in the same layout) on top, and build what the
    command runs. ``default_base`` is the
    preset used when neither names one (``glassnet run`` and ``sweep`` without a file: seed).
    ``table`` says whether the data are a table when their name cannot (data given in
    Python); None decides from the name (``is_table``)."""
    if isinstance(path, dict):
        layout, where, name = dict(path), "config", None
    elif path is not None:
        layout, where, name = read_file(path), f"config file {str(path)!r}", Path(path).stem
    else:
        layout, where, name = {}, "flags", None
    return resolve_layout(
        layout,
        command,
        changes=changes,
        default_base=default_base,
        name=name,
        where=where,
        table=table,
        changes_where=changes_where,
    )


def resolve_layout(
    layout: dict[str, Any],
    command: str,
    *,
    changes: dict[str, Any] | None = None,
    default_base: str | None = None,
    name: str | None = None,
    where: str = "settings",
    table: bool | None = None,
    changes_where: str = "flags",
) -> Settings:
    """``resolve`` for a parsed file (``layout``); ``name`` (default: the base's or the
    command's) names the preset."""
    check_keys(layout, where)
    changes = {key: value for key, value in (changes or {}).items() if value is not None}
    check_keys(changes, changes_where)
    layout = override(layout, changes)
    for key in sorted(layout):
        if command not in USED_BY[key]:
            warnings.warn(
                f"{where}: {key!r} is not used by glassnet {command} ({WHY_UNUSED[command]}); "
                "ignored",
                DataWarning,
                stacklevel=3,
            )
    fractions = [key for key in ("validation_fraction", "test_fraction") if key in layout]
    if fractions and layout.get("split") == "seed":
        raise ConfigError(
            f"{where}: {' and '.join(fractions)} need split = 'random' (the seed split is fixed)"
        )
    if fractions:
        layout["split"] = "random"  # held-out shares are asked for: even on the digits
    if "base" not in layout and default_base is not None:
        layout["base"] = default_base
    name = name or Path(layout.get("base", command)).stem
    layout = with_base(layout)
    # A base preset's own keys that this command cannot use go without a word.
    layout = {key: value for key, value in layout.items() if command in USED_BY[key]}
    return build(layout, command, name, table=table, where=where)


def build(
    layout: dict[str, Any],
    command: str,
    name: str,
    *,
    table: bool | None = None,
    where: str | None = None,
) -> Settings:
    """The preset, data settings and search plan of a complete ``layout``."""
    if "data" not in layout and command == "train":
        raise ConfigError("say which data to train on: --data FILE.csv|FILE.npz|digits|NAME")
    data = layout.get("data", "digits")
    if table is None:
        table = is_table(data, layout.get("image_shape"))
    train = dict(layout.get("train", {}))
    sized = []
    if table and "base" not in layout:
        sized = [key for key in table_recipe.SIZED if key not in train]  # left to the rows
        sized += [] if "ensemble" in layout else ["ensemble"]
        train = {**TABLE_DEFAULTS, **train}  # the tabular recipe under the file's settings
    # "full" batches and "none" patience are spelled in words (TOML has no null).
    for setting, word in (("batch_size", "full"), ("early_stopping_patience", "none")):
        if train.get(setting) == word:
            train[setting] = None
    recipe = {key: layout[key] for key in presets.PRESET_KEYS if key in layout}
    recipe.update(train=train, data=data)
    recipe.setdefault("description", f"glassnet {command}")
    space = recipe.pop("sweep", {}) if command == "sweep" else recipe.get("sweep", {})
    for key, spec in space.items():
        if command != "sweep" and isinstance(spec, dict) and set(spec) <= set(DISTRIBUTIONS):
            raise ConfigError(
                f"[sweep] {key} = {spec} is a distribution, for glassnet sweep's random "
                "search; give a list of values or {logspace = [a, b, n]}"
            )
    preset = presets.from_dict(
        name, recipe, image_shape=layout.get("image_shape"), table=table, where=where
    )
    settings = DataSettings.from_dict(
        {
            **{key: layout.get(key) for key in DATA_KEYS},
            "data": data,
            "columns": layout.get("columns", {}),
            "table_sized": sized,
        }
    )
    plan = {key: layout[key] for key in PLAN_KEYS if key in layout}
    if isinstance(plan.get("seeds"), str):
        plan["seeds"] = parse_seeds(plan["seeds"])
    plan["space"] = dict(space)
    resolved = Settings(preset, settings, plan)
    given = settings.target is not None or settings.task is not None
    if command != "train" and given and not resolved.user_data:
        raise ConfigError(
            "--target and --task go with --data FILE (or data = ... in the config file); "
            "the digits have their own labels"
        )
    return resolved
