"""How commands talk: progress on stderr, tables on stdout, or one JSON document for scripts.

``--quiet`` silences progress and tables; ``--json`` replaces the tables with a JSON
document on stdout (progress still goes to stderr unless ``--quiet``).
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from typing import Any

import numpy as np


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bars or tables")
    parser.add_argument("--json", action="store_true",
                        help="print the result as one JSON document on stdout, for scripts")


class Output:
    """The consoles of one command, set from its ``--quiet`` / ``--json`` flags."""

    def __init__(self, args: argparse.Namespace) -> None:
        from rich.console import Console

        self.quiet = bool(getattr(args, "quiet", False))
        self.as_json = bool(getattr(args, "json", False))
        self.progress_console = Console(stderr=True, quiet=self.quiet)
        self.console = Console(quiet=self.quiet or self.as_json)

    def progress(self):
        return progress(self.progress_console)

    @contextmanager
    def status(self, message: str):
        """A spinner for a step whose length is unknown (loading, downloading, drawing)."""
        with self.progress_console.status(message):
            yield

    def print(self, *things: Any) -> None:
        self.console.print(*things)

    def result(self, document: dict[str, Any]) -> None:
        """Print ``document`` as JSON on stdout when ``--json`` was given."""
        if self.as_json:
            sys.stdout.write(json.dumps(document, indent=2, default=_plain) + "\n")


def progress(console):
    """A transient rich progress bar: description, bar, done/total, elapsed time."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    )


def _plain(value: Any) -> Any:
    """JSON for NumPy scalars and arrays."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def key_value_table(title: str, rows: list[tuple[str, Any]]):
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    for key, value in rows:
        table.add_row(key, format_value(value))
    return table


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value) or "none"
    return "none" if value is None else str(value)
