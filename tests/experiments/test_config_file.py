"""The one config file layout: the same file means the same to train, run and sweep; flags
override it; keys a command cannot use are ignored with a warning, unknown keys refused."""

import warnings
from pathlib import Path

import pytest

from glassnet.errors import ConfigError, DataWarning
from glassnet.experiments import presets
from glassnet.experiments.config_file import TABLE_DEFAULTS, resolve
from glassnet.training.config import TrainConfig

FILE = """
description = "prices"
data = "prices.csv"
target = "price"
task = "regression"
validation_fraction = 0.25
test_fraction = 0.15
[columns]
drop = ["noise"]
categorical = ["colour"]
[train]
hidden_layer_sizes = [8]
epochs = 7
batch_size = "full"
early_stopping_patience = "none"
[sweep]
l2 = { logspace = [-3, 1, 3] }
"""


@pytest.fixture
def config(tmp_path):
    (tmp_path / "prices.csv").write_text("price,colour,noise\n1,red,3\n")
    path = tmp_path / "prices.toml"
    path.write_text(FILE)
    return path


def quietly(path, command, **named):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # no warning for a file of used keys
        return resolve(path, command, **named)


def test_one_file_means_the_same_to_every_command(config):
    train, run, sweep = (quietly(config, command) for command in ("train", "run", "sweep"))
    assert train.preset.train == run.preset.train == sweep.preset.train
    assert train.data == run.data == sweep.data
    for resolved in (train, run, sweep):
        preset = resolved.preset
        assert (preset.name, preset.data) == ("prices", str(config.parent / "prices.csv"))
        assert (preset.split, preset.scaling) == ("random", "none")  # a table's defaults
        assert resolved.user_data
    assert train.data.columns == {"drop": ["noise"], "categorical": ["colour"]}
    assert (train.data.validation_fraction, train.data.test_fraction) == (0.25, 0.15)
    assert (train.data.target, train.data.task) == ("price", "regression")
    config_ = train.preset.train
    # The file's settings over the tabular recipe; "full" and "none" are spelled in words.
    assert (config_.hidden_layer_sizes, config_.epochs, config_.activation) == ((8,), 7, "relu")
    assert config_.batch_size is None and config_.early_stopping_patience is None
    assert config_.lr == TABLE_DEFAULTS["lr"] and config_.optimizer == "adam"
    # [sweep]: the grid that run and train choose from is the space that sweep searches.
    assert run.preset.sweep["l2"] == pytest.approx([0.001, 0.1, 10.0])
    assert sweep.plan["space"] == {"l2": {"logspace": [-3, 1, 3]}} and not sweep.preset.sweep


def test_flags_override_the_file(config, tmp_path):
    changes = {
        "data": "other.csv",
        "target": "colour",
        "columns": {"drop": ["price"]},
        "train": {"epochs": 2},
        "scaling": "standard",
    }
    resolved = quietly(config, "train", changes=changes)
    assert resolved.preset.data == "other.csv"  # a flag's path is the user's, not the file's
    assert resolved.data.target == "colour" and resolved.preset.scaling == "standard"
    # A column flag replaces the file's list of that name; the other lists stay.
    assert resolved.data.columns == {"drop": ["price"], "categorical": ["colour"]}
    assert resolved.preset.train.epochs == 2 and resolved.preset.train.hidden_layer_sizes == (8,)


@pytest.mark.parametrize(
    "extra, command, warned",
    [
        ("seeds = [0, 1]", "train", "'seeds' is not used by glassnet train"),
        ('search = "random"', "run", "'search' is not used by glassnet run"),
        ('refit = "train+valid"', "sweep", "'refit' is not used by glassnet sweep"),
        ("ensemble = 3", "sweep", "'ensemble' is not used by glassnet sweep"),
    ],
)
def test_a_key_another_command_uses_is_ignored_with_a_warning(config, extra, command, warned):
    config.write_text(f"{extra}\n{FILE}")
    with pytest.warns(DataWarning, match=warned):
        resolved = resolve(config, command)
    assert resolved.plan.get("search") is None and resolved.preset.refit == "train"
    assert resolved.preset.ensemble == 1


def test_the_commands_that_use_a_key_read_it(config):
    config.write_text(
        f'seeds = [3, 4]\nsearch = "random"\nn_iter = 2\nrefit = "train+valid"\n{FILE}'
    )
    with pytest.warns(DataWarning):
        sweep = resolve(config, "sweep")
    assert sweep.plan == {
        "seeds": [3, 4],
        "search": "random",
        "n_iter": 2,
        "space": {"l2": {"logspace": [-3, 1, 3]}},
    }
    with pytest.warns(DataWarning):
        assert resolve(config, "run").preset.refit == "train+valid"


