"""Real-looking tables through the CLI: a messy export (semicolons, Windows-1252, an index
column, quoted commas, NA cells, a date, free text) for classes, and a numeric target for
regression; train, evaluate, predict and summary, as a user runs them."""

import contextlib
import csv
import json

import numpy as np
import pandas as pd
import pytest

from glassnet.cli.app import main

QUICK = ["--epochs", "60", "--lr", "0.01", "--patience", "none", "--hidden", "16", "--jobs", "1"]


def messy_frame(n=150, seed=0):
    """Penguin-like rows: the species follows the bill length and the island."""
    rng = np.random.default_rng(seed)
    species = rng.choice(["Adélie", "Gentoo", "Chinstrap"], n)
    centre = {"Adélie": 38.0, "Gentoo": 47.0, "Chinstrap": 55.0}
    bill = np.array([centre[s] for s in species]) + rng.normal(0, 1.5, n)
    island = np.where(species == "Gentoo", "Biscoe", rng.choice(["Dream", "Torgersen"], n))
    frame = pd.DataFrame(
        {
            "species": species,
            "island": island,
            "bill_mm": bill.round(1).astype(object),
            "mass_g": rng.normal(4000, 300, n).round(),
            "sex": rng.choice(["male", "female"], n).astype(object),
            "seen": pd.date_range("2019-01-01", periods=n, freq="37h").strftime("%Y-%m-%d"),
            "remark": [f"note {i}, by observer {i % 7}" for i in range(n)],
        }
    )
    if n > 20:
        frame.loc[[3, 17], "bill_mm"] = "NA"
        frame.loc[[5, 9], "sex"] = "?"
        frame.loc[11, "species"] = ""  # no label: this row is left out
    return frame


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("messy")
    path = folder / "penguins export.csv"
    # pandas' defaults write the index column; Excel on Windows writes cp1252 and ';'.
    messy_frame().to_csv(path, sep=";", encoding="cp1252", quoting=csv.QUOTE_MINIMAL)
    return path


