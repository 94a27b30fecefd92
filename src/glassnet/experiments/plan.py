"""What a sweep runs: a grid (or a random search) over training settings, times seeds.

A plan starts from a preset (data, split, scaling and base ``TrainConfig``), changes some
settings, and sweeps others. Each trial's generator is spawned from its seed, exactly as
``glassnet run`` spawns them, so a trial gives the same result wherever it runs.

A sweep reads the config file that ``glassnet train`` and ``glassnet run`` read
(``glassnet.experiments.config_file``: base, data, target, [columns], [train], [sweep], ...,
meaning the same in all three); only these keys are the sweep's own (train and run ignore
them with a warning)::

    seeds = [0, 1, 2]             # or "0-2", as --seeds takes them
    search = "grid"               # or "random", with n_iter and search_seed
    n_iter = 20
    search_seed = 0

A random search's [sweep] also takes {loguniform = [a, b]}, {uniform = [a, b]} and
{randint = [a, b]} besides lists and {logspace = [a, b, n]}.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glassnet import config_limits
from glassnet.data.datasets import Splits
from glassnet.errors import ConfigError
from glassnet.experiments import config_file, presets
from glassnet.experiments.config_file import DISTRIBUTIONS, SEARCHES, parse_seeds
from glassnet.experiments.presets import Preset
from glassnet.experiments.trials import Trial


@dataclass
class SweepPlan:
    """A base preset, the swept settings (``space``), the seeds and the search kind."""

    preset: Preset
    space: dict[str, Any] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=lambda: [0])
    search: str = "grid"
    n_iter: int = 10
    search_seed: int = 0
    # What reading and splitting the user's data takes (None: the preset's own data).
    data: config_file.DataSettings | None = None

    def __post_init__(self) -> None:
        if self.search not in SEARCHES:
            raise ConfigError(f"search must be one of {list(SEARCHES)}, got {self.search!r}")
        if not self.seeds:
            raise ConfigError("a sweep needs at least one seed")
        self.seeds = [int(seed) for seed in self.seeds]
        for name, value in (("seed", min(self.seeds)), ("search_seed", self.search_seed)):
            if not 0 <= int(value) < 2**32:
                raise ConfigError(f"{name} must be in 0..4294967295, got {value}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds repeat: {self.seeds}")
        known = set(self.preset.train.to_dict())
        unknown = sorted(set(self.space) - known)
        if unknown:
            raise ConfigError(f"cannot sweep unknown setting(s) {unknown}; known: {sorted(known)}")
        if self.search == "random" and (int(self.n_iter) != self.n_iter or self.n_iter < 1):
            raise ConfigError(f"n_iter must be a positive integer, got {self.n_iter}")
        if self.search == "random":
            config_limits.check_count("the random search", int(self.n_iter))
        for key, spec in self.space.items():
            if self.search == "grid" or not _is_distribution(spec):
                self.space[key] = _values(key, spec)
        if self.search == "grid":
            config_limits.check_count(
                "the grid", int(np.prod([len(v) for v in self.space.values()], dtype=object))
            )
        for changes in self.settings():  # every configuration is valid before anything runs
            self.preset.train.replace(**changes)

    @property
    def keys(self) -> list[str]:
        """The swept settings' names, in order."""
        return list(self.space)

    def settings(self) -> list[dict[str, Any]]:
        """The swept settings of every configuration, in order (first key varies slowest)."""
        if not self.space:
            return [{}]
        if self.search == "grid":
            keys = list(self.space)
            return [
                dict(zip(keys, values, strict=True))
                for values in itertools.product(*self.space.values())
            ]
        # The search draws from its own stream, so adding seeds never changes the configs.
        rng = np.random.default_rng(self.search_seed)
        return [
            {key: _sample(spec, rng) for key, spec in self.space.items()}
            for _ in range(int(self.n_iter))
        ]

    def trials(self) -> list[Trial]:
        """One trial per (configuration, seed); configuration i under seed s uses the i-th
        child of ``default_rng(s)``, as ``glassnet run --seed s`` does for its sweep."""
        settings = self.settings()
        configs = [self.preset.train.replace(**changes) for changes in settings]
        streams = {seed: np.random.default_rng(seed).spawn(len(settings)) for seed in self.seeds}
        trials = []
        for i, (changes, config) in enumerate(zip(settings, configs, strict=True)):
            for seed in self.seeds:
                params = {**changes, "seed": seed}
                trials.append(Trial(len(trials), config, streams[seed][i], params))
        return trials

    def to_dict(self) -> dict[str, Any]:
        """The plan as plain data (JSON-ready)."""
        return {
            "preset": self.preset.to_dict(),
            "space": self.space,
            "seeds": self.seeds,
            "search": self.search,
            "n_iter": self.n_iter,
            "search_seed": self.search_seed,
        }


