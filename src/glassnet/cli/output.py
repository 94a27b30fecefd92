"""How commands talk: progress on stderr, tables on stdout, or one JSON document for scripts.

``--quiet`` silences progress and tables; ``--json`` replaces the tables with a JSON
document on stdout (progress still goes to stderr unless ``--quiet``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.report.format import format_params, format_value

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from glassnet.experiments.experiment import ExperimentResult


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--quiet`` and ``--json``, which every command takes, to ``parser``."""
    parser.add_argument("--quiet", action="store_true", help="no progress bars or tables")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the result as one JSON document on stdout, for scripts",
    )


class Output:
    """The consoles of one command, set from its ``--quiet`` / ``--json`` flags."""

    def __init__(self, args: argparse.Namespace) -> None:
        from rich.console import Console

        self.quiet = bool(getattr(args, "quiet", False))
        self.as_json = bool(getattr(args, "json", False))
        self.progress_console = Console(stderr=True, quiet=self.quiet)
        self.console = Console(quiet=self.quiet or self.as_json)

    def progress(self) -> Progress:
        """A progress bar on stderr (silent under ``--quiet``)."""
        return progress(self.progress_console)

    @contextmanager
    def status(self, message: str) -> Iterator[None]:
        """A spinner for a step whose length is unknown (loading, downloading, drawing)."""
        with self.progress_console.status(message):
            yield

    def print(self, *things: Any) -> None:
        """Print tables or text on stdout, unless ``--quiet`` or ``--json``."""
        self.console.print(*things)

    def result(self, document: dict[str, Any]) -> None:
        """Print ``document`` as JSON on stdout when ``--json`` was given."""
        if self.as_json:
            sys.stdout.write(json.dumps(document, indent=2, default=_plain) + "\n")


def default_run_dir(prefix: str = "") -> Path:
    """Where a command writes when ``--out`` is not given: ``runs/<prefix><timestamp>``."""
    return Path("runs") / f"{prefix}{datetime.now():%Y%m%d-%H%M%S}"


@contextmanager
def training_progress(
    out: Output, n_trials: int, epochs: int, ensemble: int = 1
) -> Iterator[dict[str, Callable[..., None] | None]]:
    """Bars for a sweep of ``n_trials`` trainings (none when 0), then for the final training:
    epoch by epoch for one network, member by member for an ``ensemble``; yields the
    ``on_trial``, ``on_epoch`` and ``on_member`` keyword arguments of ``run_experiment``."""
    single = ensemble == 1
    with out.progress() as bars:
        sweep_task = bars.add_task(
            f"sweep ({n_trials} trainings)", total=n_trials, visible=n_trials > 0
        )
        name = "final training" if n_trials else "training"
        final_task = bars.add_task(
            name if single else f"{name} ({ensemble} networks)",
            total=epochs if single else ensemble,
            start=not (single and n_trials),
        )

        def on_epoch(epoch: int, epochs: int) -> None:
            bars.start_task(final_task)  # once started, this does nothing
            bars.update(final_task, completed=epoch)

        yield {
            "on_trial": lambda _: bars.advance(sweep_task),
            "on_epoch": on_epoch,
            "on_member": None if single else lambda _: bars.advance(final_task),
        }


def progress(console: Console) -> Progress:
    """A transient rich progress bar: description, bar, done/total, elapsed time."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


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

    table = Table(title=title, show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    for key, value in rows:
        table.add_row(key, format_value(value))
    return table


def results_table(result: ExperimentResult, title: str | None = None) -> Table:
    """Validation accuracy of each sweep trial; the chosen configuration's row in green."""
    from rich.table import Table

    from glassnet.report.run_folder import chosen_rows

    title = title or f"{result.preset.name} preset, seed {result.seed}"
    table = Table(title=title)
    keys = list(result.preset.sweep)
    for key in keys:
        table.add_column(key, justify="right")
    # A regression has no accuracy: its trials are chosen by (and shown with) validation loss.
    score = "validation_loss" if result.model.task == "regression" else "validation_accuracy"
    table.add_column(score.replace("_", " "), justify="right")
    records = [trial.record() for trial in result.trials]
    chosen = chosen_rows(records, result.best_params, keys)
    for i, record in enumerate(records):
        accuracy = record.get(score)
        shown = "diverged" if "diverged" in record or accuracy is None else f"{accuracy:.4f}"
        table.add_row(
            *(format_value(record[key]) for key in keys),
            shown,
            style="bold green" if i in chosen else None,
        )
    return table


def results_summary(result: ExperimentResult) -> str:
    """The headline numbers and where they were written, as a few lines of rich markup."""
    folder = Path(result.outputs["metrics"]).parent
    members = len(result.model.networks)
    networks = "1 network" if members == 1 else f"an ensemble of {members} networks"
    trained_on = "train+valid" if result.refit == "train+valid" else "train"
    validation = f"validation accuracy [bold]{validation_value(result)}[/]"
    test = f"test accuracy [bold]{result.test_accuracy or 0:.4f}[/]"
    if result.model.task == "regression":
        r2 = result.validation_r2
        validation = f"validation R² [bold]{'n/a' if r2 is None else f'{r2:.4f}'}[/]"
        test = f"test R² [bold]{result.regression_metrics()['test_r2']:.4f}[/]"
    return (
        f"chosen: {format_params(result.best_params) or 'the preset settings'}\n"
        f"final model ({networks}, trained on {trained_on}): {validation}, "
        f"{test}  ({result.seconds:.1f} s)\n"
        f"written to {folder}/: report.html, metrics.json, model.npz, predictions.npz, figures"
    )


def validation_value(result: ExperimentResult) -> str:
    """The final model's validation accuracy, or, when it trained on validation (a refit),
    the chosen setting's held-out accuracy from the sweep."""
    if result.validation_accuracy is not None:
        return f"{result.validation_accuracy:.4f}"
    if result.selection_accuracy is not None:
        return f"{result.selection_accuracy:.4f} (when chosen, before the refit)"
    return "n/a (refit on train+valid)"
