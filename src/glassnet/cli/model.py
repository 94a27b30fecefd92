"""Using a trained model from the command line: ``evaluate``, ``predict`` and ``summary``.

The model file remembers its feature columns and label column, so a CSV with the same
header (in any column order, with extra columns) works without repeating them.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.cli.output import Output, add_output_flags, key_value_table
from glassnet.cli.train import add_data_flags
from glassnet.data.datasets import Dataset
from glassnet.errors import DataError
from glassnet.models.model import Model

if TYPE_CHECKING:
    from glassnet.data.preprocessing import TablePreprocessor
from glassnet.report.format import format_value


def add_model_parsers(commands: Any) -> None:
    """Add ``evaluate``, ``predict`` and ``summary`` to the subcommands ``commands``."""
    evaluate = commands.add_parser(
        "evaluate",
        help="accuracy, per-class precision/recall/F1 and confusion matrix of a model on data",
        description="Score a trained model on labelled data: accuracy, per-class precision,\n"
        "recall, F1 and support, and the confusion matrix.",
        epilog="examples:\n  glassnet evaluate runs/iris/model.npz --data new_flowers.csv\n"
        "  glassnet evaluate runs/iris/model.npz --data new.csv --target species --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument("model", type=Path, metavar="MODEL", help="a model.npz file")
    add_data_flags(
        evaluate, target_help="the label column (default: the one the model was trained on)"
    )
    add_output_flags(evaluate)
    evaluate.set_defaults(handler=cmd_evaluate)

    predict = commands.add_parser(
        "predict",
        help="predict the class (and probabilities) of each row of a data file",
        description="Predict each row of a data file with a trained model; writes CSV\n"
        "(row, prediction[, probability of each class]) to --out or stdout.",
        epilog="examples:\n  glassnet predict runs/iris/model.npz --data unlabelled.csv\n"
        "  glassnet predict runs/iris/model.npz --data unlabelled.csv --proba "
        "--out predictions.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    predict.add_argument("model", type=Path, metavar="MODEL", help="a model.npz file")
    add_data_flags(predict, target_help="a label column to ignore (default: the training one)")
    predict.add_argument(
        "--proba",
        action="store_true",
        help="add one column per class with its predicted probability",
    )
    predict.add_argument(
        "--out",
        type=Path,
        metavar="FILE.csv",
        help="write the predictions here (default: print CSV on stdout)",
    )
    add_output_flags(predict)
    predict.set_defaults(handler=cmd_predict)

    summary = commands.add_parser(
        "summary",
        help="a model's layers (output shape, parameter count) and training config",
        description="Show a model file's architecture as a table (layer, output shape,\n"
        "parameter count) and the configuration it was trained with.",
        epilog="example:\n  glassnet summary runs/iris/model.npz",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    summary.add_argument("model", type=Path, metavar="MODEL", help="a model.npz file")
    add_output_flags(summary)
    summary.set_defaults(handler=cmd_summary)


def load_model_data(
    args: argparse.Namespace, out: Output, *, need_target: bool
) -> tuple[Model, Dataset]:
    """The model file and the data to apply it to, columns matched by the model's memory."""
    from glassnet.data.sources import load_dataset
    from glassnet.models import checkpoint

    model = checkpoint.load(args.model)
    if args.data is None:
        raise DataError("say which data to use: --data FILE.csv|FILE.npz|digits|NAME")
    target = args.target or model.info.get("target")
    if model.table is not None:
        with out.status(f"loading {args.data} ..."):
            return model, table_rows(model, args.data, target, need_target=need_target)
    features = model.info.get("feature_names") if args.data.lower().endswith(".csv") else None
    # Image rows are laid out as in training (channels first), from the shape it remembers.
    with out.status(f"loading {args.data} ..."):
        data = load_dataset(
            args.data,
            target,
            features=features,
            need_target=need_target,
            image_shape=model.image_shape,
            image_hint="give images of that shape (or train a model on these)",
            data_home=args.data_home,
        )
    return model, data