@pytest.mark.parametrize(
    "text, words",
    [
        ("colour = 1", "unknown key(s) ['colour']"),
        ('drop = ["a"]', "column lists go in a [columns] table"),
        ("seed = 1", "the seed is the --seed flag"),
        ("[train]\nepoch = 3", "[train] has unknown training setting(s) ['epoch']"),
        ("[sweep]\nepoch = [3]", "[sweep] sweeps unknown setting(s) ['epoch']"),
        ('[columns]\nkeep = ["a"]', "[columns] may hold only"),
        ('[columns]\ndrop = "a"', "[columns] drop must be a list of column names"),
        ('task = "ranking"', "task must be one of"),
        ("columns = 3", "columns must be a table"),
        ('validation_fraction = "a"', "validation_fraction must be a number between 0 and 1"),
        ("test_fraction = 1.5", "test_fraction must be a number between 0 and 1, got 1.5"),
        ("image_shape = [0, 3]", "image_shape must be [height, width]"),
        ("image_shape = [8, 8, 1, 1]", "or [height, width, channels], got [8, 8, 1, 1]"),
    ],
)
def test_unknown_keys_and_bad_tables_are_refused_naming_the_file(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text + "\n")
    for command in ("train", "run", "sweep"):
        with pytest.raises(ConfigError, match="config file '.*bad.toml'") as caught:
            resolve(path, command)
        assert words in str(caught.value)


def test_a_built_in_base_gives_its_recipe_and_a_table_its_own_split(config):
    config.write_text('base = "seed"\ndata = "prices.csv"\ntarget = "price"\n')
    resolved = quietly(config, "run")
    seed = presets.load("seed")
    # The seed recipe as it is, without the tabular defaults, split at random on a table.
    assert resolved.preset.train == seed.train and resolved.preset.train.batch_size is None
    assert resolved.preset.sweep == seed.sweep
    assert (resolved.preset.split, resolved.preset.scaling) == ("random", "none")


def test_a_preset_file_as_base_is_the_same_as_the_file_itself(config, tmp_path):
    as_file = quietly(config, "run")
    as_base = quietly(None, "run", changes={"base": str(config)})
    assert as_base.preset.to_dict() == as_file.preset.to_dict()
    assert as_base.data == as_file.data
    # A file on top of it changes key by key; its [sweep] replaces the base's.
    child = tmp_path / "child.toml"
    child.write_text(f'base = "{config}"\n[train]\nepochs = 3\n[sweep]\nlr = [0.1]\n')
    resolved = quietly(child, "train")
    assert resolved.preset.train.epochs == 3 and resolved.preset.train.hidden_layer_sizes == (8,)
    assert resolved.preset.sweep == {"lr": [0.1]}
    assert resolved.data.columns == {"drop": ["noise"], "categorical": ["colour"]}


def test_run_and_sweep_without_a_file_start_from_the_seed_preset():
    for command in ("run", "sweep"):
        resolved = quietly(None, command, default_base="seed")
        assert resolved.preset.name == "seed" and not resolved.user_data
        assert resolved.preset.train == presets.load("seed").train


def test_a_file_on_the_digits_gets_the_seed_split(tmp_path):
    path = tmp_path / "digits.toml"
    path.write_text("[train]\nepochs = 2\n")
    for command in ("run", "sweep"):
        resolved = quietly(path, command)
        assert (resolved.preset.data, resolved.preset.split) == ("digits", "seed")
        assert resolved.preset.scaling == "standard" and not resolved.user_data
    with pytest.raises(ConfigError, match="say which data to train on"):
        resolve(path, "train")
    # Held-out shares ask for a random split, even on the digits and under the seed preset.
    for changes in ({"test_fraction": 0.3}, {"base": "seed", "validation_fraction": 0.3}):
        resolved = quietly(path, "run", changes=changes)
        assert resolved.preset.split == "random" and resolved.user_data
    with pytest.raises(ConfigError, match="test_fraction need split = 'random'"):
        resolve(path, "run", changes={"test_fraction": 0.3, "split": "seed"})


