"""How commands talk: progress on stderr, tables on stdout, or one JSON document for scripts.

``--quiet`` silences progress and tables; ``--json`` replaces the tables with a JSON
document on stdout (progress still goes to stderr unless ``--quiet``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.report.format import format_params, format_value

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, Task
    from rich.table import Table
    from rich.text import Text

    from glassnet.experiments.experiment import ExperimentResult
    from glassnet.experiments.trials import TrialResult
    from glassnet.training.history import History


# Piped or redirected output is read by programs and pagers, not by a terminal 80 columns
# wide (rich's default for anything that is not a terminal): lines are left unwrapped.
PIPED_WIDTH = 1000
# The bars redraw 10 times a second; updating the epoch bar more often (an epoch can take
# under a millisecond, an update ~25 us) would only slow the training down.
EPOCH_UPDATE_SECONDS = 0.05


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


@contextmanager
def training_progress(
    out: Output, n_trials: int, epochs: int, ensemble: int = 1, patience: int | None = None
) -> Iterator[dict[str, Callable[..., None] | None]]:
    """Bars for a sweep of ``n_trials`` trainings (none when 0), then for the final training:
    epoch by epoch, with its current losses and best epoch so far, for one network; member
    by member for an ``ensemble``. With early stopping (``patience``) the final bar's ETA is
    a range: to the epoch where it stops if no better epoch comes, and at most to the last.
    Yields the ``on_trial``, ``on_epoch`` and ``on_member`` keyword arguments of
    ``run_experiment``."""
    single = ensemble == 1
    with out.progress() as bars:
        sweep_task = bars.add_task(
            f"sweep ({n_trials} trainings)", total=n_trials, visible=n_trials > 0
        )
        best_score = -1.0
        name = "final training" if n_trials else "training"
        # After a sweep the final network may be the winning trial itself, with nothing left
        # to train (the seed preset): its bar appears only once an epoch is reported, so it
        # never sits frozen at 0 while the sweep runs.
        final_task = bars.add_task(
            name if single else f"{name} ({ensemble} networks)",
            total=epochs if single else ensemble,
            visible=not (single and n_trials),
            start=not (single and n_trials),
        )

        def on_trial(trial: TrialResult) -> None:
            nonlocal best_score
            if np.isfinite(trial.score):  # a diverged trial scores -inf
                best_score = max(best_score, trial.score)
            status = f"best {best_score:.4f} validation accuracy" if best_score >= 0 else ""
            bars.update(sweep_task, advance=1, status=status)

        shown_at = -1.0

        def on_epoch(epoch: int, epochs: int, history: History) -> None:
            nonlocal shown_at
            now = time.monotonic()
            if now - shown_at < EPOCH_UPDATE_SECONDS and epoch < epochs:
                return
            shown_at = now
            bars.start_task(final_task)  # once started, this does nothing
            status = epoch_status(history)
            bars.update(
                final_task,
                completed=epoch,
                total=epochs,
                visible=True,
                status=status,
                stop_by=early_stop_epoch(history, epochs, patience),
            )

        yield {
            "on_trial": on_trial,
            "on_epoch": on_epoch,
            "on_member": None if single else lambda _: bars.advance(final_task),
        }


def epoch_status(history: History) -> str:
    """The latest losses (and validation accuracy) of a training, for its progress bar."""
    status = f"loss {history.train_loss[-1]:.4f}" if history.train_loss else ""
    if history.validation_loss:
        status += f", validation {history.validation_loss[-1]:.4f}"
    if history.validation_accuracy:
        status += f" (accuracy {history.validation_accuracy[-1]:.4f})"
    if len(history.validation_loss) > 1:
        # The epoch early stopping would keep: the first of the lowest validation losses.
        best = int(np.argmin(history.validation_loss))
        status += f"; best epoch {best + 1}: {history.validation_loss[best]:.4f}"
        if len(history.validation_accuracy) > best:
            status += f" ({history.validation_accuracy[best]:.4f})"
    return status


def early_stop_epoch(history: History, epochs: int, patience: int | None) -> int | None:
    """The epoch count at which early stopping ends training if no better validation loss
    comes (the best epoch plus ``patience``, at most ``epochs``); None without it."""
    if patience is None or not history.validation_loss:
        return None
    best = int(np.argmin(history.validation_loss)) + 1
    return min(epochs, best + patience)


def progress(screen: Console) -> Progress:
    """A transient rich progress bar: description, bar, done/total, elapsed and remaining
    time (ETA), and a status the task may carry (e.g. the current loss)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.table import Column
    from rich.text import Text

    class EtaColumn(ProgressColumn):
        """Time remaining; for a training that may stop early (a ``stop_by`` field) the range
        from that epoch to the last: ``eta 0:00:05, at most 0:33:00``."""

        def render(self, task: Task) -> Text:
            full = task.time_remaining
            if task.finished:
                full = 0.0
            if full is None:
                return Text("eta -:--:--", style="progress.remaining")
            shown = f"eta {_clock(full)}"
            stop_by, speed = task.fields.get("stop_by"), task.speed
            if stop_by is not None and speed and stop_by < (task.total or 0):
                early = max(0.0, (stop_by - task.completed) / speed)
                shown = f"eta {_clock(early)}, at most {_clock(full)}"
            return Text(shown, style="progress.remaining")

    class StatusColumn(ProgressColumn):
        """A task's ``status`` field (empty for tasks without one), cut to one line."""

        def render(self, task: Task) -> Text:
            return Text(str(task.fields.get("status", "")), no_wrap=True, overflow="ellipsis")

    return Progress(
        TextColumn("{task.description}"),
        # The bar and the status share what the other columns leave (a third, two thirds).
        BarColumn(bar_width=None, table_column=Column(ratio=1)),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        EtaColumn(),
        StatusColumn(table_column=Column(no_wrap=True, overflow="ellipsis", ratio=2)),
        console=screen,
        transient=True,
        expand=True,
    )


def _clock(seconds: float) -> str:
    """``H:MM:SS``, as rich shows elapsed and remaining time."""
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


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
        return (
            f"{result.selection_accuracy:.4f} (the sweep's score when chosen; the refit on "
            "train+valid leaves no unseen validation rows)"
        )
    return "n/a (the final model trained on train+valid: no unseen validation rows are left)"