def table_rows(model: Model, source: str, target: str | None, *, need_target: bool) -> Dataset:
    """A table's rows through the model's own preprocessing (columns found by name, in any
    order, extra ones ignored); labels from ``target`` when the table has that column.
    Evaluating leaves out rows without a label, with a warning; predicting keeps every row."""
    from glassnet.data.preprocessing import warn
    from glassnet.data.tables import read_table
    from glassnet.data.tabular import target_values

    table = read_table(source)
    for note in table.notes:
        warn(note)
    frame, y = table.frame, None
    if target is not None and target in frame.columns:
        labelled = frame[target].notna()
        if need_target and not labelled.all():
            warn(f"{int((~labelled).sum())} rows have no {target!r} value; they are left out")
            frame = frame[labelled].reset_index(drop=True)
        if need_target:  # predicting ignores the labels, so gaps in them do not matter
            y = target_values(frame[target], model.task, where=f"{source}, column {target!r}")
    elif need_target:
        raise DataError(
            f"{source} has no label column {target!r} to evaluate against; name it with --target"
        )
    x = model.features(frame, what=source)
    return Dataset(x, y if y is None or len(y) == len(x) else None, name=table.name)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``glassnet evaluate``: accuracy, per-class metrics and confusion matrix on labelled data."""
    from rich.table import Table

    from glassnet.models.evaluation import RegressionEvaluation, evaluate_model

    out = Output(args)
    model, data = load_model_data(args, out, need_target=True)
    with out.status("predicting ..."):
        evaluation = evaluate_model(model, data)
    report = evaluation.to_dict()
    out.result({"model": str(args.model), "data": args.data, "task": model.task, **report})
    if isinstance(evaluation, RegressionEvaluation):
        out.headline(
            f"R² [bold]{evaluation.r2:.4f}[/], RMSE {evaluation.rmse:.4g}, MAE "
            f"{evaluation.mae:.4g} on {len(data)} samples of {args.data}"
        )
        return 0
    out.headline(
        f"accuracy [bold]{evaluation.accuracy:.4f}[/] on {len(data)} samples of {args.data}"
    )
    per_class = Table(title="per-class metrics")
    for column in ("class", "precision", "recall", "F1", "support"):
        per_class.add_column(column, justify="left" if column == "class" else "right")
    for row in report["per_class"]:
        per_class.add_row(
            str(row["class"]),
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
            str(row["support"]),
        )
    out.print(per_class)
    confusion = Table(title="confusion matrix (rows: true, columns: predicted)")
    confusion.add_column("")
    labels = [str(c) for c in report["classes"]]
    for label in labels:
        confusion.add_column(label, justify="right")
    for label, counts in zip(labels, report["confusion_matrix"], strict=True):
        confusion.add_row(label, *(str(c) for c in counts))
    out.print(confusion)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """``glassnet predict``: a CSV row per data row, its predicted class (and probabilities)."""
    from glassnet.atomic import write_atomic

    out = Output(args)
    if args.out is not None and args.out.is_dir():
        raise DataError(
            f"--out {args.out} is a folder; name a file, e.g. {args.out}/predictions.csv"
        )
    model, data = load_model_data(args, out, need_target=False)
    if args.proba and model.task != "classification":
        raise DataError("--proba needs a classifier; this model predicts numbers (regression)")
    with out.status("predicting ..."):
        proba = model.predict_proba(data.x)
        predictions = model.predict(data.x)
    if model.task == "regression":
        predictions = np.asarray([float(f"{value:.8g}") for value in predictions])
    classes = [] if model.classes is None else model.classes.tolist()
    header = ["row", "prediction"] + ([f"proba_{c}" for c in classes] if args.proba else [])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row, (label, p) in enumerate(zip(predictions.tolist(), proba, strict=True)):
        writer.writerow([row, label, *(f"{v:.6g}" for v in p)] if args.proba else [row, label])
    text = buffer.getvalue()
    if args.out is not None:
        write_atomic(args.out, lambda handle: handle.write(text), mode="w")
        out.print(f"wrote {len(predictions)} predictions to {args.out}")
    document: dict[str, Any] = {
        "model": str(args.model),
        "data": args.data,
        "n_samples": len(predictions),
        "classes": classes,
        "predictions": predictions.tolist(),
    }
    if args.proba:
        document["proba"] = np.round(proba, 6).tolist()
    if args.out is not None:
        document["out"] = str(args.out)
    out.result(document)
    if args.out is None and not out.as_json:
        print(text, end="")
    return 0


def layer_rows(model: Model) -> list[tuple[str, str, int]]:
    """(layer, output shape, parameter count) of the first network, input first."""
    network = model.network
    shape: tuple[int, ...] = (model.n_features,)
    rows = [("input", _shape_text(shape), 0)]
    for index, layer in enumerate(network.layers):
        shape = layer.output_shape(shape)
        config = layer.config()
        name = config.pop("type")
        if name == "Linear":
            name += f" {config['in_features']} -> {config['out_features']}"
        elif name == "Conv2D":
            name += (
                f" {config['in_channels']} -> {config['out_channels']}, {config['kernel_size']}x"
                f"{config['kernel_size']}, stride {config['stride']}, padding {config['padding']}"
            )
        elif name in ("MaxPool2D", "AvgPool2D"):
            name += f" {config['kernel_size']}x{config['kernel_size']}, stride {config['stride']}"
        elif name == "Dropout":
            name += f" p={config['p']}"
        count = sum(int(p.value.size) for p in layer.parameters())
        rows.append((f"{index}: {name}", _shape_text(shape), count))
    return rows


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(n, " + ", ".join(map(str, shape)) + ")"


def cmd_summary(args: argparse.Namespace) -> int:
    """``glassnet summary``: a model file's layers, parameter counts and training config."""
    from rich.table import Table

    from glassnet.models import checkpoint

    out = Output(args)
    model = checkpoint.load(args.model)
    rows = layer_rows(model)
    total = sum(count for _, _, count in rows)
    info = model.info
    about = {
        "task": model.task,
        "dtype": str(model.dtype),
        "members": len(model.networks),
        "classes": None if model.classes is None else model.classes.tolist(),
        "scaling": None if model.scaler is None else model.scaler.kind,
        "data": info.get("data"),
        "target": info.get("target"),
        "feature_names": info.get("feature_names"),
    }
    out.result(
        {
            "model": str(args.model),
            "layers": [{"layer": n, "output_shape": s, "parameters": c} for n, s, c in rows],
            "total_parameters": total,
            **about,
            "train_config": info.get("train_config"),
            "preprocessing": None if model.table is None else preprocessing_rows(model.table),
        }
    )
    table = Table(title=f"{args.model}")
    table.add_column("layer")
    table.add_column("output shape")
    table.add_column("parameters", justify="right")
    for name, shape, count in rows:
        table.add_row(name, shape, f"{count:,}")
    table.add_section()
    table.add_row("total", "", f"{total:,}", style="bold")
    out.print(table)
    features = about.pop("feature_names")
    if features:
        about["features"] = (
            f"{len(features)}: "
            + ", ".join(map(str, features[:8]))
            + (", ..." if len(features) > 8 else "")
        )
    out.print(key_value_table("model", list(about.items())))
    config = info.get("train_config")
    if config:
        rows = [(key, format_value(value)) for key, value in config.items()]
        out.print(key_value_table("training config", rows))
    if model.table is not None:
        steps = Table(title="preprocessing (learned on the training rows)")
        for column in ("column", "role", "learned"):
            steps.add_column(column)
        for row in preprocessing_rows(model.table):
            steps.add_row(row["column"], row["role"], row["learned"])
        out.print(steps)
    return 0


