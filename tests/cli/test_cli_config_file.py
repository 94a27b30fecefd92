"""One config file for `glassnet train`, `run` and `sweep`: the docs' own file on the real
penguins table (docs/guide/config-and-sweeps.md), flags over the file, and keys refused or
ignored the same way everywhere."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glassnet.cli.app import main

PAGE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "config-and-sweeps.md"


def run(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured


def page_config():
    """The page's one complete config file, as it is printed there."""
    text = PAGE.read_text()
    match = re.search(r"```toml\n(# penguins\.toml.*?)```", text, re.S)
    assert match, "the config page lost its penguins.toml example"
    return match.group(1)


def page_commands():
    """The page's `glassnet ... --config penguins.toml` commands, as argument lists."""
    text = PAGE.read_text()
    block = text[text.index("# penguins.toml") :]
    block = block[block.index("```bash\n") + 8 :]
    block = block[: block.index("```")]
    lines = [line.split("#")[0].split() for line in block.splitlines() if line.strip()]
    return [line[1:] for line in lines if line[:1] == ["glassnet"]]


def test_the_docs_file_runs_with_train_run_and_sweep_as_printed(tmp_path, capsys, monkeypatch):
    palmerpenguins = pytest.importorskip("palmerpenguins")
    shipped = Path(palmerpenguins.__file__).parent / "data" / "penguins.csv"
    shutil.copy(shipped, tmp_path / "penguins.csv")
    (tmp_path / "penguins.toml").write_text(page_config())
    monkeypatch.chdir(tmp_path)
    commands = page_commands()
    assert [argv[0] for argv in commands] == ["train", "run", "sweep", "train"]
    # One process each: the page leaves --jobs at all cores, which changes nothing here.
    argv_json = [[*argv, "--json", "--jobs", "1"] for argv in commands[:3]]
    results = [json.loads(run(capsys, argv).out) for argv in argv_json]
    train, ran, sweep = results
    # train and run read the file alike: the same choice and the same network, bit for bit.
    assert train["best_params"] == ran["best_params"]
    assert train["test_accuracy"] == ran["test_accuracy"] > 0.9
    trained = np.load(tmp_path / "runs/penguins/model.npz")
    again = np.load(tmp_path / "runs/penguins-run/model.npz")
    weights = [name for name in trained.files if name.startswith("net")]
    assert weights and all(np.array_equal(trained[n], again[n]) for n in weights)
    # The sweep read the same data, columns and grid: 3 l2 values x 3 seeds.
    assert sweep["trials"] == 9
    assert sorted({r["l2"] for r in sweep["records"]}) == [0.0001, 0.1, 10.0]
    metrics = json.loads((tmp_path / "runs/penguins/metrics.json").read_text())
    assert metrics["split_sizes"] == {"train": 206, "validation": 69, "test": 69}
    from glassnet.models import checkpoint

    roles = checkpoint.load(tmp_path / "runs/penguins/model.npz").table.roles
    assert roles["year"] == "dropped: --drop" and roles["island"] == "categorical"


