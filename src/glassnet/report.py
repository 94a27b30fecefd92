"""Figures (matplotlib, imported lazily so the library never pays for it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from glassnet.train import History

if TYPE_CHECKING:
    from glassnet.experiment import ExperimentResult


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def plot_sweep(result: ExperimentResult, path: str | Path) -> Path:
    """Validation accuracy of each sweep trial against its swept value (log x axis for l2)."""
    plt = _pyplot()
    records = [trial.record() for trial in result.trials]
    keys = list(result.preset.sweep) or ["l2"]
    key = "l2" if "l2" in keys else keys[0]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    xs = [r.get(key, getattr(result.preset.train, key)) for r in records]
    ys = [r.get("validation_accuracy", float("nan")) for r in records]
    ax.plot(xs, ys, "o-", color="tab:blue", label="validation accuracy")
    best = result.best_params.get(key, getattr(result.preset.train, key))
    ax.axvline(best, color="tab:red", linestyle="--", label=f"chosen {key} = {best:.3g}")
    if key == "l2" or key == "lr":
        ax.set_xscale("log")
    ax.set_xlabel(key)
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{result.preset.name}: validation accuracy over the sweep")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left")
    return _save(fig, path)


def plot_losses(history: History, path: str | Path) -> Path:
    """Train and validation loss per epoch of one training."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    epochs = range(1, len(history.train_loss) + 1)
    ax.plot(epochs, history.train_loss, label="train loss (with L2)")
    if history.validation_loss:
        ax.plot(epochs, history.validation_loss, label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("final model: loss per epoch")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    from glassnet.checkpoint import write_atomic

    path = Path(path)
    fig.tight_layout()
    write_atomic(path, lambda handle: fig.savefig(handle, format="png"))
    _pyplot().close(fig)
    return path
