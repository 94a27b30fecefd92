"""How commands print: the epoch bar (ETA, current loss), unwrapped piped output, and the
--quiet / --json flags that every command takes."""

import io
import json
import re

import pytest

from glassnet.cli import output
from glassnet.cli.app import main
from glassnet.experiments.experiment import run_experiment
from glassnet.experiments.presets import from_dict

ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


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
    refit = {"validation_accuracy": None, "selection_accuracy": None}
    assert "no unseen validation rows" in output.validation_value(refit)
    chosen = {"validation_accuracy": None, "selection_accuracy": 0.97123}
    shown = output.validation_value(chosen)
    assert shown.startswith("0.9712 (the sweep's score when chosen")
    assert "no unseen validation rows" in shown


def test_a_model_that_does_not_beat_its_baseline_is_said_on_stderr(tmp_path, capsys):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"noise": rng.normal(size=300)})
    frame["label"] = np.where(rng.random(300) < 0.08, "rare", "common")  # unrelated to noise
    frame.to_csv(tmp_path / "noise.csv", index=False)
    argv = ["train", "--data", str(tmp_path / "noise.csv"), "--target", "label", "--quiet"]
    assert main([*argv, "--epochs", "20", "--out", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    assert "glassnet: warning: the model does not beat the baseline" in err
    assert "--class-weight balanced" in err