def test_distributions_and_seed_splits_where_they_do_not_belong(config):
    config.write_text(FILE.replace("{ logspace = [-3, 1, 3] }", "{ loguniform = [0.001, 1] }"))
    with pytest.raises(ConfigError, match="is a distribution, for glassnet sweep's random"):
        resolve(config, "train")
    assert resolve(config, "sweep").plan["space"] == {"l2": {"loguniform": [0.001, 1]}}
    without_fractions = FILE.replace("validation_fraction = 0.25\ntest_fraction = 0.15\n", "")
    config.write_text(f'split = "seed"\n{without_fractions}')
    with pytest.raises(ConfigError, match="split 'seed' is the digits' fixed split"):
        resolve(config, "run")


def test_a_target_without_data_is_refused_by_run_and_sweep(tmp_path):
    path = tmp_path / "digits.toml"
    path.write_text('target = "species"\n')
    for command in ("run", "sweep"):
        with pytest.raises(ConfigError, match="--target and --task go with --data FILE"):
            resolve(path, command)
        with pytest.raises(ConfigError, match="the digits have their own labels"):
            resolve(None, command, changes={"task": "regression"}, default_base="seed")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_table_file_of_pixel_rows_gets_the_images_recipe_not_the_tables(tmp_path, suffix):
    # cli/train.py reads a table file given an image_shape as images: the recipe and the
    # default scaling must be the ones the same images get from an NPZ file.
    settings = {}
    for name in (f"img{suffix}", "img.npz"):
        (tmp_path / name).write_text("")
        path = tmp_path / f"{name}.toml"
        path.write_text(f'data = "{name}"\nimage_shape = [6, 6, 3]\n')
        settings[name] = quietly(path, "train")
    pixels, npz = settings[f"img{suffix}"], settings["img.npz"]
    assert pixels.preset.scaling == npz.preset.scaling == "standard"
    assert pixels.preset.train == npz.preset.train == TrainConfig()
    assert pixels.data.image_shape == (6, 6, 3)


def test_a_relative_base_file_is_found_beside_the_config_file(config, tmp_path, monkeypatch):
    folder = tmp_path / "child"
    folder.mkdir()
    child = folder / "child.toml"
    child.write_text('base = "../prices.toml"\n[train]\nepochs = 3\n')
    monkeypatch.chdir(folder.parent.parent)  # the working directory holds no ../prices.toml
    resolved = quietly(child, "train")
    assert resolved.preset.train.epochs == 3 and resolved.preset.train.hidden_layer_sizes == (8,)
    assert Path(resolved.preset.data).resolve() == (config.parent / "prices.csv").resolve()


def test_a_base_file_that_does_not_exist_is_named_so_not_an_unknown_preset(tmp_path):
    path = tmp_path / "child.toml"
    path.write_text('base = "missing.toml"\n')
    with pytest.raises(ConfigError, match="'missing.toml' does not exist") as caught:
        resolve(path, "run")
    assert "unknown preset" not in str(caught.value)
    with pytest.raises(ConfigError, match="does not exist"):
        resolve(None, "run", changes={"base": str(tmp_path / "nope.toml")})


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("seeds = 3", "seeds must be a list of non-negative integers"),
        ("seeds = []", "seeds must be a list"),
        ("seeds = [0, -1]", "seeds must be a list"),
        ("seeds = [0, true]", "seeds must be a list"),
        ('seeds = "0-2x"', "seeds must look like 0,1,2 or 0-4"),
        ('seeds = "a,b"', "seeds must look like"),
        ('search = "bayes"', "search must be one of ['grid', 'random']"),
        ('n_iter = "5"', "n_iter must be an integer >= 1"),
        ("n_iter = 0", "n_iter must be an integer >= 1"),
        ("n_iter = 2.5", "n_iter must be an integer >= 1"),
        ('search_seed = "a"', "search_seed must be a non-negative integer"),
        ("search_seed = -1", "search_seed must be a non-negative integer"),
    ],
)
def test_bad_sweep_keys_are_one_line_errors_naming_the_file(tmp_path, line, words):
    path = tmp_path / "bad.toml"
    path.write_text(f"{line}\n[sweep]\nl2 = [0.1]\n")
    with pytest.raises(ConfigError, match=r"config file '.*bad.toml': ") as caught:
        resolve(path, "sweep")
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_seeds_as_text_are_read_as_the_seeds_flag_reads_them(tmp_path):
    path = tmp_path / "seeds.toml"
    for text, seeds in (('"0-2"', [0, 1, 2]), ('"4,7"', [4, 7]), ("[5, 6]", [5, 6])):
        path.write_text(f"seeds = {text}\n")
        assert quietly(path, "sweep").plan["seeds"] == seeds
