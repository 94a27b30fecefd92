"""Figures (matplotlib, imported lazily so the library never pays for it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from glassnet.training.history import History


def preload() -> None:
    """Start importing matplotlib (~0.5 s of CPU) in a background thread, for a process that
    will draw later and has idle time now (waiting for a sweep's worker processes)."""
    import threading

    threading.Thread(target=pyplot, name="glassnet-preload-matplotlib", daemon=True).start()


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the file-only Agg backend, imported on first use."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def line_figure(plt: Any) -> tuple[Any, Any]:
    """A 6x4 inch figure with one axes, its margins fixed to fit a title, axis labels and
    tick labels: fitting them with tight_layout costs a second draw (~0.1 s a figure)."""
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.12, top=0.92)
    return fig, ax


def plot_sweep_records(
    records: list[dict[str, Any]],
    swept: list[str],
    best_params: dict[str, Any],
    train: dict[str, Any],
    name: str,
    path: str | Path,
) -> Path:
    """The sweep figure from plain records (``metrics.json``'s ``sweep``), one point per trial."""
    plt = pyplot()
    keys = swept or ["l2"]
    key = "l2" if "l2" in keys else keys[0]
    fig, ax = line_figure(plt)
    xs = [r.get(key, train.get(key)) for r in records]
    ys = [r.get("validation_accuracy", float("nan")) for r in records]
    ax.plot(xs, ys, "o-", color="tab:blue", label="validation accuracy")
    best = best_params.get(key, train.get(key))
    if isinstance(best, (int, float)):
        ax.axvline(best, color="tab:red", linestyle="--", label=f"chosen {key} = {best:.3g}")
    if key in ("l2", "lr") and all(isinstance(x, (int, float)) and x > 0 for x in xs):
        ax.set_xscale("log")
    ax.set_xlabel(key)
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{name}: validation accuracy over the sweep")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left")
    return save_figure(fig, path, layout=False)


def plot_losses(history: History, path: str | Path) -> Path:
    """Train and validation loss per epoch of one training."""
    plt = pyplot()
    fig, ax = line_figure(plt)
    epochs = range(1, len(history.train_loss) + 1)
    ax.plot(epochs, history.train_loss, label="train loss (with L2)")
    if history.validation_loss:
        ax.plot(epochs, history.validation_loss, label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("final model: loss per epoch")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return save_figure(fig, path, layout=False)


def plot_accuracy(history: History, test_accuracy: float | None, path: str | Path) -> Path:
    """Validation accuracy per epoch, with the final model's test accuracy for reference."""
    plt = pyplot()
    fig, ax = line_figure(plt)
    epochs = range(1, len(history.validation_accuracy) + 1)
    ax.plot(epochs, history.validation_accuracy, color="tab:green", label="validation accuracy")
    if test_accuracy is not None:
        ax.axhline(
            test_accuracy,
            color="tab:gray",
            linestyle=":",
            label=f"test accuracy {test_accuracy:.4f}",
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title("final model: accuracy per epoch")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    return save_figure(fig, path, layout=False)


def plot_confusion(matrix: np.ndarray, classes: list[Any], path: str | Path) -> Path:
    """Confusion matrix (rows: true class, columns: predicted), counts written in each cell."""
    plt = pyplot()
    n = len(classes)
    size = min(3.0 + 0.45 * n, 12.0)
    fig, ax = plt.subplots(figsize=(size, size * 0.85), dpi=100)
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    labels = [str(c) for c in classes]
    ax.set_xticks(range(n), labels, rotation=45 if max(map(len, labels)) > 2 else 0)
    ax.set_yticks(range(n), labels)
    if n <= 30:  # beyond that the numbers are unreadable; the colours still show the pattern
        threshold = matrix.max() / 2 if matrix.size else 0
        for (row, col), count in np.ndenumerate(matrix):
            ax.text(
                col,
                row,
                str(count),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if count > threshold else "black",
            )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("test set: confusion matrix")
    return save_figure(fig, path)


def plot_gallery(
    images: np.ndarray, titles: list[str], image_shape: tuple[int, int], path: str | Path
) -> Path:
    """Images (k, h*w) in a grid, each titled (e.g. ``true 3, predicted 8``)."""
    plt = pyplot()
    k = max(len(images), 1)
    columns = min(k, 6)
    rows = -(-k // columns)
    height, width = image_shape
    # One mosaic image on one axes: a grid of k subplots cost ~0.7 s of every run to draw.
    # Each cell is the image plus a gap to its right and room above it for a two-line title.
    gap, title_room = max(1, width // 4), max(2, (height * 3) // 5)
    cell_w, cell_h = width + gap, height + title_room
    mosaic = np.full((rows * cell_h, columns * cell_w), np.nan)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = row * cell_h + title_room, column * cell_w
        mosaic[top : top + height, left : left + width] = np.asarray(image).reshape(image_shape)
    fig = plt.figure(figsize=(1.9 * columns, 2.1 * rows), dpi=100)
    ax = fig.add_axes((0.01, 0.0, 0.98, 0.92 if rows > 1 else 0.86))
    ax.axis("off")
    cmap = plt.get_cmap("gray_r").with_extremes(bad="white")
    ax.imshow(mosaic, cmap=cmap, extent=(0, mosaic.shape[1], mosaic.shape[0], 0), aspect="equal")
    for index, title in enumerate(titles[: len(images)]):
        row, column = divmod(index, columns)
        x, y = column * cell_w + width / 2, row * cell_h + title_room - 0.3
        ax.text(x, y, title, ha="center", va="bottom", fontsize=8)
    fig.suptitle("most confidently wrong test images", fontsize=10)
    return save_figure(fig, path, layout=False)


def save_figure(fig: Any, path: str | Path, layout: bool = True) -> Path:
    """Write ``fig`` to ``path`` as PNG (atomically) and close it; ``layout`` first fits the
    labels inside the figure (a second draw, ~0.1 s)."""
    from glassnet.atomic import write_atomic

    path = Path(path)
    if layout:
        fig.tight_layout()
    write_atomic(path, lambda handle: fig.savefig(handle, format="png"))
    pyplot().close(fig)
    return path
