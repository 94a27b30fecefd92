"""The curves mark the epoch early stopping kept; a regression that predicts no better than
the training mean gets the warning box and its baseline column."""

import json

import numpy as np

from glassnet.cli.app import main
from glassnet.report import figures
from glassnet.training.history import History


def drawn(monkeypatch, plot, *args):
    """The figure ``plot`` draws, caught before it is saved and closed."""
    caught = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, path, layout=True: caught.append(fig))
    plot(*args, "unused.png")
    return caught[0]


def kept_lines(fig):
    return [line for line in fig.axes[0].get_lines() if line.get_label().startswith("kept")]


def test_the_loss_and_accuracy_curves_mark_the_kept_epoch(monkeypatch):
    history = History(
        train_loss=[1.0, 0.8, 0.6, 0.5, 0.4, 0.3],
        validation_loss=[1.1, 0.9, 0.7, 0.75, 0.8, 0.9],
        validation_accuracy=[0.5, 0.6, 0.7, 0.68, 0.66, 0.6],
        best_epoch=2,
    )
    for fig in (
        drawn(monkeypatch, figures.plot_losses, history),
        drawn(monkeypatch, figures.plot_accuracy, history, 0.7),
    ):
        (line,) = kept_lines(fig)
        assert list(line.get_xdata()) == [3, 3]  # epochs are counted from 1 on the axis
        assert line.get_label() == "kept: epoch 3 of 6 (early stopping)"
    history.best_epoch = None  # no early stopping: the model is the last epoch's
    assert kept_lines(drawn(monkeypatch, figures.plot_losses, history)) == []


def test_a_regression_no_better_than_the_mean_is_flagged(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["a,b,noise"] + [f"{a:.4f},{b:.4f},{n:.4f}" for a, b, n in rng.normal(size=(200, 3))]
    (tmp_path / "noise.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    argv = ["train", "--data", str(tmp_path / "noise.csv"), "--target", "noise", "--quiet"]
    assert main([*argv, "--epochs", "40", "--hidden", "32", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    baseline = metrics["evaluation"]["baseline"]
    assert baseline["rule"] == "always the training mean"
    assert metrics["test_rmse"] >= baseline["rmse"]  # noise cannot be predicted
    assert "does not beat the baseline" in metrics["warnings"][0]
    page = (out / "report.html").read_text()
    assert "class=warning" in page and "baseline: always the training mean" in page
