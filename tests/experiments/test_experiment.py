"""The seed preset, run for real through the command line (once per test session)."""

import json

import numpy as np
import pytest

from glassnet.cli.app import main
from glassnet.data import load_digits, seed_split
from glassnet.experiments import presets
from glassnet.models import checkpoint


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["run", "--seed", "0", "--out", str(out), "--quiet"]) == 0
    return out, json.loads((out / "metrics.json").read_text())


def test_split_sizes_match_the_tutorial():
    assert seed_split(load_digits()).sizes() == {"train": 721, "validation": 482, "test": 594}


def test_seed_preset_holds_the_tutorial_numbers():
    preset = presets.load("seed")
    train = preset.train
    assert (train.hidden_layer_sizes, train.activation, train.output_activation) == (
        (48, 32),
        "sigmoid",
        "sigmoid",
    )
    assert (train.lr, train.momentum, train.nesterov, train.epochs, train.batch_size) == (
        0.2,
        0.9,
        False,
        1000,
        None,
    )
    np.testing.assert_allclose(preset.sweep["l2"], np.logspace(-2, 2, 10))
    assert preset.scaling == "none"


def test_seed_run_reaches_the_tutorial_accuracy(seed_run):
    _, metrics = seed_run
    assert 0.94 <= metrics["test_accuracy"] <= 0.98
    assert np.isclose(np.logspace(-2, 2, 10), metrics["best_l2"]).sum() == 1
    by_l2 = {round(r["l2"], 6): r["validation_accuracy"] for r in metrics["sweep"]}
    assert by_l2[100.0] < 0.3
    best = max(metrics["sweep"], key=lambda r: r["validation_accuracy"])
    assert metrics["best_l2"] == pytest.approx(best["l2"])