def run(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured


def test_a_messy_export_trains_evaluates_and_predicts(messy, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--data", str(messy), "--target", "species", "--out", str(out), *QUICK]
    captured = run(capsys, argv)
    err = captured.err
    assert "not UTF-8; read it as cp1252" in err
    assert "1 of 150 rows of " in err and "have no 'species' value; they are left out" in err
    assert "column 'Unnamed: 0' is dropped: id-like" in err
    assert "column 'remark' is dropped: free text" in err
    assert "Traceback" not in err
    table = captured.out
    for words in ("island", "categorical", "datetime", "1.3%"):  # 2 of 149 bills missing
        assert words in table
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "classification" and metrics["test_accuracy"] >= 0.9
    assert metrics["evaluation"]["classes"] == ["Adélie", "Chinstrap", "Gentoo"]

    evaluated = json.loads(
        run(capsys, ["evaluate", str(out / "model.npz"), "--data", str(messy), "--json"]).out
    )
    assert evaluated["n_samples"] == 149 and evaluated["accuracy"] >= 0.9

    # New rows: other column order, no label, an extra column, an unseen island, NA cells,
    # and plain UTF-8 with commas this time.
    new = messy_frame(6, seed=1).drop(columns=["species"]).iloc[:, ::-1]
    new["extra"] = "ignored"
    new.loc[0, "island"] = "Atlantis"
    new.loc[1, "mass_g"] = None
    new.to_csv(tmp_path / "new.csv", index=False)
    captured = run(capsys, ["predict", str(out / "model.npz"), "--data", str(tmp_path / "new.csv")])
    assert "column 'island': 1 row(s) hold categories not seen in training" in captured.err
    rows = list(csv.DictReader(captured.out.splitlines()))
    assert len(rows) == 6 and {r["prediction"] for r in rows} <= {"Adélie", "Chinstrap", "Gentoo"}

    # Predicting the training file itself: the row without a label is predicted too.
    predicted = run(capsys, ["predict", str(out / "model.npz"), "--data", str(messy), "--json"])
    assert json.loads(predicted.out)["n_samples"] == 150

    summary = json.loads(run(capsys, ["summary", str(out / "model.npz"), "--json"]).out)
    steps = {row["column"]: row for row in summary["preprocessing"]}
    assert steps["island"]["role"] == "categorical" and "3 categories" in steps["island"]["learned"]
    assert steps["bill_mm"]["learned"].startswith("missing -> median")
    assert steps["remark"]["role"].startswith("dropped: free text")
    assert "expanded into year" in steps["seen"]["learned"]


def regression_table(path, n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    kind = rng.choice(["a", "b"], n)
    price = 100 + 20 * x[:, 0] - 10 * x[:, 1] + np.where(kind == "a", 15, -15)
    frame = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "kind": kind, "price": price})
    frame.loc[4, "x1"] = np.nan
    frame.to_csv(path, sep="\t", index=False)
    return path


def test_a_numeric_target_is_a_regression_end_to_end(tmp_path, capsys):
    data = regression_table(tmp_path / "prices.tsv")
    out = tmp_path / "run"
    argv = ["train", "--data", str(data), "--target", "price", "--out", str(out)]
    result = json.loads(run(capsys, [*argv, *QUICK, "--epochs", "150", "--json"]).out)
    assert result["task"] == "regression" and result["test_accuracy"] is None
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "regression"
    assert metrics["test_r2"] > 0.9  # the target is a noiseless function of the columns
    frame = pd.read_csv(data, sep="\t")
    assert metrics["test_rmse"] < 0.3 * frame["price"].std()
    assert metrics["test_mae"] <= metrics["test_rmse"]
    assert (out / "regression.png").exists() and not (out / "confusion.png").exists()
    assert "id=predictions" in (out / "report.html").read_text()

    captured = run(capsys, ["predict", str(out / "model.npz"), "--data", str(data)])
    predicted = np.array(
        [float(r["prediction"]) for r in csv.DictReader(captured.out.splitlines())]
    )
    r2 = 1 - np.sum((frame["price"] - predicted) ** 2) / np.sum(
        (frame["price"] - frame["price"].mean()) ** 2
    )
    assert r2 > 0.9  # numbers in the target's own units, not standardised ones
    evaluated = json.loads(
        run(capsys, ["evaluate", str(out / "model.npz"), "--data", str(data), "--json"]).out
    )
    assert evaluated["task"] == "regression" and evaluated["r2"] == pytest.approx(r2, abs=1e-6)
    assert main(["predict", str(out / "model.npz"), "--data", str(data), "--proba"]) == 2
    assert "--proba needs a classifier" in capsys.readouterr().err


def test_task_and_column_flags_override_the_guess(tmp_path, capsys):
    data = regression_table(tmp_path / "prices.tsv")
    frame = pd.read_csv(data, sep="\t")
    frame["price"] = (frame["price"] > 100).astype(int) * 3  # whole numbers 0 and 3: classes
    frame.to_csv(data, sep="\t", index=False)
    out = tmp_path / "run"
    argv = ["train", "--data", str(data), "--target", "price", "--out", str(out), *QUICK]
    captured = run(capsys, [*argv, "--drop", "x2", "--categorical", "x1", "--json"])
    assert json.loads(captured.out)["task"] == "classification"
    roles = checkpoint_roles(out)
    assert roles["x2"] == "dropped: --drop" and roles["x1"] == "categorical"
    out2 = tmp_path / "run2"
    argv = ["train", "--data", str(data), "--target", "price", "--out", str(out2), *QUICK]
    assert (
        json.loads(run(capsys, [*argv, "--task", "regression", "--json"]).out)["task"]
        == "regression"
    )


def checkpoint_roles(out):
    from glassnet.models import checkpoint

    return checkpoint.load(out / "model.npz").table.roles


def test_a_config_file_holds_target_task_and_columns(tmp_path, capsys):
    regression_table(tmp_path / "prices.tsv")
    config = tmp_path / "run.toml"
    config.write_text(
        'data = "prices.tsv"\ntarget = "price"\ntask = "regression"\n'
        '[columns]\ndrop = ["x2"]\n[train]\nepochs = 20\nhidden_layer_sizes = [8]\n'
    )
    result = json.loads(
        run(
            capsys, ["train", "--config", str(config), "--out", str(tmp_path / "run"), "--json"]
        ).out
    )
    assert result["task"] == "regression"
    assert checkpoint_roles(tmp_path / "run")["x2"] == "dropped: --drop"


@pytest.mark.parametrize(
    "text, argv, words",
    [
        ("a,a,y\n1,2,0\n", [], "['a'] appear more than once"),
        ("a,y\n1,0\n2\n", [], "line 3: 1 cells but the header has 2"),
        ("a,y\n1,x\n2,y\n", ["--task", "regression"], "'x' is not a number"),
        ("a,y\n1,0\n2,1\n", ["--drop", "b"], "no column(s) ['b']"),
        ("a,y\n1,\n2,\n", [], "no row has a value in the target column 'y'"),
    ],
)
def test_bad_tables_are_one_line_exit_2_and_leave_no_run_folder(
    tmp_path, capsys, monkeypatch, text, argv, words
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.csv").write_text(text)
    assert main(["train", "--data", "bad.csv", "--target", "y", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_ctrl_c_during_training_leaves_a_usable_model_and_a_resumable_run(
    tmp_path, capsys, monkeypatch
):
    from glassnet.workflow.progress import Display

    @contextlib.contextmanager
    def interrupting_progress(*args, **kwargs):
        def on_epoch(epoch, epochs, history):
            if epoch == 8:
                raise KeyboardInterrupt  # as Ctrl-C would, in the middle of training

        yield {"on_trial": None, "on_epoch": on_epoch, "on_member": None}

    monkeypatch.setattr(Display, "training", interrupting_progress)
    data = regression_table(tmp_path / "prices.tsv")
    out = tmp_path / "run"
    # One network (a small regression table averages 3 by default): on_epoch follows it.
    (tmp_path / "one.toml").write_text("ensemble = 1\n")
    argv = ["train", "--data", str(data), "--target", "price", "--out", str(out), *QUICK]
    argv += ["--config", str(tmp_path / "one.toml")]
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert f"the best model so far in {out / 'model.npz'}" in err and "--resume" in err
    assert not (out / "metrics.json").exists()  # the run is not finished
    evaluated = json.loads(
        run(capsys, ["evaluate", str(out / "model.npz"), "--data", str(data), "--json"]).out
    )
    assert evaluated["task"] == "regression" and np.isfinite(evaluated["r2"])
    from glassnet.models import checkpoint

    assert "interrupted" in checkpoint.load(out / "model.npz").info
    monkeypatch.undo()
    run(capsys, ["train", "--resume", str(out), "--quiet"])
    assert json.loads((out / "metrics.json").read_text())["test_r2"] > 0.5


def test_ctrl_c_between_ensemble_members_resumes_to_the_uninterrupted_ensemble(
    tmp_path, capsys, monkeypatch
):
    """A small regression table averages 3 networks; a Ctrl-C once the first is trained
    leaves an unfinished run (no metrics, no model) that --resume completes, retraining the
    members from their seeds: the same predictions as a run never interrupted."""
    import os
    import signal

    from glassnet.workflow.progress import Display

    training = Display.training

    def interrupting(self, *args, **kwargs):
        with training(self, *args, **kwargs) as hooks:

            def on_member(result):
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, as a user would press it

            yield {**hooks, "on_member": on_member}

    data = regression_table(tmp_path / "prices.tsv")
    argv = ["train", "--data", str(data), "--target", "price", *QUICK, "--epochs", "30"]
    run(capsys, [*argv, "--out", str(tmp_path / "whole"), "--quiet"])
    whole = np.load(tmp_path / "whole" / "predictions.npz")
    assert json.loads((tmp_path / "whole" / "metrics.json").read_text())["ensemble"] == 3

    out = tmp_path / "cut"
    monkeypatch.setattr(Display, "training", contextlib.contextmanager(interrupting))
    assert main([*argv, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert f"continue with: glassnet train --resume {out}" in err, err
    assert not (out / "metrics.json").exists() and not (out / "model.npz").exists()
    monkeypatch.undo()
    run(capsys, ["train", "--resume", str(out), "--quiet"])
    resumed = np.load(out / "predictions.npz")
    assert set(resumed.files) == set(whole.files)
    for name in whole.files:
        np.testing.assert_array_equal(resumed[name], whole[name])


def test_run_takes_a_preset_onto_a_table(tmp_path, capsys):
    data = regression_table(tmp_path / "prices.tsv")
    preset = tmp_path / "small.toml"
    preset.write_text(
        'description = "small"\n[train]\nhidden_layer_sizes = [8]\nactivation = "relu"\n'
        'optimizer = "adam"\nlr = 0.01\nbatch_size = 32\nepochs = 40\n[sweep]\nl2 = [0.001, 10.0]\n'
    )
    out = tmp_path / "run"
    argv = ["run", "--preset", str(preset), "--data", str(data), "--target", "price"]
    result = json.loads(run(capsys, [*argv, "--out", str(out), "--jobs", "1", "--json"]).out)
    assert result["task"] == "regression" and result["test_r2"] > 0.8
    metrics = json.loads((out / "metrics.json").read_text())
    assert [r["l2"] for r in metrics["sweep"]] == [0.001, 10.0]
    assert all("validation_loss" in r for r in metrics["sweep"])
    evaluated = json.loads(
        run(capsys, ["evaluate", str(out / "model.npz"), "--data", str(data), "--json"]).out
    )
    assert evaluated["r2"] > 0.8
    assert main(["run", "--target", "price", "--out", str(tmp_path / "x")]) == 2
    assert "--target and --task go with --data" in capsys.readouterr().err


def test_run_and_train_read_the_same_config_file(tmp_path, capsys):
    regression_table(tmp_path / "prices.tsv")
    config = tmp_path / "run.toml"
    config.write_text(
        'data = "prices.tsv"\ntarget = "price"\n[columns]\ndrop = ["x2"]\n'
        '[train]\nhidden_layer_sizes = [8]\nactivation = "relu"\noptimizer = "adam"\n'
        "lr = 0.01\nbatch_size = 32\nepochs = 20\n"
    )
    for argv in (["run", "--preset", str(config)], ["train", "--config", str(config)]):
        out = tmp_path / argv[0]
        result = json.loads(run(capsys, [*argv, "--out", str(out), "--jobs", "1", "--json"]).out)
        assert result["task"] == "regression"
        assert checkpoint_roles(out)["x2"] == "dropped: --drop"


def test_sweep_takes_a_table(tmp_path, capsys):
    data = regression_table(tmp_path / "prices.tsv")
    argv = ["sweep", "--data", str(data), "--target", "price", "--drop", "x2"]
    argv += ["--set", "epochs=10", "--set", "hidden_layer_sizes=[8]", "--set", "activation=relu"]
    # Plain inputs: in 10 epochs the default PLR embeddings of a small regression table do
    # not fit it yet, and then no l2 is better than another.
    argv += ["--set", "numeric_embedding=0"]
    argv += ["--grid", "l2=0.001,1000", "--seeds", "0,1", "--jobs", "1"]
    result = json.loads(run(capsys, [*argv, "--out", str(tmp_path / "sweep"), "--json"]).out)
    assert result["trials"] == 4
    # A regression is ranked by validation loss, lowest first: a huge l2 cannot fit.
    assert [row["l2"] for row in result["summary"]] == [0.001, 1000]
    assert (tmp_path / "sweep" / "sweep.png").exists()


@pytest.mark.parametrize("command", ["train", "run"])
def test_an_augmenting_preset_on_a_table_is_refused_before_a_run_folder_exists(
    command, tmp_path, capsys
):
    data = regression_table(tmp_path / "table.csv")
    out = tmp_path / "run"
    argv = [command, "--preset", "best", "--data", str(data), "--target", "price"]
    argv += ["--out", str(out)]
    assert main([*argv, "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "preset 'best' augments images" in error and "Traceback" not in error
    assert not out.exists()


def test_two_trainings_started_into_one_folder_one_runs_and_one_is_refused(tmp_path):
    import subprocess
    import sys

    data = regression_table(tmp_path / "prices.tsv")
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "glassnet.cli", "train", "--data", str(data), "--target"]
    argv += ["price", "--out", str(out), "--quiet", *QUICK]
    both = [subprocess.Popen(argv, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    codes = sorted((p.wait(120), p.stderr.read()) for p in both)
    (done, _), (refused, error) = codes
    assert (done, refused) == (0, 2), codes
    # Refused while the first holds the folder, or (had it finished first) as a finished run.
    assert "in use by another glassnet run (glassnet train, process" in error or (
        "already holds a run" in error
    )
    assert error.count("\n") == 1 and "Traceback" not in error
    assert json.loads((out / "metrics.json").read_text())["test_r2"] > 0.5
