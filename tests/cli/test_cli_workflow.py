"""The practitioner's workflow end to end through ``glassnet.cli.app``: train on a CSV the
test writes, then evaluate, predict, summary and report; OpenML on an offline fixture."""

import csv
import json
import shutil

import numpy as np
import pytest

from glassnet.cli.app import main
from glassnet.models import checkpoint
from openml_fixture import tiny_mnist, write_openml_cache

# The seed's recipe, small: tables would otherwise get the tabular defaults (Adam, minibatches,
# early stopping), and these tests count layers and epochs.
FAST = [
    "--hidden",
    "8",
    "--activation",
    "sigmoid",
    "--optimizer",
    "sgd",
    "--batch-size",
    "full",
    "--patience",
    "none",
    "--epochs",
    "40",
    "--lr",
    "0.5",
    "--jobs",
    "1",
]


def write_blobs(path, n_per_class=30, seed=0, with_labels=True):
    """Three well-separated blobs in 3-D with string labels and a decoy text-free id column."""
    rng = np.random.default_rng(seed)
    centers = {"red": (0, 0, 0), "green": (4, 4, 0), "blue": (0, 4, 4)}
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["height", "width", "depth"] + (["colour"] if with_labels else []))
        for label, center in centers.items():
            for point in rng.normal(center, 0.5, (n_per_class, 3)):
                writer.writerow([f"{v:.4f}" for v in point] + ([label] if with_labels else []))
    return path


