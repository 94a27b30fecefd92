"""Figures (matplotlib, imported lazily so the library never pays for it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from glassnet.training.history import History


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the file-only Agg backend, imported on first use."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


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
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
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
    return save_figure(fig, path)


def plot_losses(history: History, path: str | Path) -> Path:
    """Train and validation loss per epoch of one training."""
    plt = pyplot()
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
    return save_figure(fig, path)


def plot_accuracy(history: History, test_accuracy: float | None, path: str | Path) -> Path:
    """Validation accuracy per epoch, with the final model's test accuracy for reference."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
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
    return save_figure(fig, path)


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
    fig, axes = plt.subplots(
        rows, columns, figsize=(1.9 * columns, 2.1 * rows), dpi=100, squeeze=False
    )
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, title in zip(axes.ravel(), images, titles, strict=False):
        ax.imshow(np.asarray(image).reshape(image_shape), cmap="gray_r")
        ax.set_title(title, fontsize=8)
    fig.suptitle("most confidently wrong test images", fontsize=10)
    return save_figure(fig, path)


def plot_filters(filters: np.ndarray, path: str | Path) -> Path:
    """A first conv layer's kernels ``(out, in, k, k)``: one tile per output channel (the mean
    over input channels), on a colour scale centred at zero (red +, blue -)."""
    plt = pyplot()
    kernels = np.asarray(filters, dtype=np.float64).mean(axis=1)
    fig, axes = _tiles(plt, len(kernels), size=1.1)
    limit = float(np.abs(kernels).max()) or 1.0
    for k, (ax, kernel) in enumerate(zip(axes, kernels, strict=False)):
        ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(str(k), fontsize=7)
    fig.suptitle(f"first convolution layer: {len(kernels)} learned filters", fontsize=10)
    return save_figure(fig, path)


def plot_feature_maps(
    image: np.ndarray, image_shape: tuple[int, ...] | None, maps: np.ndarray, path: str | Path
) -> Path:
    """One test image and the first conv layer's feature maps of it ``(out, h, w)``."""
    plt = pyplot()
    fig, axes = _tiles(plt, len(maps) + 1, size=1.1)
    raw = np.asarray(image, dtype=np.float64)
    if image_shape is not None and int(np.prod(image_shape)) == raw.size:
        raw = raw.reshape(image_shape)
        raw = raw if raw.ndim == 2 else raw[..., 0]  # (h, w, channels): the first channel
    else:
        raw = raw.reshape(1, -1)
    axes[0].imshow(raw, cmap="gray_r")
    axes[0].set_title("input", fontsize=7)
    for k, (ax, feature_map) in enumerate(zip(axes[1:], maps, strict=False)):
        ax.imshow(feature_map, cmap="viridis")
        ax.set_title(str(k), fontsize=7)
    fig.suptitle("the first test image and the first layer's feature maps of it", fontsize=10)
    return save_figure(fig, path)


def _tiles(plt: Any, count: int, size: float) -> tuple[Any, list[Any]]:
    """A grid of ``count`` small image tiles without axes, at most 8 across."""
    columns = min(count, 8)
    rows = -(-count // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(size * columns, size * rows + 0.5), dpi=100, squeeze=False
    )
    for ax in axes.ravel():
        ax.axis("off")
    return fig, list(axes.ravel())


def save_figure(fig: Any, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` as PNG (atomically) and close it."""
    from glassnet.atomic import write_atomic

    path = Path(path)
    fig.tight_layout()  # costs a second draw (~0.1 s a figure) but keeps labels inside
    write_atomic(path, lambda handle: fig.savefig(handle, format="png"))
    pyplot().close(fig)
    return path