def preprocessing_rows(table: TablePreprocessor) -> list[dict[str, str]]:
    """One row per training column: its role and what was learned for it, in words."""
    rows = []
    numeric = dict(zip(table.numeric, range(len(table.numeric)), strict=True))
    categories = dict(zip(table.categorical, table.categories, strict=True))
    for name, role in table.roles.items():
        if name in numeric:
            i = numeric[name]
            flag = " (+ missing indicator)" if name in table.indicators else ""
            mean, scale = f"{table.means[i]:.4g}", f"{table.scales[i]:.4g}"
            if role == "numeric":  # glassnet's own tables: median, then standardised
                learned = (
                    f"missing -> median {table.medians[i]:.4g}{flag}; "
                    f"standardised (mean {mean}, std {scale})"
                )
            else:  # an exported pipeline names its imputer's strategy in the role
                learned = f"missing -> {table.medians[i]:.4g}{flag}; then (x - {mean}) / {scale}"
        elif name in categories:
            known = categories[name]
            shown = ", ".join(known[:6]) + (", ..." if len(known) > 6 else "")
            unseen = "rare and unseen -> (other)" if "(other)" in known else "unseen -> all zero"
            learned = f"one-hot over {len(known)} categories: {shown}; {unseen}"
        elif name in table.datetime:
            learned = "expanded into year, month, day, weekday, hour (numeric, as above)"
        else:
            learned = ""
        rows.append({"column": name, "role": role, "learned": learned})
    return rows