def run_json(capsys, argv):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def blobs_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("blobs")
    data = write_blobs(folder / "blobs.csv")
    out = folder / "run"
    assert (
        main(
            [
                "train",
                "--data",
                str(data),
                "--target",
                "colour",
                *FAST,
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    return data, out


def test_train_writes_a_complete_run_folder(blobs_run):
    _, out = blobs_run
    for name in (
        "model.npz",
        "metrics.json",
        "predictions.npz",
        "report.html",
        "losses.png",
        "accuracy.png",
        "confusion.png",
    ):
        assert (out / name).stat().st_size > 0, name
    assert not (out / "gallery.png").exists()  # rows are not images
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["split_sizes"] == {"train": 54, "validation": 18, "test": 18}
    assert metrics["test_accuracy"] >= 0.9
    assert metrics["data"]["target"] == "colour"
    assert metrics["evaluation"]["classes"] == ["blue", "green", "red"]
    assert len(metrics["history"]["train_loss"]) == 40


def test_train_json_reports_the_headline_numbers(tmp_path, capsys):
    data = write_blobs(tmp_path / "blobs.csv")
    result = run_json(
        capsys,
        [
            "train",
            "--data",
            str(data),
            "--target",
            "colour",
            *FAST,
            "--optimizer",
            "adam",
            "--lr",
            "0.05",
            "--batch-size",
            "16",
            "--activation",
            "relu",
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert result["test_accuracy"] >= 0.9
    assert result["split_sizes"]["test"] == 18
    config = checkpoint.load(tmp_path / "run" / "model.npz").info["train_config"]
    assert (config["optimizer"], config["batch_size"], config["activation"]) == ("adam", 16, "relu")


def test_evaluate_reports_accuracy_per_class_and_confusion(blobs_run, capsys):
    data, out = blobs_run
    result = run_json(capsys, ["evaluate", str(out / "model.npz"), "--data", str(data)])
    assert result["n_samples"] == 90 and result["accuracy"] >= 0.9
    assert [row["class"] for row in result["per_class"]] == ["blue", "green", "red"]
    assert np.sum(result["confusion_matrix"]) == 90
    assert main(["evaluate", str(out / "model.npz"), "--data", str(data)]) == 0
    table = capsys.readouterr().out
    assert "per-class metrics" in table and "confusion matrix" in table and "green" in table


def test_predict_writes_csv_with_probabilities(blobs_run, tmp_path, capsys):
    _, out = blobs_run
    unlabelled = write_blobs(tmp_path / "new.csv", n_per_class=2, seed=5, with_labels=False)
    target = tmp_path / "predictions.csv"
    assert (
        main(
            [
                "predict",
                str(out / "model.npz"),
                "--data",
                str(unlabelled),
                "--proba",
                "--out",
                str(target),
                "--quiet",
            ]
        )
        == 0
    )
    # --quiet keeps the command's one result line.
    assert capsys.readouterr().out == f"wrote 6 predictions to {target}\n"
    rows = list(csv.DictReader(target.open()))
    assert list(rows[0]) == ["row", "prediction", "proba_blue", "proba_green", "proba_red"]
    assert [r["prediction"] for r in rows] == ["red"] * 2 + ["green"] * 2 + ["blue"] * 2
    assert all(
        abs(sum(float(r[f"proba_{c}"]) for c in ("blue", "green", "red")) - 1) < 1e-5 for r in rows
    )
    assert main(["predict", str(out / "model.npz"), "--data", str(unlabelled)]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "0,red"


def test_predict_runs_the_networks_once_with_or_without_probabilities(
    blobs_run, tmp_path, capsys, monkeypatch
):
    from glassnet.models.model import Model

    _, out = blobs_run
    unlabelled = write_blobs(tmp_path / "new.csv", n_per_class=3, seed=6, with_labels=False)
    outputs, calls = Model.outputs, []

    def counted(self, x):
        calls.append(len(x))
        return outputs(self, x)

    monkeypatch.setattr(Model, "outputs", counted)
    printed = {}
    for flags in ([], ["--proba"]):
        assert main(["predict", str(out / "model.npz"), "--data", str(unlabelled), *flags]) == 0
        printed[bool(flags)] = [line.split(",")[:2] for line in capsys.readouterr().out.split()]
        assert calls == [9], flags  # one pass over the 9 rows
        calls.clear()
    assert printed[True] == printed[False]  # the labels of the probabilities are predict's


def test_summary_lists_layers_shapes_and_parameter_counts(blobs_run, capsys):
    _, out = blobs_run
    result = run_json(capsys, ["summary", str(out / "model.npz")])
    layers = [(row["layer"], row["output_shape"], row["parameters"]) for row in result["layers"]]
    assert layers == [
        ("input", "(n, 3)", 0),
        ("0: Linear 3 -> 8", "(n, 8)", 32),
        ("1: Sigmoid", "(n, 8)", 0),
        ("2: Linear 8 -> 3", "(n, 3)", 27),
    ]
    assert result["total_parameters"] == 59
    assert result["train_config"]["hidden_layer_sizes"] == [8]
    assert main(["summary", str(out / "model.npz")]) == 0
    assert "Linear 3 -> 8" in capsys.readouterr().out


def test_report_rebuilds_the_page_from_the_folder(blobs_run, capsys):
    _, out = blobs_run
    (out / "report.html").unlink()
    (out / "confusion.png").unlink()
    assert run_json(capsys, ["report", str(out)]) == {"report": str(out / "report.html")}
    assert (out / "report.html").stat().st_size > 0 and (out / "confusion.png").exists()


def test_config_file_with_a_sweep_and_flags_on_top(tmp_path, capsys):
    data = write_blobs(tmp_path / "blobs.csv")
    config = tmp_path / "run.toml"
    assert data.name == "blobs.csv"  # found beside the config file, not in the working dir
    config.write_text(
        'data = "blobs.csv"\ntarget = "colour"\ntest_fraction = 0.3\n'
        "[train]\nhidden_layer_sizes = [4]\nepochs = 5\nactivation = 'sigmoid'\n"
        "optimizer = 'sgd'\nlr = 0.2\nbatch_size = 'full'\nearly_stopping_patience = 'none'\n"
        "[sweep]\nl2 = [0.001, 100.0]\n"
    )
    result = run_json(
        capsys,
        [
            "train",
            "--config",
            str(config),
            "--epochs",
            "30",
            "--quiet",
            "--jobs",
            "1",
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert result["best_params"] == {"l2": 0.001}
    assert result["split_sizes"]["test"] == 27
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert len(metrics["sweep"]) == 2 and len(metrics["history"]["train_loss"]) == 30
    assert (tmp_path / "run" / "sweep.png").exists()


def test_openml_dataset_by_name_on_an_offline_fixture(tmp_path, capsys):
    x, y = tiny_mnist(n=150)
    home = write_openml_cache(tmp_path / "home", "mnist_784", x, y)
    result = run_json(
        capsys,
        [
            "train",
            "--data",
            "mnist_784",
            "--data-home",
            str(home),
            *FAST,
            "--hidden",
            "16",
            "--quiet",
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert result["split_sizes"] == {"train": 90, "validation": 30, "test": 30}
    assert (tmp_path / "run" / "gallery.png").exists()  # mnist rows are 28x28 images
    evaluated = run_json(
        capsys,
        [
            "evaluate",
            str(tmp_path / "run" / "model.npz"),
            "--data",
            "openml:mnist_784",
            "--data-home",
            str(home),
        ],
    )
    assert evaluated["n_samples"] == 150


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--data", "{bad}", "--target", "y"], "too few rows (2) to split three ways"),
        (["train", "--data", "{bad}", "--target", "colour"], "has no column 'colour'"),
        (["train", "--target", "y"], "say which data to train on"),
        (["evaluate", "{missing}", "--data", "{bad}"], "does not exist"),
        (["report", "{missing}"], "does not exist"),
        (["train", "--config", "{missing}"], "does not exist"),
        (["train", "--config", "{toml}"], "unknown key(s) ['seed'] (the seed is the --seed flag"),
    ],
)
def test_user_errors_are_one_line_on_stderr_and_exit_2(
    tmp_path, capsys, monkeypatch, argv, message
):
    monkeypatch.chdir(tmp_path)  # where a run folder would go by default
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,y\n1,2,0\n3,x,1\n")
    toml = tmp_path / "run.toml"
    toml.write_text("seed = 3\n")
    names = {"{bad}": str(bad), "{missing}": str(tmp_path / "missing.npz"), "{toml}": str(toml)}
    assert main([names.get(arg, arg) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "runs").exists()  # a refused command claims no run folder


def test_an_unwritable_output_path_is_one_line_and_exit_2(blobs_run, tmp_path, capsys):
    data, out = blobs_run
    folder = tmp_path / "a_folder"
    folder.mkdir()
    argv = ["predict", str(out / "model.npz"), "--data", str(data), "--out", str(folder)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is a folder; name a file" in err and err.count("\n") == 1
    copy = shutil.copytree(out, tmp_path / "copy")
    (copy / "report.html").unlink()
    (copy / "report.html").mkdir()  # os.replace cannot put a file over a folder
    assert main(["report", str(copy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("glassnet: error: ") and err.count("\n") == 1
    assert err.rstrip().endswith("report.html")


@pytest.mark.parametrize(
    "command",
    [[], ["train"], ["evaluate"], ["predict"], ["summary"], ["report"], ["run"], ["presets"]],
)
def test_every_help_shows_an_example(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "example" in capsys.readouterr().out


def test_train_help_gives_each_default_as_it_applies_on_a_small_and_a_large_table(capsys):
    from glassnet.training.table_recipe import defaults_for

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps at the terminal width
    small, large = defaults_for(20_000), defaults_for(200_000)
    sized = "on a table of up to 20,000 training rows, sized to the rows above;"
    for flag, setting in (("--hidden", "hidden_layer_sizes"), ("--lr", "lr")):
        assert small[setting] != large[setting]  # the help must not give one value for both
        shown = ",".join(map(str, small[setting])) if flag == "--hidden" else small[setting]
        assert f"(default: {shown} {sized}" in text[text.index(f"{flag} ") :], flag
    # a setting the rows do not change keeps its one value on any table
    assert "L2 strength, scikit-learn's alpha convention (default: 0.0001 on a table, 0.0" in text
