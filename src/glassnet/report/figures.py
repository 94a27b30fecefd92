"""Figures (matplotlib, imported lazily so the library never pays for it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from glassnet.atomic import write_atomic
from glassnet.text import for_figure
from glassnet.training.history import History

_preloading: list[Any] = []  # the thread preload started, until wait_for_preload joins it


def preload() -> None:
    """Start importing matplotlib (~0.5 s of CPU) and scikit-learn's metrics (~1 s, for the
    test scores beside the baseline) in a background thread, for a process that will draw
    later and has idle time now (waiting for a sweep's worker processes)."""
    import threading

    def imports() -> None:
        pyplot()
        import sklearn.metrics  # noqa: F401

    thread = threading.Thread(target=imports, name="glassnet-preload-matplotlib", daemon=True)
    thread.start()
    _preloading.append(thread)


def wait_for_preload() -> None:
    """Return once a thread started by ``preload`` has finished (at once if there is none)."""
    while _preloading:
        _preloading.pop().join()


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
    # A regression's trials have no accuracy; they were chosen by validation loss.
    metric = "validation_accuracy"
    if not any("validation_accuracy" in r for r in records):
        metric = "validation_loss"
    label = metric.replace("_", " ")
    ys = [r.get(metric, float("nan")) for r in records]
    ax.plot(xs, ys, "o-", color="tab:blue", label=label)
    best = best_params.get(key, train.get(key))
    if isinstance(best, (int, float)):
        ax.axvline(
            best, color="tab:red", linestyle="--", label=for_figure(f"chosen {key} = {best:.3g}")
        )
    if key in ("l2", "lr") and all(isinstance(x, (int, float)) and x > 0 for x in xs):
        ax.set_xscale("log")
        if max(xs) / min(xs) > 10:
            # Past one decade matplotlib labels no minor tick; laying out their empty labels
            # still cost 45 ms of this figure's 0.23 s. The picture is the same.
            from matplotlib.ticker import NullFormatter

            ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(for_figure(key))
    ax.set_ylabel(label)
    if metric == "validation_accuracy":
        ax.set_ylim(0, 1.02)
    ax.set_title(for_figure(f"{name}: {label} over the sweep"))
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
    mark_kept_epoch(ax, history)
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
    mark_kept_epoch(ax, history)
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


def mark_kept_epoch(ax: Any, history: History) -> None:
    """A dashed line at the epoch whose weights early stopping kept (1-based on the axis),
    when it kept one: the model is that epoch's, not the last one's."""
    if history.best_epoch is None:
        return
    kept = history.best_epoch + 1
    ax.axvline(
        kept,
        color="tab:red",
        linestyle="--",
        linewidth=1,
        label=f"kept: epoch {kept} of {len(history.train_loss)} (early stopping)",
    )


def plot_threshold(y_true: np.ndarray, score: np.ndarray, positive: str, path: str | Path) -> Path:
    """Two panels for a binary target's test rows, from the predicted probability ``score``
    of the ``positive`` class: the precision-recall curve (the dotted line is the positive
    rate, what guessing reaches), and precision, recall and F1 against the decision threshold
    (the model answers at 0.5)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    plt = pyplot()
    y_true = np.asarray(y_true, dtype=bool)
    precision, recall, thresholds = precision_recall_curve(y_true, score)
    fig, (pr_ax, cut_ax) = plt.subplots(1, 2, figsize=(9.0, 4.0), dpi=100)
    average = average_precision_score(y_true, score)
    pr_ax.step(recall, precision, where="post", label=f"model (average precision {average:.3f})")
    rate = float(y_true.mean())
    pr_ax.axhline(rate, color="grey", linestyle=":", label=f"guessing (positive rate {rate:.3f})")
    pr_ax.set_xlabel(f"recall of {_short(positive)!s}")
    pr_ax.set_ylabel("precision")
    pr_ax.set_xlim(0, 1.0)
    pr_ax.set_ylim(0, 1.02)
    pr_ax.set_title("test set: precision against recall")
    pr_ax.legend(loc="upper right", fontsize=8)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    cut_ax.plot(thresholds, precision[:-1], label="precision")
    cut_ax.plot(thresholds, recall[:-1], label="recall")
    cut_ax.plot(thresholds, f1[:-1], label="F1")
    cut_ax.axvline(0.5, color="grey", linestyle="--", linewidth=1, label="threshold used (0.5)")
    cut_ax.set_xlim(0, 1.0)
    cut_ax.set_ylim(0, 1.02)
    cut_ax.set_xlabel(f"threshold on p({_short(positive)!s})")
    cut_ax.set_title("test set: scores against the threshold")
    cut_ax.legend(loc="upper right", fontsize=8)
    for ax in (pr_ax, cut_ax):
        ax.grid(True, alpha=0.3)
    return save_figure(fig, path)


def plot_confusion(matrix: np.ndarray, classes: list[Any], path: str | Path) -> Path:
    """The confusion matrix figure (see ``confusion_figure``) written to ``path``."""
    # confusion_figure has laid itself out; the counts it adds sit inside their cells.
    return save_figure(confusion_figure(matrix, classes), path, layout=False)


# The report shows figures at their own pixel size up to its ~880 px column, so the
# confusion matrix is drawn at most that wide (at 100 dpi) instead of being shrunk there.
CONFUSION_MAX_INCHES = 8.6
MIN_FONT_POINTS = 6.0  # below this a count is noise; the colours still show the pattern


def confusion_figure(matrix: np.ndarray, classes: list[Any]) -> Any:
    """Confusion matrix ``matrix`` (k, k) (rows: true class, columns: predicted) as a figure.

    Colours are each row's share of its true class, so a rare class's errors show as
    plainly as a common one's; counts are written in the cells when they fit (zeros left
    blank past 10 classes), with fonts sized to the cells."""
    plt = pyplot()
    matrix = np.asarray(matrix)
    n = len(classes)
    width = min(3.2 + 0.5 * n, CONFUSION_MAX_INCHES)
    fig, ax = plt.subplots(figsize=(width, width * 0.88), dpi=100)
    totals = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("share of the true class")
    labels = [_short(c) for c in classes]
    longest = max(map(len, labels), default=1)
    # Label sizes are guessed from a first layout; the counts are then fitted to the cells
    # of the final one. DejaVu Sans digits are 0.64 em wide, letters about 0.6 em.
    ax.set_xticks(range(n), labels)
    ax.set_yticks(range(n), labels)
    label_size = float(np.clip(_cell_points(fig, ax, n) * 0.7, 5.0, 10.0))
    rotate = longest * 0.6 * label_size > _cell_points(fig, ax, n)
    ax.set_xticks(range(n), labels, rotation=90 if rotate else 0, fontsize=label_size)
    ax.set_yticks(range(n), labels, fontsize=label_size)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("test set: confusion matrix")
    fit_layout(fig)
    cell = _cell_points(fig, ax, n)
    digits = len(str(int(matrix.max()))) if matrix.size else 1
    count_size = min(9.0, cell * 0.85 / (0.64 * digits), cell * 0.6)
    if count_size >= MIN_FONT_POINTS:
        for (row, col), count in np.ndenumerate(matrix):
            if count == 0 and n > 10:
                continue
            ax.text(
                col,
                row,
                str(count),
                ha="center",
                va="center",
                fontsize=count_size,
                color="white" if shares[row, col] > 0.5 else "black",
            )
    return fig


def _cell_points(fig: Any, ax: Any, n: int) -> float:
    """The side of one matrix cell in points, in the figure's current layout."""
    box = ax.get_window_extent(renderer=fig.canvas.get_renderer())
    return min(box.width, box.height) / max(n, 1) * 72 / fig.dpi