def test_seed_run_writes_the_run_folder(seed_run):
    out, metrics = seed_run
    for name in ("metrics.json", "sweep.png", "losses.png", "model.npz"):
        assert (out / name).stat().st_size > 0
    assert (out / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(metrics["history"]["train_loss"]) == 1000
    assert len(metrics["history"]["validation_loss"]) == 1000
    assert metrics["split_sizes"] == {"train": 721, "validation": 482, "test": 594}
    assert metrics["config"]["train"]["lr"] == 0.2


def test_saved_model_reproduces_the_reported_test_accuracy(seed_run):
    out, metrics = seed_run
    model = checkpoint.load(out / "model.npz")
    test = seed_split(load_digits()).test
    assert np.mean(model.predict(test.x) == test.y) == metrics["test_accuracy"]


def test_unknown_preset_is_one_line_and_exit_2(capsys):
    assert main(["run", "--preset", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown preset 'nope'" in err and err.count("\n") == 1


def tiny_preset(**top):
    """A few-second preset on the digits: two l2 values, a small ReLU net, a handful of epochs."""
    return presets.from_dict(
        "tiny",
        {
            "scaling": "global",
            "train": {
                "hidden_layer_sizes": [16],
                "activation": "relu",
                "optimizer": "adam",
                "lr": 0.01,
                "epochs": 4,
                "batch_size": 64,
            },
            "sweep": {"l2": [1e-4, 1e-2]},
            **top,
        },
    )


def test_the_final_network_is_the_winning_trial_retrained_from_its_own_stream(tmp_path):
    import shutil

    from glassnet.experiments.experiment import TRIALS_FOLDER, run_experiment, start_run

    preset = tiny_preset()
    kept = run_experiment(preset, seed=3, n_jobs=1, run_dir=start_run(preset, 3, tmp_path / "a"))
    winner = max(kept.trials, key=lambda trial: trial.score)
    assert kept.validation_accuracy == kept.selection_accuracy == winner.score
    assert kept.history is winner.history  # kept from the trial, not trained again
    # Trial records hold no weights, so a run that finds them on disk must really retrain the
    # winner from its stream: that retraining gives the very network the first run kept.
    folder = start_run(preset, 3, tmp_path / "b")
    shutil.copytree(tmp_path / "a" / TRIALS_FOLDER, folder / TRIALS_FOLDER)
    retrained = run_experiment(preset, seed=3, n_jobs=1, run_dir=folder)
    assert retrained.trials and all(trial.state is None for trial in retrained.trials)
    for key, value in kept.model.networks[0].state_dict().items():
        np.testing.assert_array_equal(retrained.model.networks[0].state_dict()[key], value)
    assert retrained.history.to_dict() == kept.history.to_dict()


def test_refit_trains_the_chosen_setting_on_train_and_validation(monkeypatch):
    from glassnet.experiments import experiment

    sizes = []

    def spy_on(function):
        def spy(trials, train_data, validation, **kwargs):
            n_valid = None if validation is None else len(validation[0])
            sizes.append((function.__name__, len(trials), len(train_data[0]), n_valid))
            return function(trials, train_data, validation, **kwargs)

        return spy

    monkeypatch.setattr(experiment, "run_trials", spy_on(experiment.run_trials))
    monkeypatch.setattr(experiment, "train_members", spy_on(experiment.train_members))
    splits = seed_split(load_digits())
    result = experiment.run_experiment(tiny_preset(refit="train+valid"), seed=0, n_jobs=1)
    # the sweep chose on train vs validation; the final network trained on both, watched nothing
    assert sizes == [("run_trials", 2, 721, 482), ("train_members", 1, 721 + 482, None)]
    both = np.vstack([splits.train.x, splits.validation.x])
    np.testing.assert_allclose(result.model.scaler.offset, both.mean())
    assert result.validation_accuracy is None and result.refit == "train+valid"
    assert result.selection_accuracy == max(t.score for t in result.trials)

    sizes.clear()
    result = experiment.run_experiment(
        tiny_preset(refit="train+valid"), seed=0, n_jobs=1, refit="train"
    )
    assert sizes == [("run_trials", 2, 721, 482), ("train_members", 1, 721, 482)]
    np.testing.assert_allclose(result.model.scaler.offset, splits.train.x.mean())


def test_ensemble_members_differ_and_are_saved_as_one_model(tmp_path):
    from glassnet.experiments.experiment import run_experiment, write_run

    result = run_experiment(tiny_preset(ensemble=3), seed=1, n_jobs=1)
    networks = result.model.networks
    assert len(networks) == 3 and len(result.member_histories) == 3
    first, second = (net.state_dict()["0.weight"] for net in networks[:2])
    assert not np.array_equal(first, second)
    # The first member is the winning trial itself, kept (its history is the trial's object).
    winner = max(result.trials, key=lambda trial: trial.score)
    assert result.member_histories[0] is winner.history
    write_run(result, tmp_path)
    loaded = checkpoint.load(tmp_path / "model.npz")
    assert len(loaded.networks) == 3
    test = seed_split(load_digits()).test
    np.testing.assert_allclose(loaded.predict_proba(test.x), result.model.predict_proba(test.x))
    assert np.mean(loaded.predict(test.x) == test.y) == result.test_accuracy


def test_early_stopping_in_a_preset_scores_the_restored_epoch_and_refits_that_long():
    from glassnet.experiments.experiment import run_experiment

    preset = tiny_preset(refit="train+valid")
    preset.train = preset.train.replace(epochs=30, lr=0.05, early_stopping_patience=2)
    result = run_experiment(preset, seed=0, n_jobs=1)
    for trial in result.trials:
        history = trial.history
        assert history.best_epoch == int(np.argmin(history.validation_loss))
        assert trial.score == history.validation_accuracy[history.best_epoch]
    chosen = next(t for t in result.trials if t.params == result.best_params)
    assert len(result.history.train_loss) == chosen.history.best_epoch + 1


def test_refit_flag_on_the_command_line(tmp_path):
    preset_file = tmp_path / "tiny.toml"
    preset_file.write_text(
        'scaling = "global"\nensemble = 2\n[train]\nhidden_layer_sizes = [8]\nactivation = "relu"\n'
        'optimizer = "adam"\nlr = 0.01\nepochs = 2\nbatch_size = 128\n'
    )
    out = tmp_path / "run"
    assert (
        main(
            [
                "run",
                "--preset",
                str(preset_file),
                "--refit",
                "train+valid",
                "--out",
                str(out),
                "--quiet",
                "--jobs",
                "1",
            ]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["refit"], metrics["ensemble"], metrics["validation_accuracy"]) == (
        "train+valid",
        2,
        None,
    )
    assert len(checkpoint.load(out / "model.npz").networks) == 2


def test_a_validation_label_missing_from_training_is_a_clear_error():
    from glassnet import DataError
    from glassnet.data import Dataset, Splits
    from glassnet.experiments.experiment import run_experiment

    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 4))
    train = Dataset(x[:10], np.array([0, 1] * 5), name="toy:train")
    valid = Dataset(x[10:20], np.array([0, 1, 7] * 3 + [0]), name="toy:validation")
    test = Dataset(x[20:], np.array([0, 1] * 5), name="toy:test")
    preset = presets.load("seed")
    preset.train = preset.train.replace(epochs=2)
    with pytest.raises(DataError, match=r"validation \['7'\] are not classes"):
        run_experiment(preset, splits=Splits(train, valid, test), n_jobs=1)


def test_an_unscorable_test_label_stops_the_run_before_any_training(monkeypatch):
    from glassnet import DataError
    from glassnet.data import Dataset, Splits
    from glassnet.experiments import experiment

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(experiment, "run_trials", no_training)
    monkeypatch.setattr(experiment, "train_members", no_training)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 4))
    train = Dataset(x[:10], np.array([0, 1] * 5), name="toy:train")
    valid = Dataset(x[10:20], np.array([0, 1] * 5), name="toy:validation")
    test = Dataset(x[20:], np.array([0, 1, 5] * 3 + [0]), name="toy:test")
    with pytest.raises(DataError, match=r"test \['5'\] are not classes"):
        experiment.run_experiment(presets.load("seed"), splits=Splits(train, valid, test))
