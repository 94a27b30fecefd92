"""Using a trained model from the command line: ``evaluate``, ``predict`` and ``summary``.

The model file remembers its feature columns and label column, so a CSV with the same
header (in any column order, with extra columns) works without repeating them.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from glassnet import workflow
from glassnet.atomic import write_atomic
from glassnet.cli.output import Output, add_output_flags, key_value_table
from glassnet.cli.train import add_data_flags
from glassnet.errors import DataError
from glassnet.report.format import format_value
from glassnet.report.summary import model_summary
from glassnet.text import for_console


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
    add_digest_flag(evaluate)
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
    add_digest_flag(predict)
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


def add_digest_flag(parser: Any) -> None:
    parser.add_argument(
        "--expect-digest",
        metavar="HEX",
        help="refuse the model file unless its content digest (glassnet summary prints it) "
        "is this one: detects a file that was edited or replaced",
    )


def load_model_data(args: argparse.Namespace, out: Output, *, need_target: bool) -> tuple[Any, Any]:
    """The model file and the data to apply it to, columns matched by the model's memory."""
    model = workflow.load_model(args.model, expect_digest=args.expect_digest)
    if args.data is None:
        raise DataError("say which data to use: --data FILE.csv|FILE.npz|digits|NAME")
    rows = workflow.read_rows(
        model,
        args.data,
        args.target,
        need_target=need_target,
        data_home=args.data_home,
        status=out.status,
    )
    return model, rows


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``glassnet evaluate``: accuracy, per-class metrics and confusion matrix on labelled data."""
    from rich.table import Table

    out = Output(args)
    model, data = load_model_data(args, out, need_target=True)
    with out.status("predicting ..."):
        report = workflow.evaluate(model, data).to_dict()
    out.result({"model": str(args.model), "data": args.data, "task": model.task, **report})
    out.warn(report.get("warnings") or [])
    if model.task == "regression":
        out.headline(
            f"R² [bold]{report['r2']:.4f}[/], RMSE {report['rmse']:.4g}, MAE "
            f"{report['mae']:.4g} on {len(data)} samples of {for_console(args.data)}"
        )
        return 0
    out.headline(
        f"accuracy [bold]{report['accuracy']:.4f}[/] on {len(data)} samples of "
        f"{for_console(args.data)}"
    )
    per_class = Table(title="per-class metrics")
    for column in ("class", "precision", "recall", "F1", "support"):
        per_class.add_column(column, justify="left" if column == "class" else "right")
    for row in report["per_class"]:
        per_class.add_row(
            for_console(row["class"]),
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
            str(row["support"]),
        )
    out.print(per_class)
    confusion = Table(title="confusion matrix (rows: true, columns: predicted)")
    confusion.add_column("")
    labels = [for_console(c) for c in report["classes"]]
    for label in labels:
        confusion.add_column(label, justify="right")
    for label, counts in zip(labels, report["confusion_matrix"], strict=True):
        confusion.add_row(label, *(str(c) for c in counts))
    out.print(confusion)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """``glassnet predict``: a CSV row per data row, its predicted class (and probabilities)."""
    out = Output(args)
    if args.out is not None and args.out.is_dir():
        raise DataError(
            f"--out {args.out} is a folder; name a file, e.g. {args.out}/predictions.csv"
        )
    model, data = load_model_data(args, out, need_target=False)
    if args.proba and model.task != "classification":
        raise DataError("--proba needs a classifier; this model predicts numbers (regression)")
    with out.status("predicting ..."):
        # The probabilities only when asked for; the networks run once either way.
        proba = workflow.predict(model, data, proba=True) if args.proba else None
        predictions = (
            workflow.predict(model, data) if proba is None else model.predictions_from(proba)
        )
    if model.task == "regression":
        predictions = np.asarray([float(f"{value:.8g}") for value in predictions])
    classes = [] if model.classes is None else model.classes.tolist()
    header = ["row", "prediction"] + ([f"proba_{c}" for c in classes] if args.proba else [])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row, label in enumerate(predictions.tolist()):
        shown = [] if proba is None else [f"{v:.6g}" for v in proba[row]]
        writer.writerow([row, label, *shown])
    text = buffer.getvalue()
    if args.out is not None:
        write_atomic(args.out, lambda handle: handle.write(text), mode="w")
        out.headline(f"wrote {len(predictions)} predictions to {args.out}")
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


def cmd_summary(args: argparse.Namespace) -> int:
    """``glassnet summary``: a model file's layers, parameter counts and training config."""
    from rich.table import Table

    out = Output(args)
    model, digest = workflow.load_model_with_digest(args.model)
    summary = {**model_summary(model), "digest": digest}
    out.result({"model": str(args.model), **summary})
    if out.quiet:
        out.headline(
            f"{args.model}: {summary['task']}, {summary['members']} network(s), "
            f"{summary['total_parameters']:,} parameters"
        )
        return 0
    table = Table(title=for_console(args.model))
    table.add_column("layer")
    table.add_column("output shape")
    table.add_column("parameters", justify="right")
    for row in summary["layers"]:
        table.add_row(for_console(row["layer"]), row["output_shape"], f"{row['parameters']:,}")
    table.add_section()
    table.add_row("total", "", f"{summary['total_parameters']:,}", style="bold")
    out.print(table)
    about = {key: summary[key] for key in ABOUT}
    features = summary["feature_names"]
    if features:
        about["features"] = (
            f"{len(features)}: "
            + ", ".join(map(str, features[:8]))
            + (", ..." if len(features) > 8 else "")
        )
    out.print(key_value_table("model", list(about.items())))
    config = summary["train_config"]
    if config:
        rows = [(key, format_value(value)) for key, value in config.items()]
        out.print(key_value_table("training config", rows))
    if summary["preprocessing"] is not None:
        steps = Table(title="preprocessing (learned on the training rows)")
        for column in ("column", "role", "learned"):
            steps.add_column(column)
        for row in summary["preprocessing"]:
            steps.add_row(*(for_console(row[key]) for key in ("column", "role", "learned")))
        out.print(steps)
    return 0


# What the "model" table of ``glassnet summary`` shows, in order.
ABOUT = ("task", "dtype", "members", "classes", "scaling", "data", "target", "digest")
