"""What a run shows while it works: the epoch bar (ETA, current loss), the sweep's bar and
its best score, kept to one line on a narrow terminal."""

import io
import re

import pytest
from rich.console import Console

from glassnet.experiments.records import TrialResult
from glassnet.training.history import History
from glassnet.workflow import progress
from glassnet.workflow.progress import Display

ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


def terminal_output(width=200):
    """A Display whose progress bars draw on a fake terminal; returns it and the terminal."""
    screen = io.StringIO()
    return Display(Console(file=screen, force_terminal=True, width=width)), screen


def recording(out, monkeypatch):
    """Keep each Progress that ``out`` makes, so a test can read its tasks."""
    made = []
    make = out.progress

    def keep():
        made.append(make())
        return made[-1]

    monkeypatch.setattr(out, "progress", keep)
    return made


@pytest.fixture(autouse=True)
def every_epoch_shown(monkeypatch):
    """Tests call on_epoch faster than the bar is meant to be updated: show each one."""
    monkeypatch.setattr(progress, "EPOCH_UPDATE_SECONDS", 0.0)


def history(epochs):
    return History(
        train_loss=[1.0 / (e + 1) for e in range(epochs)],
        validation_loss=[2.0 / (e + 1) for e in range(epochs)],
        validation_accuracy=[0.5 + e / 100 for e in range(epochs)],
    )


def test_the_epoch_bar_shows_an_eta_and_the_current_loss():
    out, screen = terminal_output()
    with out.training(0, 10) as callbacks:
        for epoch in range(1, 5):
            callbacks["on_epoch"](epoch, 10, history(epoch))
    shown = ANSI.sub("", screen.getvalue())
    assert "4/10" in shown
    assert re.search(r"eta \d+:\d\d:\d\d", shown)  # a time remaining, not -:--:--
    assert "loss 0.2500, validation 0.5000 (accuracy 0.5300)" in shown


def test_on_an_80_column_terminal_each_bar_keeps_to_one_line():
    out, screen = terminal_output(width=80)
    with out.training(0, 1000) as callbacks:
        callbacks["on_epoch"](500, 1000, history(500))
    frames = ANSI.sub("", screen.getvalue()).replace("\r", "\n").splitlines()
    bars = [line for line in frames if line.startswith("training")]
    assert bars and all(len(line) <= 80 for line in frames)
    assert "loss 0.0020" in bars[-1]  # the status is cut at the end, the loss stays


def test_fast_epochs_update_the_bar_a_few_times_a_second_and_always_at_the_end(monkeypatch):
    monkeypatch.setattr(progress, "EPOCH_UPDATE_SECONDS", 60.0)
    out, _ = terminal_output()
    made = recording(out, monkeypatch)
    with out.training(0, 500) as callbacks:
        final = made[0].tasks[1]
        for epoch in range(1, 500):
            callbacks["on_epoch"](epoch, 500, history(epoch))
        assert final.completed == 1  # the first epoch was shown, the rest came too fast
        callbacks["on_epoch"](500, 500, history(500))
        assert final.completed == 500 and final.fields["status"].startswith("loss 0.0020")


def test_the_final_bar_appears_when_it_has_epochs_to_show(monkeypatch):
    out, _ = terminal_output()
    made = recording(out, monkeypatch)
    with out.training(2, 10) as callbacks:
        sweep, final = made[0].tasks
        callbacks["on_trial"](TrialResult(0, {"l2": 0.1}, history(10)))
        callbacks["on_trial"](TrialResult(1, {"l2": 1.0}, history(4)))
        # While the sweep runs the final training has not begun: no bar frozen at 0/10.
        assert not final.visible
        assert sweep.completed == 2
        assert sweep.fields["status"] == "best 0.5900 validation accuracy"
        for epoch in range(1, 4):
            callbacks["on_epoch"](epoch, 10, history(epoch))
        assert final.visible and final.completed == 3
        assert final.fields["status"].startswith("loss 0.3333")


def test_a_diverged_trial_leaves_the_best_score_alone(monkeypatch):
    out, _ = terminal_output()
    made = recording(out, monkeypatch)
    with out.training(2, 10) as callbacks:
        callbacks["on_trial"](TrialResult(0, {}, history(3)))
        callbacks["on_trial"](TrialResult(1, {}, History(), diverged="loss is nan"))
        assert made[0].tasks[0].fields["status"] == "best 0.5200 validation accuracy"


def test_a_silent_display_shows_nothing_and_still_gives_the_callbacks(capsys):
    with Display(None).training(2, 10) as callbacks:
        callbacks["on_trial"](TrialResult(0, {}, history(3)))
        callbacks["on_epoch"](1, 10, history(1))
        with Display(None).status("loading ..."):
            pass
    assert capsys.readouterr() == ("", "")
