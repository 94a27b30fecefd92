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
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.atomic import write_atomic
from glassnet.data.datasets import Dataset
from glassnet.data.images import gray_rows
from glassnet.errors import DataError
from glassnet.models.evaluation import Evaluation, RegressionEvaluation
from glassnet.models.model import Model
from glassnet.nn.conv import Conv2D
from glassnet.nn.layers import ACTIVATIONS
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
    if isinstance(evaluation, RegressionEvaluation):
        arrays = {"y_true": evaluation.y_true, "y_pred": evaluation.y_pred}
        write_atomic(path, lambda handle: np.savez(handle, **arrays))
        return path
    arrays = {
        "classes": evaluation.classes,
        "y_true": evaluation.y_true,
        "proba": evaluation.proba,
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
    if not path.is_file():
        return None
    return read_npz(
        path,
        hint=f"rerun the training, or delete it and run glassnet report "
        f"again for a report from {METRICS} alone",
    )


def read_metrics(folder: Path) -> dict[str, Any]:
    """The parsed ``metrics.json`` of a run folder; DataError if it is missing or not JSON."""
    path = Path(folder) / METRICS
    if not path.is_file():
        raise DataError(f"{folder} is not a run folder: it has no {METRICS}")
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON ({exc})") from None


def read_command(folder: Path) -> str | None:
    """The name of the command that started the run in ``folder`` (``run``, ``train``), from
    its run.json; None when there is none (or it cannot be read: the report does without)."""
    try:
        command = json.loads((Path(folder) / RUN).read_text()).get("command") or {}
    except (OSError, ValueError, AttributeError):
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


def draw_figures(
    metrics: dict[str, Any], predictions: dict[str, np.ndarray] | None, out: Path
) -> dict[str, str]:
    """Every figure the run's data allows, as PNG files in ``out``; returns name -> path."""
    from glassnet.report import figures as report

    figures: dict[str, str] = {}
    config = metrics.get("config", {})
    if metrics.get("sweep"):
        figures["sweep_plot"] = str(
            report.plot_sweep_records(
                metrics["sweep"],
                list(config.get("sweep", {})),
                metrics.get("best_params", {}),
                config.get("train", {}),
                config.get("name", "run"),
                out / "sweep.png",
            )
        )
    history = History(**metrics.get("history", {}))
    if history.train_loss:
        figures["loss_plot"] = str(report.plot_losses(history, out / "losses.png"))
    if history.validation_accuracy:
        figures["accuracy_plot"] = str(
            report.plot_accuracy(history, metrics.get("test_accuracy"), out / "accuracy.png")
        )
    evaluation = evaluation_of(predictions)
    if isinstance(evaluation, RegressionEvaluation):
        figures["regression_plot"] = str(
            report.plot_regression(evaluation.y_true, evaluation.y_pred, out / "regression.png")
        )
        return figures
    if evaluation is not None:
        figures["confusion_plot"] = str(
            report.plot_confusion(
                evaluation.confusion_matrix(), evaluation.classes.tolist(), out / "confusion.png"
            )
        )
    if predictions is not None and "gallery_images" in predictions and evaluation is not None:
        index = predictions["gallery_index"]
        classes = evaluation.classes
        titles = [
            f"true {classes[evaluation.y_true[i]]}, pred {classes[evaluation.y_pred[i]]}\n"
            f"p = {evaluation.proba[i, evaluation.y_pred[i]]:.2f}"
            for i in index
        ]
        shape = tuple(int(v) for v in predictions["image_shape"])
        figures["gallery_plot"] = str(
            report.plot_gallery(
                predictions["gallery_images"],
                titles,
                shape,
                out / "gallery.png",  # type: ignore[arg-type]
            )
        )
    if predictions is not None and "conv_filters" in predictions:
        figures["filters_plot"] = str(
            report.plot_filters(predictions["conv_filters"], out / "filters.png")
        )
        shape = predictions.get("image_shape")
        figures["feature_maps_plot"] = str(
            report.plot_feature_maps(
                predictions["feature_image"],
                None if shape is None else tuple(int(v) for v in shape),
                predictions["feature_maps"],
                out / "feature_maps.png",
            )
        )
    return figures