def _values(key: str, spec: Any) -> list[Any]:
    if isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in DISTRIBUTIONS:
        raise ConfigError(
            f"{key!r} = {spec} is a distribution: use search = 'random' (--random N), "
            "or give a list of values"
        )
    values = presets.expand_values(key, spec)  # lists and {logspace|linspace = [a, b, n]}
    if not values:
        raise ConfigError(f"sweep values for {key!r} are empty")
    return values


def _is_distribution(spec: Any) -> bool:
    return isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in DISTRIBUTIONS


def _sample(spec: Any, rng: np.random.Generator) -> Any:
    if isinstance(spec, list):
        return spec[int(rng.integers(len(spec)))]
    ((kind, bounds),) = spec.items()
    low, high = config_limits.sample_bounds(kind, bounds)
    if kind == "loguniform":
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))
    if kind == "uniform":
        return float(rng.uniform(low, high))
    return int(rng.integers(int(low), int(high) + 1))  # randint: both ends included


def load_plan(path: str | Path) -> SweepPlan:
    """A plan from a config file (``glassnet.experiments.config_file``'s layout)."""
    return plan_from_flags(path)


def plan_from_flags(
    path: str | Path | None = None,
    *,
    base: str | None = None,
    settings: list[str] = (),  # type: ignore[assignment]
    grid: list[str] = (),  # type: ignore[assignment]
    seeds: str | None = None,
    n_random: int | None = None,
    search_seed: int | None = None,
    data: dict[str, Any] | None = None,
) -> SweepPlan:
    """A plan from an optional config file, then command-line changes on top of it: ``data``
    holds the data flags in the file's layout (``data``, ``target``, ``task``, ``columns``).
    Without a file, ``base`` or other data the sweep starts from the seed preset."""
    return plan_of_changes(
        path,
        {**(data or {}), "base": base},
        settings=list(settings),
        grid=list(grid),
        seeds=seeds,
        n_random=n_random,
        search_seed=search_seed,
    )


def plan_of_changes(
    config: str | Path | dict[str, Any] | None,
    changes: dict[str, Any],
    *,
    settings: dict[str, Any] | list[str] | None = None,
    training: dict[str, Any] | None = None,
    grid: dict[str, Any] | list[str] | None = None,
    seeds: list[int] | str | None = None,
    n_random: int | None = None,
    search_seed: int | None = None,
    table: bool | None = None,
) -> SweepPlan:
    """A plan from a config file (a path, or its keys as a dict) with ``changes`` (data and
    base, in the file's layout) on top; ``settings`` and ``grid`` as dicts, or as the
    command line's ``KEY=VALUE`` texts, and ``training`` (keywords) over ``settings``;
    ``seeds`` a list or ``0-4``; ``n_random`` draws make it a random search. ``table`` says
    whether data given in Python are a table."""
    changes = dict(changes)
    if isinstance(settings, list):
        settings = dict(parse_assignment(text, many=False) for text in settings)
    changes["train"] = {**(settings or {}), **(training or {})}
    if isinstance(grid, list):
        grid = dict(parse_assignment(text, many=True) for text in grid)
    if grid:
        changes["sweep"] = dict(grid)
    if seeds is not None:
        changes["seeds"] = parse_seeds(seeds) if isinstance(seeds, str) else list(seeds)
    if n_random is not None:
        changes["search"], changes["n_iter"] = "random", n_random
    changes["search_seed"] = search_seed
    # Without a file, the seed experiment on the digits; other data get their defaults.
    digits = config is None and changes.get("data") in (None, "digits")
    default_base = "seed" if digits else None
    resolved = config_file.resolve(
        config, "sweep", changes=changes, default_base=default_base, table=table
    )
    return _plan_of(resolved)


