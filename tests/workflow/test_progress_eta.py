"""The final training's bar with early stopping: its ETA is a range (to the epoch where it
stops if nothing improves, and at most to the last epoch), and it names the best epoch."""

import io
import re

import pytest
from rich.console import Console

from glassnet.training.history import History
from glassnet.workflow import progress
from glassnet.workflow.progress import Display


class Clock:
    """A fake clock the bars read: one second per epoch."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture(autouse=True)
def every_epoch_shown(monkeypatch):
    monkeypatch.setattr(progress, "EPOCH_UPDATE_SECONDS", 0.0)


def bar_text(patience, validation_loss, epochs=300):
    """The final bar's ETA and status after one epoch a second with these validation losses."""
    out = Display(Console(file=io.StringIO(), force_terminal=True, width=250))
    clock, made = Clock(), []
    make = out.progress

    def timed():
        made.append(make())
        made[-1].get_time = clock
        return made[-1]

    out.progress = timed
    with out.training(0, epochs, patience=patience) as callbacks:
        for epoch in range(1, len(validation_loss) + 1):
            clock.now = float(epoch)
            history = History(
                train_loss=[0.5] * epoch,
                validation_loss=list(validation_loss[:epoch]),
                validation_accuracy=[0.9] * epoch,
            )
            callbacks["on_epoch"](epoch, epochs, history)
        bars = made[0]
        task = bars.tasks[1]
        (eta,) = [c for c in bars.columns if type(c).__name__ == "EtaColumn"]
        return f"{eta.render(task).plain} {task.fields['status']}"


def test_with_early_stopping_the_eta_says_when_it_may_stop_and_at_most():
    # Best epoch 4, patience 10: with no better epoch it stops after epoch 14, 6 s from
    # now at one epoch a second; the whole budget of 300 epochs is 292 s away.
    losses = [0.5, 0.4, 0.3, 0.2, 0.25, 0.26, 0.27, 0.28]
    line = bar_text(10, losses)
    assert "eta 0:00:06, at most 0:04:52" in line
    assert "best epoch 4: 0.2000 (0.9000)" in line


def test_without_early_stopping_the_eta_is_the_whole_budget():
    line = bar_text(None, [0.5, 0.4, 0.3, 0.2])
    assert re.search(r"eta 0:04:56(?!,)", line)
    assert "at most" not in line
