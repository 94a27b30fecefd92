"""How commands talk: progress on stderr, tables on stdout, or one JSON document for scripts.

``--quiet`` silences progress and tables; ``--json`` replaces the tables with a JSON
document on stdout (progress still goes to stderr unless ``--quiet``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.report.format import format_params, format_value
from glassnet.text import for_console, plain
from glassnet.workflow.progress import Display

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

# Piped or redirected output is read by programs and pagers, not by a terminal 80 columns
# wide (rich's default for anything that is not a terminal): lines are left unwrapped.
PIPED_WIDTH = 1000


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--quiet`` and ``--json``, which every command takes, to ``parser``."""
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bars or tables (a result line stays)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the result as one JSON document on stdout, for scripts",
    )


class Output:
    """The consoles of one command, set from its ``--quiet`` / ``--json`` flags."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.quiet = bool(getattr(args, "quiet", False))
        self.as_json = bool(getattr(args, "json", False))
        self.progress_console = console(stderr=True, quiet=self.quiet)
        self.console = console(quiet=self.quiet or self.as_json)
        # The one line a command exists to print (evaluate's accuracy) survives --quiet.
        self.result_console = console(quiet=self.as_json)
        # What the workflow shows while it works: spinners and bars, on stderr.
        self.display = Display(self.progress_console)

    def progress(self) -> Progress:
        """A progress bar on stderr (silent under ``--quiet``)."""
        return self.display.progress()

    @contextmanager
    def status(self, message: str) -> Iterator[None]:
        """A spinner for a step whose length is unknown (loading, downloading, drawing)."""
        with self.display.status(message):
            yield

    def print(self, *things: Any) -> None:
        """Print tables or text on stdout, unless ``--quiet`` or ``--json``."""
        self.console.print(*things)

    def warn(self, texts: list[str]) -> None:
        """Warnings about a result, on stderr as ``glassnet: warning: ...`` lines, the way
        data warnings are shown (even under ``--quiet``: they say the result misleads)."""
        for text in texts:
            print(f"glassnet: warning: {plain(text)}", file=sys.stderr)

    def headline(self, text: str) -> None:
        """Print a command's result line on stdout, even under ``--quiet`` (not ``--json``)."""
        self.result_console.print(text)

    def result(self, document: dict[str, Any]) -> None:
        """Print ``document`` as JSON on stdout when ``--json`` was given."""
        if self.as_json:
            sys.stdout.write(json.dumps(document, indent=2, default=_plain) + "\n")


def console(**options: Any) -> Console:
    """A rich Console that wraps at the terminal's width, and not at all when piped (unless
    ``COLUMNS`` says otherwise)."""
    from rich.console import Console

    made = Console(**options)
    if not made.is_terminal and not os.environ.get("COLUMNS"):
        made.width = PIPED_WIDTH
    return made


def default_run_dir(prefix: str = "") -> Path:
    """Where a command writes when ``--out`` is not given: ``runs/<prefix><timestamp>``."""
    return Path("runs") / f"{prefix}{datetime.now():%Y%m%d-%H%M%S}"


def _plain(value: Any) -> Any:
    """JSON for NumPy scalars and arrays."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def key_value_table(title: str, rows: list[tuple[str, Any]]) -> Table:
    """A two-column table of named values, each shown with ``format_value``."""
    from rich.table import Table

    table = Table(title=for_console(title), show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    for key, value in rows:
        table.add_row(for_console(key), for_console(format_value(value)))
    return table


def results_table(metrics: dict[str, Any], title: str | None = None) -> Table:
    """Validation accuracy of each sweep trial of a run (its metrics.json); the chosen
    configuration's row in green."""
    from rich.table import Table

    from glassnet.report.run_folder import chosen_rows

    title = title or f"{metrics['preset']} preset, seed {metrics['seed']}"
    table = Table(title=for_console(title))
    keys = list(metrics["config"].get("sweep") or {})
    for key in keys:
        table.add_column(for_console(key), justify="right")
    # A regression has no accuracy: its trials are chosen by (and shown with) validation loss.
    score = "validation_loss" if metrics.get("task") == "regression" else "validation_accuracy"
    table.add_column(score.replace("_", " "), justify="right")
    records = metrics.get("sweep") or []
    chosen = chosen_rows(records, metrics.get("best_params") or {}, keys)
    for i, record in enumerate(records):
        accuracy = record.get(score)
        shown = "diverged" if "diverged" in record or accuracy is None else f"{accuracy:.4f}"
        table.add_row(
            *(for_console(format_value(record[key])) for key in keys),
            shown,
            style="bold green" if i in chosen else None,
        )
    return table


def results_summary(metrics: dict[str, Any]) -> str:
    """The headline numbers of a run and where they were written, as a few lines of rich
    markup."""
    folder = Path(metrics["outputs"]["metrics"]).parent
    members = metrics.get("ensemble", 1)
    networks = "1 network" if members == 1 else f"an ensemble of {members} networks"
    trained_on = "train+valid" if metrics.get("refit") == "train+valid" else "train"
    validation = f"validation accuracy [bold]{validation_value(metrics)}[/]"
    test = f"test accuracy [bold]{metrics.get('test_accuracy') or 0:.4f}[/]"
    if metrics.get("task") == "regression":
        r2 = metrics.get("validation_r2")
        validation = f"validation R² [bold]{'n/a' if r2 is None else f'{r2:.4f}'}[/]"
        test = f"test R² [bold]{metrics['test_r2']:.4f}[/]"
    return (
        f"chosen: {format_params(metrics.get('best_params') or {}) or 'the preset settings'}\n"
        f"final model ({networks}, trained on {trained_on}): {validation}, "
        f"{test}  ({metrics['seconds']:.1f} s)\n"
        f"written to {folder}/: report.html, metrics.json, model.npz, predictions.npz, figures"
    )


def validation_value(metrics: dict[str, Any]) -> str:
    """The final model's validation accuracy, or, when it trained on validation (a refit),
    the chosen setting's held-out accuracy from the sweep."""
    if metrics.get("validation_accuracy") is not None:
        return f"{metrics['validation_accuracy']:.4f}"
    if metrics.get("selection_accuracy") is not None:
        return (
            f"{metrics['selection_accuracy']:.4f} (the sweep's score when chosen; the refit on "
            "train+valid leaves no unseen validation rows)"
        )
    return "n/a (the final model trained on train+valid: no unseen validation rows are left)"
