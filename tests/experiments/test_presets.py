import pytest

from glassnet import ConfigError
from glassnet.cli.app import main
from glassnet.experiments import presets


def test_best_preset_is_listed_and_holds_its_recipe(capsys):
    assert {"seed", "best"} <= set(presets.names())
    assert main(["presets"]) == 0
    assert "best" in capsys.readouterr().out
    best = presets.load("best")
    assert (best.ensemble, best.refit, best.scaling) == (5, "train+valid", "global")
    train = best.train
    assert (train.activation, train.optimizer, train.lr_schedule) == ("relu", "adam", "cosine")
    assert train.augment_shift == 1 and train.batch_size is not None
    assert best.grid() and all(set(point) == {"l2"} for point in best.grid())


def test_seed_preset_keeps_one_network_trained_on_train_only():
    seed = presets.load("seed")
    assert (seed.ensemble, seed.refit, seed.train.lr_schedule) == (1, "train", "constant")
    assert seed.train.early_stopping_patience is None and not seed.train.augments


@pytest.mark.parametrize(
    "data, message",
    [
        ({"ensembles": 3}, "unknown key"),
        ({"ensemble": 0}, "ensemble"),
        ({"ensemble": 2.5}, "ensemble"),
        ({"refit": "all"}, "refit"),
        ({"scaling": "robust"}, "scaling"),
        ({"train": {"lr_schedules": "cosine"}}, "unknown training setting"),
        ({"train": {"early_stopping_patience": 0}}, "early_stopping_patience"),
        ({"train": {"lr_schedule": "step", "lr_step": 0}}, "lr_step"),
        ({"train": {"augment_shift": -1}}, "augment_shift"),
        ({"train": {"augment_degrees": 500}}, "augment_degrees"),
        ({"sweep": {"augment_shifts": [0, 1]}}, "sweeps unknown"),
        ({"split": "stratified"}, r"^preset 'bad': split must be 'random' or 'seed', got"),
        ({"data": "x.npz", "split": "seed"}, r"split 'seed' is the digits' fixed split"),
    ],
)
def test_bad_preset_keys_and_values_are_refused(data, message):
    with pytest.raises(ConfigError, match=message):
        presets.from_dict("bad", data)


def test_bad_refit_on_the_command_line_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--refit", "everything"])
    assert exit_info.value.code == 2
    assert "--refit" in capsys.readouterr().err