def plan_from_dict(data: dict[str, Any], *, name: str = "sweep") -> SweepPlan:
    """A plan from parsed TOML in the config file layout; without ``base`` it starts from the
    seed preset, and without a ``sweep`` table it sweeps what the base preset does."""
    resolved = config_file.resolve_layout(
        dict(data), "sweep", default_base="seed", name=name, where=f"sweep {name!r}"
    )
    return _plan_of(resolved)


def _plan_of(resolved: config_file.Settings) -> SweepPlan:
    plan = resolved.plan
    if not plan["space"] and len(plan.get("seeds", [0])) == 1:
        # One training is no sweep: a preset without [sweep] (cnn, or no preset on a file's
        # data) would otherwise run it silently. Seeds alone are a sweep (of seed variance).
        raise ConfigError(
            "nothing to sweep: give --grid, a [sweep] table or --seeds 0-4 (or --preset seed)"
        )
    return SweepPlan(
        resolved.preset,
        space=dict(plan["space"]),
        seeds=list(plan.get("seeds", [0])),
        search=plan.get("search", "grid"),
        n_iter=plan.get("n_iter", 10),
        search_seed=plan.get("search_seed", 0),
        data=resolved.data if resolved.user_data else None,
    )


def load_arrays(
    preset: Preset,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], int]:
    """The preset's training and validation arrays (scaled, labels as class indices) and
    the number of classes; the test split is never touched by a sweep."""
    train, validation, n_outputs, _ = load_inputs(preset)
    return train, validation, n_outputs


def load_inputs(
    preset: Preset,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], int, dict[str, Any]]:
    """``load_arrays`` plus what augmentation needs to know about the inputs, as keyword
    arguments of ``run_trial``: the images' ``image_shape`` and the ``scaler`` applied."""
    from glassnet.experiments.experiment import load_splits

    return inputs_of(preset, load_splits(preset))


def inputs_of(
    preset: Preset, splits: Splits
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], int, dict[str, Any]]:
    """``load_inputs`` for given ``splits`` (a user's data): the arrays a run trains on
    (``experiment.run_data``; a regression's targets standardised, one output)."""
    from glassnet.experiments.experiment import run_data

    data = run_data(preset, splits)
    inputs = {"image_shape": data.image_shape, "scaler": data.scaler}
    return data.train, data.validation, data.n_outputs, inputs


def parse_assignment(text: str, *, many: bool) -> tuple[str, Any]:
    """``KEY=VALUE`` from a flag; VALUE is TOML (``0.1``, ``[32, 16]``, ``"relu"``) or a bare word.

    With ``many``, VALUE is a comma-separated list (``0.1,0.2``, ``[32],[64,32]``,
    ``relu,tanh``) or one of ``logspace(a,b,n)``, ``linspace(a,b,n)``,
    ``loguniform(a,b)``, ``uniform(a,b)``, ``randint(a,b)``.
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"expected KEY=VALUE, got {text!r}")
    call = re.fullmatch(r"\s*(\w+)\((.*)\)\s*", value)
    if many and call and call.group(1) in ("logspace", "linspace", *DISTRIBUTIONS):
        return key, {call.group(1): _toml_value(f"[{call.group(2)}]", text)}
    if many:
        try:
            return key, _toml_value(f"[{value}]", text)
        except ConfigError:
            return key, [word.strip() for word in value.split(",")]
    try:
        return key, _toml_value(value, text)
    except ConfigError:
        return key, value.strip()


def _toml_value(text: str, origin: str) -> Any:
    try:
        return presets.read_toml(f"value = {text}", "value")["value"]
    except ConfigError:
        raise ConfigError(f"cannot read the value in {origin!r}") from None