def _short(label: Any, limit: int = 14) -> str:
    """A class name cut to ``limit`` characters, so long names do not crowd out the cells."""
    text = str(label)
    return for_figure(text if len(text) <= limit else text[: limit - 1] + "\u2026")


def plot_regression(y_true: np.ndarray, y_pred: np.ndarray, path: str | Path) -> Path:
    """Two panels for a regression's test set: predicted against true (the diagonal is a
    perfect fit) and residual (true - predicted) against predicted."""
    plt = pyplot()
    fig, (fit_ax, residual_ax) = plt.subplots(1, 2, figsize=(9.0, 4.0), dpi=100)
    low, high = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    fit_ax.scatter(y_true, y_pred, s=10, alpha=0.6)
    fit_ax.plot([low, high], [low, high], color="grey", linewidth=1, label="perfect fit")
    fit_ax.set_xlabel("true value")
    fit_ax.set_ylabel("predicted value")
    fit_ax.set_title("test set: predicted against true")
    fit_ax.legend(loc="upper left")
    residual_ax.scatter(y_pred, y_true - y_pred, s=10, alpha=0.6)
    residual_ax.axhline(0.0, color="grey", linewidth=1)
    residual_ax.set_xlabel("predicted value")
    residual_ax.set_ylabel("residual (true - predicted)")
    residual_ax.set_title("test set: residuals")
    for ax in (fit_ax, residual_ax):
        ax.grid(True, alpha=0.3)
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
        ax.text(x, y, for_figure(title), ha="center", va="bottom", fontsize=8)
    fig.suptitle("most confidently wrong test images", fontsize=10)
    return save_figure(fig, path, layout=False)


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


def fit_layout(fig: Any) -> None:
    """Fit the labels inside ``fig`` once, as ``tight_layout`` does, without leaving a layout
    engine on it: with one, every ``savefig`` lays the figure out again first (an extra
    draw pass, ~0.1 s on the confusion matrix)."""
    from matplotlib.layout_engine import TightLayoutEngine

    TightLayoutEngine().execute(fig)


def save_figure(fig: Any, path: str | Path, layout: bool = True) -> Path:
    """Write ``fig`` to ``path`` as PNG (atomically) and close it; ``layout`` first fits the
    labels inside the figure (a second draw, ~0.1 s)."""
    path = Path(path)
    if layout:
        fit_layout(fig)
    write_atomic(path, lambda handle: fig.savefig(handle, format="png"))
    pyplot().close(fig)
    return path
