"""The settings a run takes, as the command line and a notebook both see them: the column
list keys, the defaults that apply per kind of data, and the check of one training setting
(so a bad flag is named as the flag, before anything is read)."""

from __future__ import annotations

from typing import Any

from glassnet.errors import ConfigError
from glassnet.experiments.config_file import COLUMN_KEYS, DataSettings, defaults_by_kind
from glassnet.training.config import TrainConfig
from glassnet.training.table_recipe import SIZED, SMALL_TABLE

# {"table": {...}, "other": {...}}: every TrainConfig setting's default per kind of data; on
# a table, those of a table of up to SMALL_TABLE training rows. The SIZED ones follow the
# rows above that (glassnet.training.table_recipe.defaults_for).
DEFAULTS = defaults_by_kind()

__all__ = [
    "COLUMN_KEYS",
    "DEFAULTS",
    "SIZED",
    "SMALL_TABLE",
    "DataSettings",
    "TrainConfig",
    "check_setting",
]


def check_setting(name: str, value: Any, *, given_as: str) -> None:
    """Refuse a training setting's value on its own, naming it as the user gave it
    (``given_as``: ``--epochs``, or ``epochs=``): ConfigError saying what it must be."""
    if name not in DEFAULTS["other"]:
        raise ConfigError(f"{given_as}: unknown training setting {name!r}")
    try:
        TrainConfig().replace(**{name: value})
    except ConfigError as exc:
        raise ConfigError(f"{given_as}: {exc}") from None
