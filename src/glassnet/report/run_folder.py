"""A run folder's files: what ``write_run`` leaves behind and ``glassnet report`` reads back.

run.json         the command and settings that started the run (to resume it)
model.npz        the final model (checkpoint format)
metrics.json     config, sweep records, per-epoch history, test evaluation
predictions.npz  test-set class indices and probabilities, plus the worst-misclassified
                 images (image data only); for a regression the true and predicted
                 values; for a convolutional network, its first layer's filters and their
                 feature maps of one test image: everything the report needs beyond metrics
*.png            the figures; report.html embeds them
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from glassnet.atomic import write_atomic
from glassnet.data.datasets import Dataset
from glassnet.data.images import gray_rows
from glassnet.errors import DataError
from glassnet.models.evaluation import Evaluation, RegressionEvaluation
from glassnet.models.model import Model
from glassnet.nn.conv import Conv2D
from glassnet.nn.layers import ACTIVATIONS
from glassnet.paths import regular_file
from glassnet.processes import can_fork, in_two
from glassnet.training.history import History

PREDICTIONS = "predictions.npz"
METRICS = "metrics.json"
RUN = "run.json"  # the command and settings that started the run (experiments.start_run)
GALLERY_SIZE = 18


def write_predictions(
    path: Path,
    evaluation: Evaluation | RegressionEvaluation,
    test_set: Dataset | None,
    model: Model | None = None,
) -> Path:
    """Save the test evaluation, the worst-misclassified raw images when rows are images,
    what ``first_conv_pictures`` shows when ``model`` is convolutional, or a regression's
    true and predicted values."""
    # Where each test row sits in its file (a table's data rows), when that was recorded.
    rows = {} if test_set is None or test_set.rows is None else {"test_rows": test_set.rows}
    if isinstance(evaluation, RegressionEvaluation):
        arrays = {"y_true": evaluation.y_true, "y_pred": evaluation.y_pred, **rows}
        write_atomic(path, lambda handle: np.savez(handle, **arrays))
        return path
    arrays = {
        "classes": evaluation.classes,
        "y_true": evaluation.y_true,
        "proba": evaluation.proba,
        **rows,
    }
    if test_set is not None and test_set.image_shape is not None:
        worst = evaluation.worst(GALLERY_SIZE)
        arrays["gallery_index"] = worst
        arrays["gallery_images"] = gray_rows(test_set, worst)
        arrays["image_shape"] = np.array(test_set.image_shape)
    if model is not None and test_set is not None and len(test_set.x):
        arrays.update(first_conv_pictures(model, test_set.x[:1]))
        if "feature_image" in arrays:  # the input tile shows one plane
            arrays["feature_image"] = gray_rows(test_set, slice(0, 1))[0]
    write_atomic(path, lambda handle: np.savez(handle, **arrays))
    return path


def first_conv_pictures(model: Model, image: np.ndarray) -> dict[str, np.ndarray]:
    """The first Conv2D layer's filters ``(out, in, k, k)`` and its feature maps of ``image``
    (one raw row) after the activation that follows it: ``(out, h, w)``; empty for networks
    without convolutions."""
    network = model.network
    first = next((i for i, layer in enumerate(network.layers) if isinstance(layer, Conv2D)), None)
    if first is None:
        return {}
    # Up to the first activation after the conv (batch norm may sit between): what the
    # next layer sees.
    last = first
    for index in range(first + 1, min(first + 3, len(network.layers))):
        if network.layers[index].config()["type"] in ACTIVATION_TYPES:
            last = index
            break
    network.eval()
    x = model.prepare(image)
    for layer in network.layers[: last + 1]:
        x = layer.forward(x)
    conv = network.layers[first]
    return {
        "conv_filters": np.array(conv.weight.value),  # type: ignore[attr-defined]
        "feature_maps": np.array(x[0]),
        "feature_image": np.asarray(image[0], dtype=np.float64),
    }


ACTIVATION_TYPES = {cls.__name__ for cls in ACTIVATIONS.values()}


def read_predictions(folder: Path) -> dict[str, np.ndarray] | None:
    """The arrays of ``predictions.npz``, or None for an older run folder without one."""
    from glassnet.data.sources import read_npz

    path = Path(folder) / PREDICTIONS
    if not path.exists():
        return None
    hint = (
        f"rerun the training, or delete it and run glassnet report again for a report "
        f"from {METRICS} alone"
    )
    arrays = read_npz(path, hint=hint)
    problem = check_predictions(arrays)
    if problem:
        raise DataError(f"{path}: {problem}; {hint}")
    return arrays


def _numeric(array: np.ndarray, ndim: int) -> bool:
    return array.ndim == ndim and array.dtype.kind in "iuf"


def check_predictions(arrays: dict[str, np.ndarray]) -> str | None:
    """What is wrong with ``predictions.npz``'s arrays for the report (shapes that do not
    fit together, labels outside the classes), naming the array; None when they fit."""
    if "y_pred" in arrays and "proba" not in arrays:
        y_true, y_pred = arrays.get("y_true"), arrays["y_pred"]
        if y_true is None or not (_numeric(y_true, 1) and _numeric(y_pred, 1)):
            return "y_true and y_pred must be 1-D number arrays"
        if len(y_true) != len(y_pred) or not np.all(np.isfinite(y_true + y_pred)):
            return "y_true and y_pred must be finite and of one length"
        return None
    classes, y_true, proba = (arrays.get(name) for name in ("classes", "y_true", "proba"))
    if classes is None or y_true is None or proba is None:
        return None  # evaluation_of names what is missing
    if classes.ndim != 1 or not len(classes):
        return "classes must be a 1-D array of class labels"
    if y_true.ndim != 1 or y_true.dtype.kind not in "iu":
        return "y_true must be a 1-D array of class indices"
    if len(y_true) and (y_true.min() < 0 or y_true.max() >= len(classes)):
        return f"y_true holds class indices outside 0..{len(classes) - 1}"
    if not _numeric(proba, 2) or proba.shape != (len(y_true), len(classes)):
        return f"proba must be (rows, classes) = ({len(y_true)}, {len(classes)}) numbers"
    if not np.all(np.isfinite(proba)):
        return "proba holds NaN or infinite values"
    if "gallery_images" in arrays:
        index, images = arrays.get("gallery_index"), arrays["gallery_images"]
        shape = arrays.get("image_shape")
        if shape is None or not _numeric(shape, 1) or len(shape) != 2 or np.any(shape < 1):
            return "image_shape must be (height, width)"
        if index is None or index.ndim != 1 or index.dtype.kind not in "iu":
            return "gallery_index must be a 1-D array of row numbers"
        if len(index) and (index.min() < 0 or index.max() >= len(y_true)):
            return "gallery_index holds rows outside the test set"
        if not _numeric(images, 2) or images.shape != (len(index), int(np.prod(shape))):
            return "gallery_images must hold one height x width row per gallery_index"
    for name, ndim in (("conv_filters", 4), ("feature_maps", 3), ("feature_image", 1)):
        if name in arrays and not _numeric(arrays[name], ndim):
            return f"{name} must be a {ndim}-D number array"
    return None


def read_metrics(folder: Path) -> dict[str, Any]:
    """The parsed ``metrics.json`` of a run folder; DataError if it is missing, not JSON, or
    holds a field the report reads in a type it cannot use (``check_metrics``)."""
    path = Path(folder) / METRICS
    if not path.exists():
        raise DataError(f"{folder} is not a run folder: it has no {METRICS}")
    regular_file(path, "metrics file", DataError)
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DataError(f"{path} is not valid JSON ({exc})") from None
    problem = check_metrics(metrics)
    if problem:
        raise DataError(f"{path}: {problem}; rerun the training to write it again")
    return metrics


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


def _numbers(value: Any) -> bool:
    return isinstance(value, list) and all(item is None or _number(item) for item in value)


def _mapping(value: Any) -> bool:
    return isinstance(value, dict)


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


SCORE_KEYS = ("validation_accuracy", "validation_loss", "train_loss")
# The fields of metrics.json the report reads, the check of each, and what it must be.
METRICS_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "task": (_optional(_text), "a task name"),
    "glassnet_version": (_scalar, "a version"),
    "seed": (_scalar, "a seed"),
    "refit": (_optional(_text), "train or train+valid"),
    "seconds": (_number, "a number"),
    **{
        key: (_optional(_number), "a number or null")
        for key in (
            "test_accuracy",
            "validation_accuracy",
            "selection_accuracy",
            "test_r2",
            "test_rmse",
            "test_mae",
            "validation_r2",
        )
    },
    "split_sizes": (
        lambda v: _mapping(v) and all(_number(n) for n in v.values()),
        "a mapping of split name to row count",
    ),
    "best_params": (_optional(_mapping), "a mapping of setting to value"),
    "sweep": (
        _optional(
            lambda v: (
                isinstance(v, list)
                and all(
                    _mapping(r) and all(_optional(_number)(r.get(k)) for k in SCORE_KEYS) for r in v
                )
            )
        ),
        "a list of trial records with numeric scores",
    ),
    "history": (
        lambda v: (
            _mapping(v)
            and set(v) <= {"train_loss", "validation_loss", "validation_accuracy", "best_epoch"}
            and all(_numbers(v.get(k, [])) for k in SCORE_KEYS)
            and _optional(_number)(v.get("best_epoch"))
        ),
        "a mapping of train_loss, validation_loss, validation_accuracy (lists of numbers) "
        "and best_epoch",
    ),
    "config": (
        lambda v: (
            _mapping(v)
            and _mapping(v.get("train", {}))
            and _mapping(v.get("sweep", {}))
            and _scalar(v.get("name"))
            and _scalar(v.get("data"))
        ),
        "a mapping with name, data, train and sweep",
    ),
    "data": (
        _optional(
            lambda v: (
                _mapping(v)
                and _scalar(v.get("name"))
                and _scalar(v.get("target"))
                and _optional(lambda s: isinstance(s, list) and all(map(_number, s)))(
                    v.get("image_shape")
                )
            )
        ),
        "a mapping with name, target and image_shape",
    ),
}


def check_metrics(metrics: Any) -> str | None:
    """What is wrong with a parsed metrics.json for the report, naming the field; None when
    every field the report reads has a type it can use."""
    if not isinstance(metrics, dict):
        return "it must hold a JSON object"
    for key, (fits, wanted) in METRICS_FIELDS.items():
        if key in metrics and not fits(metrics[key]):
            shown = json.dumps(metrics[key])
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            return f"the field {key!r} is {shown}; it must be {wanted}"
    return None


def read_command(folder: Path) -> str | None:
    """The name of the command that started the run in ``folder`` (``run``, ``train``), from
    its run.json; None when there is none (or it cannot be read: the report does without)."""
    try:  # a FIFO named run.json is no regular file (DataError, a ValueError): never opened
        path = regular_file(Path(folder) / RUN, "run file", DataError)
        command = json.loads(path.read_text()).get("command") or {}
    except (OSError, ValueError, AttributeError, RecursionError):
        return None
    name = command.get("name") if isinstance(command, dict) else None
    return name if isinstance(name, str) else None


def evaluation_of(
    predictions: dict[str, np.ndarray] | None,
) -> Evaluation | RegressionEvaluation | None:
    """The test-set evaluation stored in ``predictions.npz`` (None when there is none)."""
    if predictions is None:
        return None
    if "y_pred" in predictions and "proba" not in predictions:
        return RegressionEvaluation(predictions["y_true"], predictions["y_pred"])
    missing = [name for name in ("classes", "y_true", "proba") if name not in predictions]
    if missing:
        raise DataError(
            f"{PREDICTIONS} lacks the array(s) {missing} (it has "
            f"{sorted(predictions)}); delete it and rerun the training"
        )
    return Evaluation(predictions["classes"], predictions["y_true"], predictions["proba"])


def chosen_rows(
    records: list[dict[str, Any]], best_params: dict[str, Any], keys: list[str]
) -> set[int]:
    """Positions of the sweep records whose swept settings (``keys``) are the chosen ones."""
    return {
        i
        for i, record in enumerate(records)
        if all(record.get(key) == best_params.get(key) for key in keys)
    }


class FigureJob(NamedTuple):
    """One figure to draw: its name in the report, its file, and ``draw(path)``."""

    name: str
    path: Path
    draw: Callable[[Path], Path]


def draw_figures(
    metrics: dict[str, Any], predictions: dict[str, np.ndarray] | None, out: Path
) -> dict[str, str]:
    """Every figure the run's data allows, as PNG files in ``out``; returns name -> path.

    Where the system can fork and has a second core, a forked copy of this process draws
    every second figure (see ``draw_in_two``)."""
    from glassnet.report import figures as report

    jobs = figure_jobs(metrics, predictions, out)
    report.wait_for_preload()  # a matplotlib import under way: let it finish first
    if can_draw_in_two(len(jobs)):
        draw_in_two(jobs)
    else:
        for job in jobs:
            job.draw(job.path)
    return {job.name: str(job.path) for job in jobs}


def figure_jobs(
    metrics: dict[str, Any], predictions: dict[str, np.ndarray] | None, out: Path
) -> list[FigureJob]:
    """The figures the run's data allows, in the report's order."""
    from glassnet.report import figures as report

    jobs: list[FigureJob] = []
    config = metrics.get("config", {})
    if metrics.get("sweep"):
        sweep = partial(
            report.plot_sweep_records,
            metrics["sweep"],
            list(config.get("sweep", {})),
            metrics.get("best_params", {}),
            config.get("train", {}),
            config.get("name", "run"),
        )
        jobs.append(FigureJob("sweep_plot", out / "sweep.png", sweep))
    history = History(**metrics.get("history", {}))
    if history.train_loss:
        losses = partial(report.plot_losses, history)
        jobs.append(FigureJob("loss_plot", out / "losses.png", losses))
    if history.validation_accuracy:
        accuracy = partial(report.plot_accuracy, history, metrics.get("test_accuracy"))
        jobs.append(FigureJob("accuracy_plot", out / "accuracy.png", accuracy))
    evaluation = evaluation_of(predictions)
    if isinstance(evaluation, RegressionEvaluation):
        regression = partial(report.plot_regression, evaluation.y_true, evaluation.y_pred)
        return [*jobs, FigureJob("regression_plot", out / "regression.png", regression)]
    if evaluation is not None:
        matrix, classes = evaluation.confusion_matrix(), evaluation.classes.tolist()
        confusion = partial(report.plot_confusion, matrix, classes)
        jobs.append(FigureJob("confusion_plot", out / "confusion.png", confusion))
        if len(classes) == 2 and len(np.unique(evaluation.y_true)) == 2:
            threshold = partial(
                report.plot_threshold,
                evaluation.y_true == 1,
                evaluation.proba[:, 1],
                str(classes[1]),
            )
            jobs.append(FigureJob("threshold_plot", out / "threshold.png", threshold))
    if predictions is not None and "gallery_images" in predictions and evaluation is not None:
        index = predictions["gallery_index"]
        classes = evaluation.classes
        titles = [
            f"true {classes[evaluation.y_true[i]]}, pred {classes[evaluation.y_pred[i]]}\n"
            f"p = {evaluation.proba[i, evaluation.y_pred[i]]:.2f}"
            for i in index
        ]
        shape = tuple(int(v) for v in predictions["image_shape"])
        gallery = partial(report.plot_gallery, predictions["gallery_images"], titles, shape)
        jobs.append(FigureJob("gallery_plot", out / "gallery.png", gallery))
    if predictions is not None and "conv_filters" in predictions:
        filters = partial(report.plot_filters, predictions["conv_filters"])
        jobs.append(FigureJob("filters_plot", out / "filters.png", filters))
        shape = predictions.get("image_shape")
        feature_maps = partial(
            report.plot_feature_maps,
            predictions["feature_image"],
            None if shape is None else tuple(int(v) for v in shape),
            predictions["feature_maps"],
        )
        jobs.append(FigureJob("feature_maps_plot", out / "feature_maps.png", feature_maps))
    return jobs


def can_draw_in_two(n_figures: int) -> bool:
    """Whether ``draw_in_two`` may share ``n_figures`` figures out: two or more of them, and
    a fork with no other thread beside it (``glassnet.processes.can_fork``)."""
    return n_figures > 1 and can_fork()


def draw_in_two(jobs: list[FigureJob]) -> None:
    """Draw ``jobs`` in two processes: a fork of this one draws every second figure while
    this one draws the others (``glassnet.processes.in_two``).

    matplotlib spends ~0.1-0.4 s of CPU on each figure, all of it after the training, so a
    second core halves that tail. matplotlib is imported before the fork, so the copy
    starts with it. Every figure is written atomically; should the copy fail, this process
    draws its figures again itself, so an error is raised here, as without the copy."""
    from glassnet.report import figures as report

    def draw(part: list[FigureJob]) -> None:
        for job in part:
            job.draw(job.path)

    report.pyplot()
    in_two(lambda: draw(jobs[::2]), lambda: draw(jobs[1::2]))
