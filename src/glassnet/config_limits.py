"""Limits on what a settings file or a sweep may ask for, checked before any work starts.

``read_toml`` reads a TOML file or text: the path must be a regular file (a FIFO would block),
at most ``MAX_CONFIG_BYTES``, UTF-8, and nested at most ``MAX_DEPTH`` deep (5,000 nested
arrays would exhaust the parser's recursion). ``value_range`` and ``sample_bounds`` check a
sweep's ``{logspace|linspace = [a, b, n]}`` and ``{loguniform|uniform|randint = [a, b]}``
arguments. Every refusal is a ``ConfigError`` naming what is wrong.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from glassnet.errors import ConfigError
from glassnet.paths import read_bytes_bounded

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

MAX_CONFIG_BYTES = 1 << 20
MAX_DEPTH = 32
# More values in one swept setting, or configurations in one sweep, is a typo, not a plan.
MAX_SWEEP_VALUES = 10_000


def read_toml(source: Path | str, what: str) -> dict[str, Any]:
    """Parsed TOML from a file (a ``Path``) or from text (a ``str``), within the limits."""
    if isinstance(source, Path):
        data = read_bytes_bounded(source, MAX_CONFIG_BYTES, what, ConfigError)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{what} is not UTF-8 (byte {exc.start}); save it as UTF-8 text"
            ) from None
    else:
        text = source
        if len(text) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{what} is longer than {MAX_CONFIG_BYTES:,} characters")
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{what} nests arrays or tables too deeply") from None
    if _depth(parsed) > MAX_DEPTH:
        raise ConfigError(f"{what} nests arrays or tables more than {MAX_DEPTH} deep")
    return parsed


def _depth(value: Any) -> int:
    """How deeply ``value`` nests lists and mappings (a plain value is 0), without recursion."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        item, depth = pending.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            pending += [(child, depth + 1) for child in item.values()]
        elif isinstance(item, list):
            pending += [(child, depth + 1) for child in item]
    return deepest


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def value_range(name: str, kind: str, args: Any) -> tuple[float, float, int]:
    """``(start, stop, num)`` of ``{logspace|linspace = [start, stop, num]}``: finite numbers
    and a whole count in 1..``MAX_SWEEP_VALUES`` (logspace's exponents at most 300 in size)."""
    if not (isinstance(args, list) and len(args) == 3):
        raise ConfigError(f"{name!r}: {kind} takes [start, stop, num], got {args!r}")
    start, stop, num = args
    if not (_number(start) and _number(stop)):
        raise ConfigError(f"{name!r}: {kind}'s start and stop must be numbers, got {args!r}")
    if not (_number(num) and num == int(num) and 1 <= num <= MAX_SWEEP_VALUES):
        raise ConfigError(
            f"{name!r}: {kind}'s num must be a whole number in 1..{MAX_SWEEP_VALUES}, got {num!r}"
        )
    if kind == "logspace" and max(abs(start), abs(stop)) > 300:
        raise ConfigError(f"{name!r}: logspace exponents must be within +-300, got {args!r}")
    return float(start), float(stop), int(num)


def sample_bounds(kind: str, bounds: Any) -> tuple[float, float]:
    """``(low, high)`` of ``{loguniform|uniform|randint = [low, high]}``: finite numbers with
    low <= high, positive for loguniform, whole numbers for randint."""
    if not (isinstance(bounds, list) and len(bounds) == 2):
        raise ConfigError(f"{{{kind} = ...}} needs [low, high], got {bounds!r}")
    low, high = bounds
    if not (_number(low) and _number(high)) or low > high:
        raise ConfigError(f"{kind} bounds must be two numbers, low <= high, got {bounds!r}")
    if kind == "loguniform" and low <= 0:
        raise ConfigError(f"loguniform bounds must be positive, got {bounds}")
    if kind == "randint" and not (low == int(low) and high == int(high) and abs(high) < 2**62):
        raise ConfigError(f"randint bounds must be whole numbers, got {bounds!r}")
    return low, high


def check_count(what: str, count: int) -> None:
    """Refuse a sweep of more than ``MAX_SWEEP_VALUES`` configurations."""
    if count > MAX_SWEEP_VALUES:
        raise ConfigError(
            f"{what} has {count:,} configurations; at most {MAX_SWEEP_VALUES:,} are run in "
            "one sweep"
        )
