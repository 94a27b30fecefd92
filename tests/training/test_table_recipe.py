"""The table recipe's sizes follow the training rows, and a user's own setting wins."""

import json

import numpy as np
import pandas as pd
import pytest

from glassnet.cli.app import main
from glassnet.experiments import config_file
from glassnet.models import checkpoint
from glassnet.training import table_recipe
from glassnet.training.table_recipe import SIZED, defaults_for, sized_settings, table_defaults


def test_small_tables_keep_the_small_table_sizes():
    for rows in (1, 900, table_recipe.SMALL_TABLE):
        sizes = {"batch_size": 32, "epochs": 300, "early_stopping_patience": 30, "lr": 0.001}
        sizes.update(hidden_layer_sizes=[100], lr_schedule="constant", dtype="float64")
        assert defaults_for(rows) == {**sizes, "numeric_embedding": 0}
        embedded = {**sizes, "numeric_embedding": table_recipe.NUMERIC_EMBEDDING}
        assert defaults_for(rows, task="regression") == embedded


def test_large_tables_train_without_embeddings_in_float32():
    large = defaults_for(table_recipe.SMALL_TABLE + 1, task="regression")
    assert large["numeric_embedding"] == 0 and large["dtype"] == "float32"
    assert large["lr"] == table_recipe.LARGE_LR


def test_flights_sized_tables_get_a_deeper_net_and_a_cosine_rate_over_the_whole_budget():
    # flights' 196,407 training rows (benchmarks/big_tables.py): the measured recipe.
    assert defaults_for(196_407, task="regression") == {
        "hidden_layer_sizes": [32, 32, 32, 32],
        "batch_size": 256,
        "epochs": 20,
        "early_stopping_patience": 10,
        "numeric_embedding": 0,
        "lr": 0.006,
        "lr_schedule": "cosine",
        "dtype": "float32",
    }
    # 600,000 rows (the 1,000,000-row table's training rows): 8 epochs, the least there is.
    million = defaults_for(600_000, task="regression")
    assert (million["batch_size"], million["epochs"]) == (table_recipe.MAX_BATCH, 8)


def test_only_small_regression_tables_average_several_networks():
    assert table_recipe.ensemble_for(5_000, "regression") == table_recipe.ENSEMBLE
    assert table_recipe.ensemble_for(5_000, "classification") == 1
    assert table_recipe.ensemble_for(table_recipe.SMALL_TABLE + 1, "regression") == 1


def test_larger_tables_get_bigger_batches_and_fewer_epochs():
    sizes = [defaults_for(rows) for rows in (30_000, 200_000, 600_000, 5_000_000)]
    batches = [size["batch_size"] for size in sizes]
    epochs = [size["epochs"] for size in sizes]
    assert batches == sorted(batches) and batches[0] > 32 and batches[-1] == table_recipe.MAX_BATCH
    assert epochs == sorted(epochs, reverse=True) and epochs[0] < 300 and epochs[-1] >= 8
    for size in sizes:  # a patience that outlasts the cosine's first, noisy epochs
        assert size["early_stopping_patience"] >= max(10, size["epochs"] // 4)
        assert size["lr_schedule"] == "cosine"
    # flights' ~200,000 training rows: a few hundred optimizer steps an epoch, not 6,000.
    flights = defaults_for(200_000)
    assert 200_000 / flights["batch_size"] < 1_000
    assert flights["epochs"] * 200_000 <= 2 * table_recipe.SAMPLES_BUDGET


def test_the_whole_recipe_and_what_a_user_leaves_open():
    recipe = table_defaults(50_000)
    assert set(SIZED) | set(table_recipe.TABLE_RECIPE) == set(recipe)
    open_keys = [key for key in SIZED if key != "epochs"]
    assert sized_settings({"epochs": 5}, 50_000) == {
        key: defaults_for(50_000)[key] for key in open_keys
    }
    with pytest.raises(ValueError, match="n_rows"):
        defaults_for(0)


def test_the_config_file_says_which_sizes_are_left_to_the_rows(tmp_path):
    data = tmp_path / "t.csv"
    pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]}).to_csv(data, index=False)
    plain = config_file.resolve_layout({"data": str(data)}, "train")
    assert plain.data.table_sized == (*SIZED, "ensemble")
    given = config_file.resolve_layout({"data": str(data), "train": {"batch_size": 8}}, "train")
    left = tuple(key for key in SIZED if key != "batch_size")
    assert given.data.table_sized == (*left, "ensemble")
    mine = config_file.resolve_layout({"data": str(data), "ensemble": 2}, "train")
    assert mine.data.table_sized == tuple(SIZED) and mine.preset.ensemble == 2
    preset = config_file.resolve_layout({"data": str(data), "base": "seed"}, "train")
    assert preset.data.table_sized == ()  # a preset's recipe is its own