def prices(path, n=120, seed=0):
    """A small regression table: price follows x1 and the colour; noise is noise."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    colour = rng.choice(["red", "blue"], n)
    price = 3 * x1 + np.where(colour == "red", 2.0, -2.0) + rng.normal(0, 0.1, n)
    frame = pd.DataFrame({"x1": x1, "colour": colour, "noise": rng.normal(size=n), "price": price})
    frame.to_csv(path, index=False)
    return path


CONFIG = """
data = "prices.csv"
target = "price"
[columns]
drop = ["noise"]
[train]
hidden_layer_sizes = [8]
lr = 0.01
epochs = 15
early_stopping_patience = "none"
[sweep]
l2 = [0.001, 1000.0]
"""


@pytest.fixture
def config(tmp_path):
    prices(tmp_path / "prices.csv")
    path = tmp_path / "prices.toml"
    path.write_text(CONFIG)
    return path


def test_sweep_reads_data_target_and_columns_from_the_file(config, tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", "--config", str(config), "--seeds", "0,1", "--jobs", "1", "--json"]
    result = json.loads(run(capsys, [*argv, "--out", str(out)]).out)
    assert result["trials"] == 4
    # A regression on the file's table, ranked by validation loss: a huge l2 cannot fit.
    assert [row["l2"] for row in result["summary"]] == [0.001, 1000.0]
    assert all("validation_loss" in record for record in result["records"])
    summary = (out / "summary.md").read_text()
    assert "| l2 | seeds | validation loss |" in summary  # no empty accuracy column
    # The positional FILE is the same as --config FILE.
    again = json.loads(
        run(capsys, ["sweep", str(config), "--seeds", "0,1", "--jobs", "1", "--json"]).out
    )
    assert again["records"] == result["records"]


@pytest.mark.parametrize("command", ["train", "run", "sweep"])
def test_flags_override_the_file_in_every_command(command, config, tmp_path, capsys):
    out = tmp_path / command
    argv = [command, "--config", str(config), "--out", str(out), "--jobs", "1", "--quiet"]
    # Classify the colour instead of the file's price; --drop replaces the file's drop list.
    argv += ["--target", "colour", "--drop", "x1"]
    if command == "train":
        argv += ["--hidden", "4"]
    elif command == "run":
        argv += ["--dtype", "float32"]
    else:
        argv += ["--grid", "l2=0.5", "--grid", "hidden_layer_sizes=[4]"]
    run(capsys, argv)
    if command == "sweep":
        records = [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()]
        # --grid l2 replaced the file's l2 list, --grid hidden_layer_sizes joined it.
        assert [(r["l2"], r["hidden_layer_sizes"]) for r in records] == [(0.5, [4])]
        assert "validation accuracy" in (out / "summary.md").read_text()  # classes now
        return
    from glassnet.models import checkpoint

    model = checkpoint.load(out / "model.npz")
    assert model.task == "classification" and list(model.classes) == ["blue", "red"]
    roles = model.table.roles
    assert roles["x1"] == "dropped: --drop" and roles["noise"] != "dropped: --drop"
    train = model.info["train_config"]
    if command == "train":
        assert train["hidden_layer_sizes"] == [4] and train["epochs"] == 15
    else:
        assert train["dtype"] == "float32" and train["hidden_layer_sizes"] == [8]


@pytest.mark.parametrize("command", ["train", "run", "sweep"])
@pytest.mark.parametrize(
    "old, new, words",
    [
        ("data =", 'colour = "blue"\ndata =', "unknown key(s) ['colour']"),
        ("[columns]\ndrop", "drop = []\n[columns]\ndrop", "(column lists go in a [columns] table)"),
        ("epochs = 15", "epoch = 15", "[train] has unknown training setting(s) ['epoch']"),
    ],
)
def test_unknown_keys_are_one_line_exit_2_in_every_command(
    command, old, new, words, config, tmp_path, capsys
):
    config.write_text(CONFIG.replace(old, new))
    out = tmp_path / "out"
    assert main([command, "--config", str(config), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert words in err and str(config) in err and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize(
    "command, key",
    [("train", "seeds = [0, 1]"), ("run", 'search = "random"'), ("sweep", "ensemble = 2")],
)
def test_a_key_for_another_command_is_a_warning_and_the_run_goes_on(
    command, key, config, tmp_path, capsys
):
    config.write_text(f"{key}\n{CONFIG}")
    out = tmp_path / "out"
    argv = [command, "--config", str(config), "--out", str(out), "--jobs", "1", "--quiet"]
    err = run(capsys, argv).err
    name = key.split()[0]
    assert f"warning: config file '{config}': '{name}' is not used by glassnet {command}" in err
    assert (out / ("trials.jsonl" if command == "sweep" else "model.npz")).exists()


def test_data_flags_alone_give_run_the_recipe_train_uses(config, tmp_path, capsys):
    """`--data TABLE` means what `data = TABLE` in a file means: the tabular recipe in every
    command (the seed preset is for the digits, or asked for with --preset)."""
    data = str(config.parent / "prices.csv")
    argv = ["--data", data, "--target", "price", "--jobs", "1", "--quiet"]
    run(capsys, ["train", *argv, "--out", str(tmp_path / "train")])
    run(capsys, ["run", *argv, "--out", str(tmp_path / "run")])
    trained = np.load(tmp_path / "train/model.npz")
    again = np.load(tmp_path / "run/model.npz")
    weights = [name for name in trained.files if name.startswith("net")]
    assert weights and all(np.array_equal(trained[n], again[n]) for n in weights)
    from glassnet.experiments.plan import plan_from_flags

    plan = plan_from_flags(seeds="0,1", data={"data": data, "target": "price"})
    assert plan.preset.train.optimizer == "adam" and plan.preset.train.batch_size == 32
    assert plan_from_flags(base="seed", data={"data": data}).preset.train.batch_size is None


def test_a_sweep_of_nothing_is_refused_in_one_line(config, tmp_path, capsys):
    """Data alone (no --grid, [sweep], --seeds or a preset with a grid) is one training, not a
    sweep: it is refused before anything runs, on a file's data as on the digits."""
    data = str(config.parent / "prices.csv")
    for argv in (["--data", data, "--target", "price"], ["--preset", "cnn"]):
        out = tmp_path / "sweep"
        assert main(["sweep", *argv, "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert "nothing to sweep: give --grid" in err and err.count("\n") == 1
        assert not out.exists()


def test_classes_forced_on_a_numeric_target_is_a_short_error_with_the_way_out(
    config, tmp_path, capsys
):
    out = tmp_path / "run"
    argv = ["train", "--config", str(config), "--task", "classification", "--out", str(out)]
    assert main([*argv, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--task regression" in err and err.count("\n") == 1
    assert "classes)" in err and len(err) < 1000  # not every one of the ~70 prices
    assert not out.exists()
