"""What a run shows while it works: a spinner for each step whose length is unknown
(loading, fitting the preprocessing, writing), and bars for the training: a sweep's trials,
then the final network epoch by epoch (its losses beside the bar) or an ensemble member by
member. The same display serves the command line (on stderr) and a notebook (rich draws
there too); ``Display(None)`` shows nothing.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.text import for_console

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, Task

    from glassnet.experiments.records import TrialResult
    from glassnet.training.history import History

# The bars redraw 10 times a second; updating the epoch bar more often (an epoch can take
# under a millisecond, an update ~25 us) would only slow the training down.
EPOCH_UPDATE_SECONDS = 0.05


class Display:
    """Spinners and bars on ``console`` (a rich Console), or nothing when it is None."""

    def __init__(self, console: Console | None) -> None:
        self.console = console

    @classmethod
    def for_user(cls, shown: bool) -> Display:
        """A display on stderr (in a notebook: below the cell, which needs ipywidgets, the
        ``notebook`` extra), or a silent one."""
        if not shown:
            return cls(None)
        from rich.console import Console

        console = Console(stderr=True)
        if console.is_jupyter and not _has_widgets():
            import warnings

            warnings.warn(
                "progress bars in a notebook need ipywidgets: pip install 'glassnet[notebook]'",
                stacklevel=3,
            )
            return cls(None)
        return cls(console)

    def status(self, message: str) -> contextlib.AbstractContextManager[Any]:
        """A spinner for a step whose length is unknown."""
        if self.console is None or self.console.quiet:
            return contextlib.nullcontext()
        return self.console.status(for_console(message))  # it may name a user's file

    def progress(self) -> Progress:
        """A transient progress bar (silent when there is no console)."""
        from rich.console import Console

        # Silent: a quiet console that draws nowhere, not even a notebook's widget.
        silent = Console(quiet=True, file=io.StringIO(), force_jupyter=False)
        return progress(self.console or silent)

    @contextmanager
    def training(
        self, n_trials: int, epochs: int, ensemble: int = 1, patience: int | None = None
    ) -> Iterator[dict[str, Callable[..., None] | None]]:
        """Bars for a sweep of ``n_trials`` trainings (none when 0), then for the final
        training, with its losses and best epoch so far. With early stopping (``patience``)
        the final bar's ETA is a range: to the epoch where it stops if no better epoch comes,
        and at most to the last. Yields the ``on_trial``, ``on_epoch`` and ``on_member``
        keyword arguments of ``run_experiment``."""
        single = ensemble == 1
        with self.progress() as bars:
            sweep_task = bars.add_task(
                f"sweep ({n_trials} trainings)", total=n_trials, visible=n_trials > 0
            )
            best_score = -1.0
            name = "final training" if n_trials else "training"
            # After a sweep the final network may be the winning trial itself, with nothing
            # left to train (the seed preset): its bar appears only once an epoch is reported,
            # so it never sits frozen at 0 while the sweep runs.
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


def _has_widgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


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
            full = 0.0 if task.finished else task.time_remaining
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
