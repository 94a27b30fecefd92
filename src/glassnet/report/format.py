"""Settings and metrics as short text, the same in the terminal and in report.html."""

from __future__ import annotations

from typing import Any


def format_value(value: Any) -> str:
    """A setting or metric as text: floats to 4 significant digits, lists joined, None "none"."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value) or "none"
    return "none" if value is None else str(value)


def format_params(params: dict[str, Any]) -> str:
    """``l2 = 0.5995, lr = 0.2``: the chosen sweep settings on one line."""
    return ", ".join(f"{key} = {format_value(value)}" for key, value in params.items())