def test_train_chooses_the_sizes_from_the_rows_and_keeps_the_users(tmp_path, monkeypatch):
    monkeypatch.setattr(table_recipe, "SMALL_TABLE", 50)  # 300 rows count as a large table
    monkeypatch.setattr(table_recipe, "SAMPLES_BUDGET", 1_800)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": x[:, 0] - x[:, 1]}).to_csv(path, index=False)
    base = ["train", "--data", str(path), "--target", "y", "--quiet", "--jobs", "1"]
    assert main([*base, "--out", str(tmp_path / "auto")]) == 0
    info = checkpoint.load(tmp_path / "auto" / "model.npz").info
    expected = defaults_for(180)  # 60% of 300 rows train
    assert expected["batch_size"] == 64 and expected["epochs"] == 10
    assert info["table_defaults"] == {**expected, "ensemble": 1}
    config = info["train_config"]
    assert [config[key] for key in SIZED] == [expected[key] for key in SIZED]
    network = checkpoint.load(tmp_path / "auto" / "model.npz").networks[0]
    widths = [layer.out_features for layer in network.layers if hasattr(layer, "out_features")]
    assert widths == [*table_recipe.LARGE_HIDDEN, 1]
    history = json.loads((tmp_path / "auto" / "metrics.json").read_text())["history"]
    assert len(history["train_loss"]) == 10  # the whole cosine budget: patience 10 of 10
    mine = ["--batch-size", "16", "--hidden", "8"]
    assert main([*base, "--out", str(tmp_path / "mine"), *mine]) == 0
    info = checkpoint.load(tmp_path / "mine" / "model.npz").info
    assert info["train_config"]["batch_size"] == 16 and info["train_config"]["epochs"] == 10
    assert list(info["train_config"]["hidden_layer_sizes"]) == [8]
    assert info["train_config"]["lr_schedule"] == "cosine"
    assert "batch_size" not in info["table_defaults"]
    assert "hidden_layer_sizes" not in info["table_defaults"]


def test_a_small_regression_table_embeds_its_numeric_columns(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    frame["kind"] = rng.choice(["u", "v"], 200)
    frame["y"] = np.sin(3 * frame["a"]) + (frame["kind"] == "u")
    frame.to_csv(tmp_path / "t.csv", index=False)
    argv = ["train", "--data", str(tmp_path / "t.csv"), "--target", "y", "--quiet"]
    assert main([*argv, "--epochs", "3", "--jobs", "1", "--out", str(tmp_path / "run")]) == 0
    model = checkpoint.load(tmp_path / "run" / "model.npz")
    first = model.networks[0].layers[0]
    assert type(first).__name__ == "PeriodicEmbedding" and first.n_embedded == 2  # a and b
    assert model.info["table_defaults"]["numeric_embedding"] == table_recipe.NUMERIC_EMBEDDING
    assert model.info["table_defaults"]["ensemble"] == table_recipe.ENSEMBLE
    assert len(model.networks) == table_recipe.ENSEMBLE
    frame["y"] = np.where(frame["y"] > 0.5, "high", "low")  # classes: no embedding
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert main([*argv, "--epochs", "3", "--jobs", "1", "--out", str(tmp_path / "cls")]) == 0
    networks = checkpoint.load(tmp_path / "cls" / "model.npz").networks
    assert type(networks[0].layers[0]).__name__ == "Linear" and len(networks) == 1
