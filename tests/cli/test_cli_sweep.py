"""`glassnet sweep` end to end on tiny trainings."""

from __future__ import annotations

import json
import sys

import pytest

from glassnet.cli.app import main


def test_sweep_writes_records_summary_and_plot(tmp_path, capsys):
    out = tmp_path / "sweep"
    code = main(
        [
            "sweep",
            "--set",
            "epochs=5",
            "--set",
            "hidden_layer_sizes=[8]",
            "--grid",
            "l2=0.1,1",
            "--seeds",
            "0,1",
            "--jobs",
            "1",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    records = [json.loads(line) for line in (out / "trials.jsonl").open()]
    assert [(r["l2"], r["seed"]) for r in records] == [(0.1, 0), (0.1, 1), (1, 0), (1, 1)]
    # Accuracy on the seed split's 482 validation images: a whole number of them correct.
    for record in records:
        correct = record["validation_accuracy"] * 482
        assert correct == pytest.approx(round(correct), abs=1e-9)
    summary = (out / "summary.md").read_text()
    assert "| l2 | seeds | validation accuracy |" in summary
    # Each l2's row shows the mean over its two seeds.
    for l2 in (0.1, 1):
        mean = sum(r["validation_accuracy"] for r in records if r["l2"] == l2) / 2
        assert f"| {l2:g} | 2 | {mean:.4f} ± " in summary
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"


def test_sweep_from_a_toml_file_with_random_search(tmp_path):
    path = tmp_path / "search.toml"
    path.write_text(
        'search = "random"\nn_iter = 3\nseeds = [0]\n'
        "[train]\nepochs = 3\nhidden_layer_sizes = [8]\n"
        "[sweep]\nlr = { loguniform = [0.01, 0.5] }\nactivation = ['relu', 'tanh']\n"
    )
    assert main(["sweep", str(path), "--jobs", "1", "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert len((tmp_path / "o" / "trials.jsonl").read_text().splitlines()) == 3


def test_bad_sweep_settings_print_one_line_and_exit_2(tmp_path, capsys):
    assert main(["sweep", "--grid", "nosuch=1,2", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("glassnet: error:") and "nosuch" in err and "\n" not in err


def test_cluster_flag_without_dask_says_how_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # makes the import fail
    code = main(["sweep", "--set", "epochs=2", "--cluster", "local", "--out", str(tmp_path)])
    assert code == 2
    assert "pip install glassnet[dask]" in capsys.readouterr().err
    assert not (tmp_path / "trials.jsonl").exists()


def test_sweep_json_result_on_stdout(tmp_path, capsys):
    code = main(
        [
            "sweep",
            "--set",
            "epochs=2",
            "--set",
            "hidden_layer_sizes=[4]",
            "--grid",
            "l2=0.1,1",
            "--jobs",
            "1",
            "--out",
            str(tmp_path),
            "--json",
        ]
    )
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert document["trials"] == 2 and document["where"] == "local processes"
    # Best mean validation accuracy first (one seed: the trial's own), grid order on ties.
    accuracy = {record["l2"]: record["validation_accuracy"] for record in document["records"]}
    best_first = sorted(accuracy, key=lambda l2: -accuracy[l2])
    assert [row["l2"] for row in document["summary"]] == best_first
    assert [r["trial"] for r in document["records"]] == [0, 1]


def test_sweep_of_an_augmenting_preset_gets_the_image_shape(tmp_path):
    out = tmp_path / "best"
    code = main(
        [
            "sweep",
            "--preset",
            "best",
            "--set",
            "epochs=1",
            "--set",
            "hidden_layer_sizes=[8]",
            "--grid",
            "augment_shift=0,1",
            "--seeds",
            "0",
            "--jobs",
            "1",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    records = [json.loads(line) for line in (out / "trials.jsonl").open()]
    assert [r["augment_shift"] for r in records] == [0, 1]
    # the same seed and settings but for the shifts: the augmented trial trained differently
    assert records[0]["train_loss"] != records[1]["train_loss"]
