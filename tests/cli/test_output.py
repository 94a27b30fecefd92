"""How commands print: the epoch bar (ETA, current loss), unwrapped piped output, and the
--quiet / --json flags that every command takes."""

import argparse
import io
import json
import re

import pytest
from rich.console import Console

from glassnet.cli import output
from glassnet.cli.app import main
from glassnet.experiments.experiment import run_experiment
from glassnet.experiments.presets import from_dict
from glassnet.experiments.trials import TrialResult
from glassnet.training.history import History

ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


def terminal_output(width=200):
    """An Output whose progress bars draw on a fake terminal; returns it and the terminal."""
    out = output.Output(argparse.Namespace(quiet=False, json=False))
    screen = io.StringIO()
    out.progress_console = Console(file=screen, force_terminal=True, width=width)
    return out, screen


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
    monkeypatch.setattr(output, "EPOCH_UPDATE_SECONDS", 0.0)


def history(epochs):
    return History(
        train_loss=[1.0 / (e + 1) for e in range(epochs)],
        validation_loss=[2.0 / (e + 1) for e in range(epochs)],
        validation_accuracy=[0.5 + e / 100 for e in range(epochs)],
    )


def test_the_epoch_bar_shows_an_eta_and_the_current_loss():
    out, screen = terminal_output()
    with output.training_progress(out, 0, 10) as callbacks:
        for epoch in range(1, 5):
            callbacks["on_epoch"](epoch, 10, history(epoch))
    shown = ANSI.sub("", screen.getvalue())
    assert "4/10" in shown
    assert re.search(r"eta \d+:\d\d:\d\d", shown)  # a time remaining, not -:--:--
    assert "loss 0.2500, validation 0.5000 (accuracy 0.5300)" in shown


def test_on_an_80_column_terminal_each_bar_keeps_to_one_line():
    out, screen = terminal_output(width=80)
    with output.training_progress(out, 0, 1000) as callbacks:
        callbacks["on_epoch"](500, 1000, history(500))
    frames = ANSI.sub("", screen.getvalue()).replace("\r", "\n").splitlines()
    bars = [line for line in frames if line.startswith("training")]
    assert bars and all(len(line) <= 80 for line in frames)
    assert "loss 0.0020" in bars[-1]  # the status is cut at the end, the loss stays


def test_fast_epochs_update_the_bar_a_few_times_a_second_and_always_at_the_end(monkeypatch):
    monkeypatch.setattr(output, "EPOCH_UPDATE_SECONDS", 60.0)
    out, _ = terminal_output()
    made = recording(out, monkeypatch)
    with output.training_progress(out, 0, 500) as callbacks:
        final = made[0].tasks[1]
        for epoch in range(1, 500):
            callbacks["on_epoch"](epoch, 500, history(epoch))
        assert final.completed == 1  # the first epoch was shown, the rest came too fast
        callbacks["on_epoch"](500, 500, history(500))
        assert final.completed == 500 and final.fields["status"].startswith("loss 0.0020")


def test_the_final_bar_appears_when_it_has_epochs_to_show(monkeypatch):
    out, _ = terminal_output()
    made = recording(out, monkeypatch)
    with output.training_progress(out, 2, 10) as callbacks:
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
    with output.training_progress(out, 2, 10) as callbacks:
        callbacks["on_trial"](TrialResult(0, {}, history(3)))
        callbacks["on_trial"](TrialResult(1, {}, History(), diverged="loss is nan"))
        assert made[0].tasks[0].fields["status"] == "best 0.5200 validation accuracy"


def test_run_experiment_reports_every_epoch_with_its_history():
    preset = from_dict("tiny", {"train": {"hidden_layer_sizes": [4], "epochs": 5}})
    seen = []
    result = run_experiment(
        preset, n_jobs=1, on_epoch=lambda e, n, h: seen.append((e, n, h.train_loss[-1]))
    )
    assert [(e, n) for e, n, _ in seen] == [(e, 5) for e in range(1, 6)]
    assert [loss for _, _, loss in seen] == result.history.train_loss


def test_piped_output_is_not_wrapped_at_80_columns(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    preset = tmp_path / "tiny.toml"
    preset.write_text("[train]\nhidden_layer_sizes = [4]\nepochs = 3\n[sweep]\nl2 = [0.1, 1.0]\n")
    out = tmp_path / "a-folder-with-a-long-name-so-the-line-would-wrap-at-eighty-columns"
    assert main(["run", "--preset", str(preset), "--jobs", "1", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(len(line) > 80 for line in lines)
    summary = next(line for line in lines if line.startswith("final model"))
    assert "test accuracy" in summary  # one line, not cut in two
    written = next(line for line in lines if line.startswith("written to"))
    assert written.endswith("figures")


def test_columns_still_sets_the_width_of_piped_output(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    assert output.console(file=io.StringIO()).width == 60


@pytest.mark.parametrize("flag", ["--json", "--quiet"])
def test_presets_takes_json_and_quiet(flag, capsys):
    assert main(["presets", flag]) == 0
    printed = capsys.readouterr().out
    if flag == "--quiet":
        assert printed == ""
    else:
        names = [preset["name"] for preset in json.loads(printed)["presets"]]
        assert "seed" in names and "best" in names


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("digits") / "run"
    argv = ["train", "--data", "digits", "--hidden", "8", "--epochs", "3", "--jobs", "1"]
    assert main([*argv, "--quiet", "--out", str(out)]) == 0
    return out / "model.npz"


def test_evaluate_quiet_still_prints_its_result(digits_model, capsys):
    assert main(["evaluate", str(digits_model), "--data", "digits", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert re.fullmatch(r"accuracy \d\.\d{4} on 1797 samples of digits\n", printed)
    # --json still prints the JSON document alone.
    assert main(["evaluate", str(digits_model), "--data", "digits", "--json"]) == 0
    assert "accuracy" in json.loads(capsys.readouterr().out)


def test_a_refit_says_why_there_is_no_validation_accuracy():
    from types import SimpleNamespace

    refit = SimpleNamespace(validation_accuracy=None, selection_accuracy=None)
    assert "no unseen validation rows" in output.validation_value(refit)
    chosen = SimpleNamespace(validation_accuracy=None, selection_accuracy=0.97123)
    shown = output.validation_value(chosen)
    assert shown.startswith("0.9712 (the sweep's score when chosen")
    assert "no unseen validation rows" in shown
