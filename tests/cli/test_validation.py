"""Every bad input a user can give gets a glassnet error that names the problem: through the
library (fit, fit_from_config, Model, TrainConfig, presets) and the command line (exit 2,
one line on stderr, no traceback)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from glassnet import (
    SGD,
    ConfigError,
    DataError,
    GlassnetError,
    Model,
    SoftmaxCrossEntropy,
    fit,
    mlp,
)
from glassnet.cli.app import main
from glassnet.experiments import presets
from glassnet.training.config import TrainConfig, fit_from_config

rng = np.random.default_rng(0)
X = rng.standard_normal((20, 4))
Y = np.arange(20) % 3


def with_value(x, index, value):
    x = x.copy()
    x[index] = value
    return x


# name: (x, y, error type, words the message must contain)
BAD_TRAINING_DATA = {
    "nan in X": (with_value(X, (3, 1), np.nan), Y, DataError, "NaN"),
    "inf in X": (with_value(X, (0, 0), np.inf), Y, DataError, "infinite"),
    "1-D X": (X[:, 0], Y, DataError, "2-D"),
    "3-D X": (X.reshape(20, 2, 2), Y, DataError, "2-D"),
    "X and y lengths differ": (X, Y[:-1], DataError, "19 values but X has 20"),
    "empty X": (X[:0], Y[:0], DataError, "empty"),
    "no features": (X[:, :0], Y, DataError, "no features"),
    "strings in X": (np.array([["1", "a"], ["2", "3"]]), [0, 1], DataError, "non-numeric"),
    "ragged X": ([[1.0, 2.0], [3.0]], [0, 1], DataError, "not an array"),
    "complex X": (X + 1j, Y, DataError, "complex"),
    "nan in y": (X, with_value(Y.astype(float), 2, np.nan), DataError, "NaN"),
    "2-D y of many columns": (X, np.zeros((20, 2, 2)), DataError, "1-D"),
    "single class": (X, np.zeros(20, dtype=int), DataError, "only one class"),
    "fractional class labels": (X, Y + 0.5, DataError, "whole-number"),
    "label beyond the outputs": (X, np.where(Y == 2, 7, Y), DataError, "outside 0..2"),
}


@pytest.mark.parametrize("case", sorted(BAD_TRAINING_DATA))
def test_bad_training_data_through_fit_from_config(case):
    x, y, error, words = BAD_TRAINING_DATA[case]
    config = TrainConfig(hidden_layer_sizes=(3,), epochs=1)
    with pytest.raises(error, match=words):
        fit_from_config(config, (x, y), None, n_outputs=3, rng=np.random.default_rng(0))


@pytest.mark.parametrize("case", sorted(set(BAD_TRAINING_DATA) - {"single class"}))
def test_bad_training_data_through_fit(case):
    x, y, error, words = BAD_TRAINING_DATA[case]
    model = mlp([4, 3], rng=np.random.default_rng(0))
    with pytest.raises(error, match=words):
        fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), (x, y), epochs=1)


@pytest.mark.parametrize(
    "weights, words",
    [
        (np.ones(19), "19 values but X has 20"),
        (with_value(np.ones(20), 3, np.nan), "NaN"),
        (-np.ones(20), "non-negative"),
    ],
)
def test_bad_sample_weights(weights, words):
    model = mlp([4, 3], rng=np.random.default_rng(0))
    with pytest.raises(DataError, match=words):
        fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(model.parameters(), lr=0.1),
            (X, Y),
            epochs=1,
            sample_weight=weights,
        )


def test_bad_validation_data_is_named_as_such():
    config = TrainConfig(hidden_layer_sizes=(3,), epochs=1)
    with pytest.raises(DataError, match="validation X has 3 features but the model expects 4"):
        fit_from_config(config, (X, Y), (X[:, :3], Y), n_outputs=3, rng=np.random.default_rng(0))


@pytest.fixture
def model():
    net = mlp([4, 3], rng=np.random.default_rng(0))
    return Model([net], classes=np.array([10, 20, 30]))


BAD_PREDICT_INPUTS = {
    "wrong number of features": (X[:, :3], "3 features but the model expects 4"),
    "nan": (with_value(X, (1, 1), np.nan), "NaN"),
    "1-D": (X[0], "2-D"),
    "empty": (X[:0], "empty"),
    "strings": (np.array([["a", "b", "c", "d"]]), "non-numeric"),
}


@pytest.mark.parametrize("case", sorted(BAD_PREDICT_INPUTS))
def test_bad_inputs_to_predict(case, model):
    x, words = BAD_PREDICT_INPUTS[case]
    with pytest.raises(DataError, match=words):
        model.predict(x)


# The estimator encodes any labels itself, so an index beyond the outputs is not an error there;
# and it trains on a single class, as scikit-learn's MLPClassifier does (it predicts that class).
ESTIMATOR_CASES = sorted(set(BAD_TRAINING_DATA) - {"label beyond the outputs", "single class"})


@pytest.mark.parametrize("case", ESTIMATOR_CASES)
def test_bad_training_data_through_the_estimator(case):
    from glassnet.sklearn import GlassNetClassifier

    x, y, error, _ = BAD_TRAINING_DATA[case]
    with pytest.raises(error):
        GlassNetClassifier((3,), max_iter=1).fit(x, y)


@pytest.mark.parametrize("case", sorted(set(BAD_PREDICT_INPUTS) - {"strings"}))
def test_bad_inputs_to_the_estimators_predict(case):
    from glassnet.sklearn import GlassNetClassifier

    estimator = GlassNetClassifier((3,), max_iter=1).fit(X, Y)
    with pytest.raises(DataError):
        estimator.predict(BAD_PREDICT_INPUTS[case][0])


@pytest.mark.parametrize(
    "settings",
    [
        {"learning_rate_init": 0},
        {"max_iter": 0},
        {"hidden_layer_sizes": (0,)},
        {"activation": "swish"},
        {"momentum": 1.0},
        {"dropout": 1.0},
    ],
)
def test_bad_estimator_parameters_are_config_errors(settings):
    from glassnet.sklearn import GlassNetClassifier

    with pytest.raises(ConfigError):
        GlassNetClassifier(**settings).fit(X, Y)


def test_score_refuses_labels_the_model_never_saw(model):
    with pytest.raises(DataError, match=r"\['40'\] are not classes .* never saw"):
        model.score(X[:3], [10, 40, 20])
    # The network is one Linear layer: its predicted class is argmax(x @ W + b), by hand.
    layer = model.network.layers[0]
    predicted = (X[:3] @ layer.weight.value + layer.bias.value).argmax(axis=1)
    right = np.array([10, 20, 30])[predicted]
    one_wrong = right.copy()
    one_wrong[1] = 10 if right[1] != 10 else 20
    assert model.score(X[:3], right) == 1.0
    assert model.score(X[:3], one_wrong) == pytest.approx(2 / 3)
    text_labels = Model([model.network], classes=np.array(["a", "b", "c"]))
    letters = np.array(["a", "b", "c"])[predicted]
    assert text_labels.score(X[:3], letters.tolist()) == 1.0
    assert text_labels.score(X[:3], letters[::-1].tolist()) == pytest.approx(
        np.mean(letters[::-1] == letters)
    )


def test_score_checks_lengths(model):
    with pytest.raises(DataError, match="one label per row"):
        model.score(X[:3], [10, 20])


BAD_SETTINGS = {
    "zero learning rate": ({"lr": 0}, "learning rate"),
    "negative learning rate": ({"lr": -0.1}, "learning rate"),
    "nan learning rate": ({"lr": float("nan")}, "learning rate"),
    "text learning rate": ({"lr": "fast"}, "learning rate"),
    "boolean learning rate": ({"lr": True}, "learning rate"),
    "zero epochs": ({"epochs": 0}, "epochs"),
    "negative epochs": ({"epochs": -5}, "epochs"),
    "fractional epochs": ({"epochs": 2.5}, "epochs"),
    "zero layer size": ({"hidden_layer_sizes": [8, 0]}, "hidden layer size"),
    "negative layer size": ({"hidden_layer_sizes": [-3]}, "hidden layer size"),
    "layer sizes not a list": ({"hidden_layer_sizes": 8}, "list of positive integers"),
    "unknown activation": ({"activation": "swish"}, "unknown activation"),
    "unknown optimizer": ({"optimizer": "lbfgs"}, "unknown optimizer"),
    "unknown loss": ({"loss": "hinge"}, "unknown loss"),
    "unknown dtype": ({"dtype": "float16"}, "unknown dtype"),
    "unknown init": ({"init": "zeros"}, "unknown init"),
    "momentum of one": ({"momentum": 1.0}, "momentum"),
    "dropout of one": ({"dropout": 1.0}, "dropout"),
    "negative l2": ({"l2": -1.0}, "l2"),
    "zero batch size": ({"batch_size": 0}, "batch_size"),
    "nesterov without momentum": ({"nesterov": True, "momentum": 0.0}, "nesterov"),
    "betas out of range": ({"betas": [0.9, 1.5]}, "beta"),
    "unknown setting": ({"learning_rate": 0.1}, "unknown training setting"),
}


@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_bad_settings_are_config_errors(case):
    settings, words = BAD_SETTINGS[case]
    with pytest.raises(ConfigError, match=words):
        TrainConfig.from_dict(settings)


BAD_PRESETS = {
    "unknown top-level key": ('colour = "blue"\n', "unknown key"),
    "unknown train key": ("[train]\nlearning_rate = 0.1\n", "unknown training setting"),
    "zero learning rate": ("[train]\nlr = 0.0\n", "learning rate"),
    "zero epochs": ("[train]\nepochs = 0\n", "epochs"),
    "zero layer size": ("[train]\nhidden_layer_sizes = [0]\n", "hidden layer size"),
    "not TOML": ("[train\nlr = \n", "not valid TOML"),
    "sweep of an unknown setting": ("[sweep]\nwidth = [1, 2]\n", "sweeps unknown"),
    "bad sweep point": ("[sweep]\nl2 = [0.1, -1.0]\n", "sweep point"),
    "bad sweep spec": ("[sweep]\nl2 = 3\n", "must be a list"),
    "unknown scaling": ('scaling = "log"\n', "scaling"),
}


@pytest.mark.parametrize("case", sorted(BAD_PRESETS))
def test_bad_presets_are_config_errors(case, tmp_path):
    text, words = BAD_PRESETS[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words):
        presets.load(str(path))


def test_unknown_preset_name():
    with pytest.raises(ConfigError, match="unknown preset 'nope'; available: .*seed"):
        presets.load("nope")


def run_cli(args, capsys):
    try:
        code = main(args)
    except SystemExit as exit:  # argparse's usage errors
        code = exit.code
    return code, capsys.readouterr().err


def assert_one_line_error(code, err, words):
    assert code == 2, err
    assert re.match(r"glassnet( \w+)?: error: ", err) and err.count("\n") == 1, err
    assert words in err and "Traceback" not in err


CLI_CASES = {
    "unknown preset": (["run", "--preset", "nope"], "unknown preset"),
    "negative seed": (["run", "--seed", "-1"], "--seed"),
    "text seed": (["run", "--seed", "one"], "--seed"),
    "unknown option": (
        ["run", "--learning-rate", "1"],
        "unrecognized argument --learning-rate; see glassnet run --help",
    ),
    "resume of a missing folder": (["run", "--resume", "{tmp}/none"], "not a glassnet run folder"),
    "resume with a seed": (["run", "--resume", "{tmp}", "--seed", "2"], "; drop --seed\n"),
    "resume with a seed and a folder": (
        ["run", "--resume", "{tmp}", "--seed", "2", "--out", "{tmp}/b"],
        "; drop --seed, --out\n",
    ),
    "train: resume with data and epochs": (
        ["train", "--resume", "{tmp}", "--data", "digits", "--epochs", "3"],
        "; drop --data, --epochs\n",
    ),
    "sweep: zero learning rate": (["sweep", "--set", "lr=0"], "learning rate"),
    "sweep: negative l2 in the grid": (["sweep", "--grid", "l2=-1,1"], "l2"),
    "sweep: negative seed": (["sweep", "--seeds", "-1"], "seed"),
    "sweep: bad seeds": (["sweep", "--seeds", "a"], "seeds"),
    "sweep: unknown setting": (["sweep", "--set", "nosuch=1"], "unknown training setting"),
    "sweep: missing file": (["sweep", "{tmp}/none.toml"], "does not exist"),
    **{
        f"preset: {name}": (["run", "--preset", "{preset}"], words)
        for name, (_, words) in BAD_PRESETS.items()
    },
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_bad_input_is_one_line_and_exit_2(case, tmp_path, capsys):
    args, words = CLI_CASES[case]
    preset = tmp_path / "bad.toml"
    if case.startswith("preset: "):
        preset.write_text(BAD_PRESETS[case.removeprefix("preset: ")][0])
    args = [a.format(tmp=tmp_path, preset=preset) for a in args]
    if "--resume" not in args:
        args.extend(["--out", str(tmp_path / "out")])
    assert_one_line_error(*run_cli(args, capsys), words)


def write_csv(path, header, rows):
    path.write_text(header + "\n" + "".join(row + "\n" for row in rows))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """CSV files good and bad, and a model trained on the good one."""
    folder = tmp_path_factory.mktemp("data")
    values = np.random.default_rng(0).standard_normal((40, 2))
    good = [f"{a:.3f},{b:.3f},{'yes' if a > 0 else 'no'}" for a, b in values]
    write_csv(folder / "good.csv", "a,b,label", good)
    write_csv(folder / "words.csv", "a,b,label", [*good[:5], "1.0,abc,yes", *good[5:]])
    write_csv(folder / "nan.csv", "a,b,label", [*good[:5], "nan,1.0,yes", *good[5:]])
    write_csv(folder / "ragged.csv", "a,b,label", [*good[:5], "1.0,yes", *good[5:]])
    write_csv(folder / "header_only.csv", "a,b,label", [])
    write_csv(folder / "one_class.csv", "a,b,label", [f"{a:.3f},{b:.3f},yes" for a, b in values])
    write_csv(folder / "unseen.csv", "a,b,label", [*good[:5], "0.1,0.2,maybe"])
    write_csv(folder / "twice.csv", "a,a,label", good)
    write_csv(folder / "other_columns.csv", "c,d,label", good)
    write_csv(folder / "bad_config.toml", 'colour = "blue"', [])
    (folder / "corrupt.npz").write_bytes(b"PK\x03\x04 not really a model")
    code = main(
        [
            "train",
            "--data",
            str(folder / "good.csv"),
            "--target",
            "label",
            "--epochs",
            "3",
            "--out",
            str(folder / "run"),
            "--quiet",
        ]
    )
    assert code == 0
    return folder


TRAIN = ["train", "--target", "label", "--epochs", "2", "--quiet"]
DATA_CLI_CASES = {
    "missing data file": ([*TRAIN, "--data", "{d}/none.csv"], "does not exist"),
    "regression target with text": (
        [*TRAIN, "--data", "{d}/good.csv", "--task", "regression"],
        "is not a number; a regression target must be numeric",
    ),
    "unknown column to drop": ([*TRAIN, "--data", "{d}/good.csv", "--drop", "z"], "no column"),
    "duplicate column names": ([*TRAIN, "--data", "{d}/twice.csv"], "['a'] appear more than once"),
    "ragged row": ([*TRAIN, "--data", "{d}/ragged.csv"], "cells but the header has"),
    "no data rows": ([*TRAIN, "--data", "{d}/header_only.csv"], "at least one data row"),
    "single class": ([*TRAIN, "--data", "{d}/one_class.csv"], "one class"),
    "missing target column": (
        ["train", "--data", "{d}/good.csv", "--target", "kind"],
        "has no column 'kind'",
    ),
    "no target given": (["train", "--data", "{d}/good.csv"], "--target"),
    "zero learning rate": ([*TRAIN, "--data", "{d}/good.csv", "--lr", "0"], "learning rate"),
    "zero epochs": ([*TRAIN, "--data", "{d}/good.csv", "--epochs", "0"], "epochs"),
    "zero layer size": ([*TRAIN, "--data", "{d}/good.csv", "--hidden", "8,0"], "hidden sizes"),
    "dropout of one": ([*TRAIN, "--data", "{d}/good.csv", "--dropout", "1"], "dropout"),
    "bad fraction": ([*TRAIN, "--data", "{d}/good.csv", "--test-fraction", "2"], "fraction"),
    "negative seed": ([*TRAIN, "--data", "{d}/good.csv", "--seed", "-1"], "seed"),
    "unknown config key": (["train", "--config", "{d}/bad_config.toml"], "unknown key"),
    "unseen labels": (
        ["evaluate", "{d}/run/model.npz", "--data", "{d}/unseen.csv"],
        "['maybe'] are not classes of this model",
    ),
    "features the model lacks": (
        ["predict", "{d}/run/model.npz", "--data", "{d}/other_columns.csv"],
        "lacks the column(s) ['a', 'b']",
    ),
    "corrupt model file": (
        ["predict", "{d}/corrupt.npz", "--data", "{d}/good.csv"],
        "not a readable glassnet model file",
    ),
    "missing model file": (["summary", "{d}/none.npz"], "does not exist"),
    "resume with new data": (
        ["train", "--resume", "{d}/run", "--data", "{d}/good.csv"],
        "--resume reuses",
    ),
    "resume of a finished run": (["train", "--resume", "{d}/run"], "already finished"),
    "resume of a missing folder": (["train", "--resume", "{d}/nowhere"], "not a glassnet run"),
    "missing run folder": (["report", "{d}/nowhere"], "does not exist"),
}


@pytest.mark.parametrize("case", sorted(DATA_CLI_CASES))
def test_cli_bad_data_is_one_line_and_exit_2(case, files, tmp_path, capsys):
    args, words = DATA_CLI_CASES[case]
    args = [a.format(d=files) for a in args]
    if args[0] == "train" and "--resume" not in args:
        args.extend(["--out", str(tmp_path / "out")])
    assert_one_line_error(*run_cli(args, capsys), words)


@pytest.mark.parametrize("args", [["run", "--preset", "nope"], ["run", "--resume", "nowhere"]])
def test_real_cli_process_exits_2_without_traceback(args, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "glassnet.cli", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_every_error_is_a_glassnet_error_and_a_value_error():
    for error in (ConfigError, DataError):
        assert issubclass(error, GlassnetError) and issubclass(error, ValueError)


def test_a_multi_line_message_is_printed_on_one_line(capsys, monkeypatch):
    import glassnet.cli.app

    def fails(args):
        raise DataError("first line\nsecond line")

    monkeypatch.setattr(glassnet.cli.app, "cmd_presets", fails)
    assert_one_line_error(*run_cli(["presets"], capsys), "first line second line")


@pytest.mark.parametrize("seed", [7, 3])
def test_a_class_too_rare_to_split_trains_with_a_warning_in_its_own_words(tmp_path, capsys, seed):
    # One row of class 1 among 39 of class 0: with these seeds a plain split put it in the
    # test (7) or validation (3) rows, and training was refused. Now it is a training row.
    rows = np.column_stack([np.random.default_rng(0).standard_normal((40, 2)), np.zeros(40)])
    rows[17, 2] = 1
    np.savetxt(tmp_path / "rare.csv", rows, delimiter=",", header="a,b,label", comments="")
    out = tmp_path / "run"
    argv = ["train", "--data", str(tmp_path / "rare.csv"), "--target", "label", "--quiet"]
    capsys.readouterr()
    assert main([*argv, "--epochs", "1", "--seed", str(seed), "--out", str(out)]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == (
        "glassnet: warning: too few rows to split class(es) 1 (1 row) into training, "
        "validation and test rows: all their rows are training rows, so the model learns them "
        "but the validation and test scores do not cover them"
    )
    # After it, what the test scores say (one epoch does not beat the majority class).
    assert all(line.startswith("glassnet: warning: ") for line in lines)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["split_sizes"]["train"] == 24  # 23 of class 0, and the one row of class 1
    assert [row["support"] for row in metrics["evaluation"]["per_class"]] == [8, 0]
