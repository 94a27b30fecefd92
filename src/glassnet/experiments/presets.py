"""Named experiments, stored as data: one TOML file per preset in ``presets/`` beside this."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from glassnet import config_limits
from glassnet.data.preprocessing import Scaler
from glassnet.data.tables import is_table
from glassnet.errors import ConfigError
from glassnet.training.config import TrainConfig

PRESET_FOLDER = resources.files("glassnet.experiments") / "presets"
PRESET_KEYS = {
    "description",
    "data",
    "split",
    "scaling",
    "select",
    "train",
    "sweep",
    "ensemble",
    "refit",
}
# What the final model is trained on once the sweep has chosen its settings.
REFITS = ("train", "train+valid")


@dataclass
class Preset:
    """An experiment: data, split, scaling, base TrainConfig and the grid swept over it.

    ``ensemble`` networks (different seeds) are trained with the chosen settings and their
    probabilities averaged; ``refit="train+valid"`` trains them on train and validation.
    """

    name: str
    description: str
    train: TrainConfig
    sweep: dict[str, list[Any]] = field(default_factory=dict)
    data: str = "digits"
    split: str = "seed"
    scaling: str = "none"
    select: str = "validation_accuracy"
    ensemble: int = 1
    refit: str = "train"

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of the swept values, in file order (first key varies slowest)."""
        keys = list(self.sweep)
        combinations = itertools.product(*self.sweep.values())
        return [dict(zip(keys, values, strict=True)) for values in combinations]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "data": self.data,
            "split": self.split,
            "scaling": self.scaling,
            "select": self.select,
            "ensemble": self.ensemble,
            "refit": self.refit,
            "train": self.train.to_dict(),
            "sweep": self.sweep,
        }


def read_toml(source: Path | str, what: str) -> dict[str, Any]:
    """Parsed TOML from a file (a ``Path``) or from text (a ``str``); a missing file or bad
    TOML raises ConfigError starting with ``what`` (e.g. "config file 'run.toml'"); size,
    nesting, encoding and the path's kind are limited (``glassnet.config_limits``)."""
    return config_limits.read_toml(source, what)


def expand_values(name: str, spec: Any) -> list[Any]:
    """A swept value list: literal ``[...]``, or ``{logspace = [a, b, n]}`` or
    ``{linspace = [a, b, n]}``."""
    if isinstance(spec, list):
        return spec
    if isinstance(spec, dict) and len(spec) == 1:
        ((kind, args),) = spec.items()
        if kind in ("logspace", "linspace"):
            start, stop, num = config_limits.value_range(name, kind, args)
            return [float(v) for v in getattr(np, kind)(start, stop, num)]
    raise ConfigError(
        f"sweep values for {name!r} must be a list or {{logspace = [start, stop, num]}}"
    )


def from_dict(
    name: str,
    data: dict[str, Any],
    *,
    image_shape: object = None,
    table: bool | None = None,
    where: str | None = None,
) -> Preset:
    """Build a Preset from parsed TOML, refusing unknown keys. ``image_shape`` (of a config
    file or flag) says a table file's rows are images, which changes the default scaling;
    ``table`` says so for data given in Python, whose name tells nothing. Errors start with
    ``where`` (default: ``preset NAME``), so they name what the user wrote."""
    who = where or f"preset {name!r}"
    unknown = sorted(set(data) - PRESET_KEYS)
    if unknown:
        raise ConfigError(f"{who}: unknown key(s) {unknown}; known: {sorted(PRESET_KEYS)}")
    train_table, sweep_table = data.get("train", {}), data.get("sweep", {})
    if not isinstance(train_table, dict) or not isinstance(sweep_table, dict):
        raise ConfigError(f"{who}: [train] and [sweep] must be tables")
    try:
        train = TrainConfig.from_dict(dict(train_table))
    except ConfigError as exc:
        raise ConfigError(f"{who}: {exc}") from None
    sweep = {key: expand_values(key, spec) for key, spec in sweep_table.items()}
    known = set(train.to_dict())
    bad = sorted(set(sweep) - known)
    if bad:
        raise ConfigError(f"{who} sweeps unknown setting(s) {bad}; known: {sorted(known)}")
    source = data.get("data", "digits")
    # Defaults that follow the data: the digits have their fixed seed split; a table's own
    # preprocessing already standardises its numeric columns (and leaves one-hot ones 0/1).
    split = data.get("split", "seed" if source == "digits" else "random")
    if split not in ("random", "seed"):
        raise ConfigError(f"{who}: split must be 'random' or 'seed', got {split!r}")
    if split == "seed" and source != "digits":
        raise ConfigError(
            f"{who}: split 'seed' is the digits' fixed split; use split = 'random' for {source}"
        )
    if table is None:
        table = is_table(source, image_shape)
    scaling = data.get("scaling", "none" if table else "standard")
    scalings = ("none", *Scaler.KINDS)
    if scaling not in scalings:
        raise ConfigError(f"{who}: scaling must be one of {list(scalings)}")
    if data.get("select", "validation_accuracy") != "validation_accuracy":
        raise ConfigError(f"{who}: select must be 'validation_accuracy'")
    ensemble = data.get("ensemble", 1)
    if not isinstance(ensemble, int) or isinstance(ensemble, bool) or ensemble < 1:
        raise ConfigError(f"{who}: ensemble must be a positive integer, got {ensemble!r}")
    check_refit(data.get("refit", "train"))
    preset = Preset(
        name=name,
        description=data.get("description", ""),
        train=train,
        sweep=sweep,
        data=source,
        split=split,
        scaling=scaling,
        select=data.get("select", "validation_accuracy"),
        ensemble=ensemble,
        refit=data.get("refit", "train"),
    )
    for params in preset.grid():
        try:  # every grid point must be a valid config before anything runs
            train.replace(**params)
        except ConfigError as exc:
            raise ConfigError(f"{who}: sweep point {params}: {exc}") from None
    return preset


def check_refit(refit: str) -> str:
    if refit not in REFITS:
        raise ConfigError(f"refit must be one of {list(REFITS)}, got {refit!r}")
    return refit


def names() -> list[str]:
    """The built-in presets' names."""
    folder = PRESET_FOLDER
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load(name_or_path: str) -> Preset:
    """A built-in preset by name, or a preset TOML file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.is_file():
        text, name = path.read_text(), path.stem
    elif name_or_path in names():
        return from_dict(name_or_path, read_builtin(name_or_path))
    else:
        raise ConfigError(f"unknown preset {name_or_path!r}; available: {', '.join(names())}")
    return from_dict(name, read_toml(text, f"preset {name!r}"))


def read_builtin(name: str) -> dict[str, Any]:
    """The parsed TOML of the built-in preset ``name`` (one of ``names()``)."""
    return read_toml((PRESET_FOLDER / f"{name}.toml").read_text(), f"preset {name!r}")
