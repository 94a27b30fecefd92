"""``glassnet train`` (your own data -> a run folder) and ``glassnet report`` (rebuild report.html).

Settings come from, in rising priority: TrainConfig's defaults (the tabular recipe on a
table), a ``--preset``, a ``--config`` TOML file (the layout of
``glassnet.experiments.config_file``, shared with ``glassnet run`` and ``glassnet sweep``),
and the command-line flags.

A table file (.csv, .tsv, .txt, .parquet) goes through ``glassnet.data.tabular``: column
roles are guessed and shown, and a ``TablePreprocessor`` fitted on the training rows is
stored in the model file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glassnet.cli.output import (
    Output,
    add_output_flags,
    default_run_dir,
    key_value_table,
    results_table,
    training_progress,
    validation_value,
)
from glassnet.data.tables import is_table
from glassnet.errors import ConfigError, DataError
from glassnet.experiments import config_file
from glassnet.experiments.config_file import COLUMN_KEYS
from glassnet.report.format import format_params
from glassnet.training import table_recipe
from glassnet.training.config import TrainConfig

if TYPE_CHECKING:
    from rich.table import Table

    from glassnet.data.columns import ColumnInfo
    from glassnet.data.datasets import Splits
    from glassnet.data.preprocessing import TablePreprocessor
    from glassnet.experiments.presets import Preset

DEFAULTS = TrainConfig()

TRAIN_EXAMPLES = """examples:
  glassnet train --data iris.csv --target species
  glassnet train --data iris.csv --target species --hidden 32,16 --activation relu \\
                 --optimizer adam --lr 0.01 --epochs 200 --batch-size 32 --out runs/iris
  glassnet train --data digits --epochs 300 --out runs/digits
  glassnet train --data mnist_784 --hidden 256,128 --activation relu --optimizer adam \\
                 --lr 0.001 --epochs 10 --batch-size 128 --dtype float32
  glassnet train --config penguins.toml     (the file glassnet run and sweep read too;
                                             flags override it)

then open RUN_DIR/report.html in a browser."""


def add_data_flags(
    parser: argparse.ArgumentParser,
    *,
    target_help: str,
    images: bool = False,
    columns: bool = False,
) -> None:
    """Add the ``--data``, ``--target``, ``--data-home`` (and ``--image-shape``; with
    ``columns`` also ``--task``, ``--drop``, ``--features``, ``--categorical``, ``--numeric``)
    flags."""
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        metavar="SOURCE",
        help="a table (FILE.csv, .tsv, .txt, .parquet), FILE.npz, 'digits', or an OpenML "
        "name such as mnist_784 (or openml:NAME / openml:ID)",
    )
    data.add_argument("--target", metavar="COLUMN", help=target_help)
    if columns:
        data.add_argument(
            "--task",
            choices=("classification", "regression"),
            help="what to predict (default: inferred from the target: many distinct numbers "
            "mean regression, text or a few whole numbers classification)",
        )
        for flag, what in (
            ("drop", "leave these columns out"),
            ("features", "use only these columns as features"),
            ("categorical", "treat these columns as categories (one-hot)"),
            ("numeric", "treat these columns as numbers (other cells become missing)"),
        ):
            data.add_argument(f"--{flag}", type=column_names, metavar="COL,COL", help=what)
    if images:
        data.add_argument(
            "--image-shape",
            metavar="HxW[xC]",
            type=image_shape,
            help="rows are images of this shape (e.g. 28x28, or 32x32x3 with each pixel's "
            "channels side by side): a layer list or --preset cnn trains on them as images, "
            "and the report shows a gallery of misclassified test images",
        )
    data.add_argument(
        "--data-home",
        metavar="DIR",
        help="where OpenML downloads are cached (default: scikit-learn's data home)",
    )


def column_names(text: str) -> list[str]:
    """``--drop a,b``: ``["a", "b"]`` (names are stripped; empty names are refused)."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"column lists look like a,b,c; got {text!r}")
    return names


def image_shape(text: str) -> tuple[int, ...]:
    """``--image-shape``: ``28x28`` -> (28, 28); ``32x32x3`` -> (32, 32, 3), the channels of
    each pixel side by side in the rows (channels last)."""
    try:
        shape = tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        shape = ()
    if len(shape) not in (2, 3):
        message = f"image shape must look like 28x28 or 32x32x3 (HxW or HxWxC), got {text!r}"
        raise argparse.ArgumentTypeError(message)
    if min(shape) < 1:
        raise argparse.ArgumentTypeError(f"image sides must be positive, got {text!r}")
    return shape


def hidden_sizes(text: str) -> list[int]:
    """``--hidden``: ``64,32`` -> [64, 32]; ``none`` -> no hidden layer."""
    if text.strip().lower() in ("", "none"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"hidden sizes look like 64,32, got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive, got {text!r}")
    return sizes


def seed_number(text: str) -> int:
    """A seed as NumPy and scikit-learn both take it: an integer in [0, 2**32)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be an integer, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"seed must be in 0..4294967295, got {value}")
    return value


def patience(text: str) -> int | str:
    """``--patience``: a positive integer, or ``none`` (train every epoch)."""
    if text.lower() == "none":
        return "none"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"patience is an integer or 'none', got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"patience must be positive, got {value}")
    return value


def batch_size(text: str) -> int | str:
    """``--batch-size``: a positive integer, or ``full`` for full-batch training."""
    if text.lower() == "full":
        return "full"  # told apart from "not given" (None); becomes batch_size=None
    try:
        value = int(text)
    except ValueError:
        message = f"batch size is an integer or 'full', got {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"batch size must be positive, got {value}")
    return value


def add_train_parser(commands: Any) -> None:
    """Add ``train`` and ``report`` to the subcommands ``commands``."""
    train = commands.add_parser(
        "train",
        help="train a classifier on your own data (CSV, NPZ, digits, OpenML)",
        description="Train a classifier on your data: split it into train, validation and test\n"
        "sets, train (or sweep, from a config file), test once, and write a run\n"
        "folder with model.npz, metrics.json, figures and report.html.",
        epilog=TRAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_flag(train)
    train.add_argument(
        "--preset",
        metavar="NAME",
        help="start from a preset's recipe (a name such as cnn, or a file; the config file's "
        "base); its split applies to digits only, other data are split at random",
    )
    add_data_flags(
        train,
        target_help="the label column (table) or array (NPZ, default: y)",
        images=True,
        columns=True,
    )
    model = train.add_argument_group("network and training (defaults: glassnet's TrainConfig)")
    model.add_argument(
        "--hidden",
        type=hidden_sizes,
        metavar="SIZES",
        help=f"hidden layer sizes, e.g. 64,32, or none "
        f"(default: {','.join(map(str, DEFAULTS.hidden_layer_sizes))})",
    )
    model.add_argument(
        "--activation",
        help=f"hidden activation: sigmoid, tanh, relu, leaky_relu (default: {DEFAULTS.activation})",
    )
    model.add_argument(
        "--output-activation",
        help=f"applied before softmax (default: {DEFAULTS.output_activation})",
    )
    model.add_argument(
        "--init",
        choices=("glorot", "he"),
        help="weight init (default: he for relu-like, glorot otherwise)",
    )
    model.add_argument("--dropout", type=float, help=f"dropout rate (default: {DEFAULTS.dropout})")
    model.add_argument(
        "--optimizer", choices=("sgd", "adam"), help=f"(default: {DEFAULTS.optimizer})"
    )
    model.add_argument("--lr", type=float, help=f"learning rate (default: {DEFAULTS.lr})")
    model.add_argument(
        "--momentum", type=float, help=f"SGD momentum (default: {DEFAULTS.momentum})"
    )
    model.add_argument(
        "--nesterov", action="store_true", default=None, help="Nesterov momentum for SGD"
    )
    model.add_argument(
        "--l2",
        type=float,
        help=f"L2 strength, scikit-learn's alpha convention (default: {DEFAULTS.l2})",
    )
    model.add_argument("--epochs", type=int, help=f"(default: {DEFAULTS.epochs})")
    model.add_argument(
        "--patience",
        type=patience,
        metavar="N|none",
        help="stop after N epochs without a lower validation loss, keeping the best epoch's "
        "weights; none trains every epoch (default: none; 30 on tables)",
    )
    model.add_argument(
        "--batch-size",
        type=batch_size,
        metavar="N|full",
        help="minibatch size, or full (default: full batch)",
    )
    model.add_argument(
        "--dtype", choices=("float32", "float64"), help=f"(default: {DEFAULTS.dtype})"
    )
    run = train.add_argument_group("run")
    run.add_argument(
        "--scaling",
        choices=("none", "standard", "minmax"),
        help="feature scaling fitted on the training set (default: standard)",
    )
    run.add_argument(
        "--validation-fraction",
        type=float,
        help="share of the data held out to validate (default: 0.2)",
    )
    run.add_argument(
        "--test-fraction", type=float, help="share of the data held out to test once (default: 0.2)"
    )
    run.add_argument(
        "--seed",
        type=seed_number,
        help="seed of the split and of the run's one random generator (default: 0)",
    )
    run.add_argument("--out", type=Path, help="run folder (default: runs/<timestamp>)")
    run.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="continue a training stopped by Ctrl-C or SIGTERM (same data and "
        "settings, read from RUN_DIR)",
    )
    run.add_argument("--jobs", type=int, default=-1, help="processes for a sweep (-1: all cores)")
    add_output_flags(train)
    train.set_defaults(handler=cmd_train)

    report = commands.add_parser(
        "report",
        help="rebuild a run folder's report.html and figures",
        description="Redraw the figures of a run folder and write its self-contained\n"
        "report.html (from metrics.json and predictions.npz; no data needed).",
        epilog="example:\n  glassnet report runs/iris",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument(
        "run_dir",
        type=Path,
        metavar="RUN_DIR",
        help="a folder written by glassnet train or glassnet run",
    )
    add_output_flags(report)
    report.set_defaults(handler=cmd_report)


FLAG_TO_SETTING = {
    "hidden": "hidden_layer_sizes",
    "activation": "activation",
    "output_activation": "output_activation",
    "init": "init",
    "dropout": "dropout",
    "optimizer": "optimizer",
    "lr": "lr",
    "momentum": "momentum",
    "nesterov": "nesterov",
    "l2": "l2",
    "epochs": "epochs",
    "patience": "early_stopping_patience",
    "batch_size": "batch_size",
    "dtype": "dtype",
}


def add_config_flag(parser: argparse.ArgumentParser) -> None:
    """``--config FILE.toml``: the one config file layout of train, run and sweep."""
    parser.add_argument(
        "--config",
        metavar="FILE.toml",
        help="a config file: data, target, task, [columns], [train], [sweep] (README: "
        "One config file); flags override it",
    )


def data_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The data flags (``--data``, ``--target``, ``--task``, the column lists) in the config
    file's layout; flags not given are None."""
    changes: dict[str, Any] = {
        "data": args.data,
        "target": args.target,
        "task": getattr(args, "task", None),
    }
    columns = {key: getattr(args, key) for key in COLUMN_KEYS if getattr(args, key, None)}
    if columns:
        changes["columns"] = columns
    return changes


def train_changes(args: argparse.Namespace) -> dict[str, Any]:
    """Every flag of ``glassnet train`` in the config file's layout."""
    changes = data_changes(args)
    changes["train"] = {
        setting: getattr(args, flag)
        for flag, setting in FLAG_TO_SETTING.items()
        if getattr(args, flag) is not None
    }
    changes.update(
        base=args.preset,
        scaling=args.scaling,
        validation_fraction=args.validation_fraction,
        test_fraction=args.test_fraction,
        image_shape=list(args.image_shape) if args.image_shape else None,
    )
    return changes


RESUME_KEEPS = (
    "config",
    "preset",
    "data",
    "target",
    "task",
    *COLUMN_KEYS,
    "image_shape",
    "scaling",
    "validation_fraction",
    "test_fraction",
    "seed",
    "out",
    "data_home",
    *FLAG_TO_SETTING,
)


def cmd_train(args: argparse.Namespace) -> int:
    """``glassnet train``: split the data, train (or sweep), test once, write a run folder."""
    from glassnet.experiments.experiment import resume_run, run_experiment, start_run, write_run

    out = Output(args)
    if args.resume is not None:
        given = [
            f"--{key.replace('_', '-')}" for key in RESUME_KEEPS if getattr(args, key) is not None
        ]
        if given:
            raise ConfigError(f"--resume reuses the run's data and settings; drop {given}")
        folder = args.resume
        preset, seed, run = resume_run(folder, "train")
    else:
        resolved = config_file.resolve(args.config, "train", changes=train_changes(args))
        preset, run = resolved.preset, {**resolved.data, "data_home": args.data_home}
        seed = 0 if args.seed is None else args.seed
    splits, table = user_splits(out, preset, run, seed)
    if args.resume is None:  # claimed only now: data that cannot be read leaves no folder behind
        folder = start_run(preset, seed, args.out or default_run_dir(), {"name": "train", **run})
    n_trials = len(preset.grid()) if preset.sweep else 0
    with training_progress(out, n_trials, preset.train.epochs, preset.ensemble) as callbacks:
        try:
            result = run_experiment(
                preset,
                seed=seed,
                n_jobs=args.jobs,
                splits=splits,
                info={"target": run.get("target"), "table_defaults": run.get("table_defaults")},
                run_dir=folder,
                **callbacks,
            )
        except KeyboardInterrupt as exc:
            kept = getattr(exc, "model", None) is not None
            if kept and table is not None:  # the saved model needs the table's preprocessing
                add_table(Path(folder) / "model.npz", table)
            best = f", the best model so far in {Path(folder) / 'model.npz'}" if kept else ""
            raise KeyboardInterrupt(
                f"finished work is saved in {folder}{best}; continue with: "
                f"glassnet train --resume {folder}"
            ) from None
    result.model.table = table
    with out.status("writing the run folder and report.html ..."):
        outputs = write_run(result, folder)
    regression = result.model.task == "regression"
    document: dict[str, Any] = {
        "run_dir": str(folder),
        "data": preset.data,
        "target": run.get("target"),
        "task": result.model.task,
        "validation_accuracy": result.validation_accuracy,
        "test_accuracy": result.test_accuracy,
        **result.regression_metrics(),
        "best_params": result.best_params,
        "split_sizes": result.splits,
        "seconds": result.seconds,
        "outputs": outputs,
    }
    out.result(document)
    if result.trials:
        out.print(results_table(result, title=f"sweep (seed {result.seed})"))
    if regression:
        scores = [
            ("validation R²", _number(result.validation_r2)),
            ("test R²", _number(document["test_r2"])),
            ("test RMSE / MAE", f"{document['test_rmse']:.4g} / {document['test_mae']:.4g}"),
        ]
    else:
        scores = [
            ("classes", len(result.model.classes)),  # type: ignore[arg-type]
            ("validation accuracy", validation_value(result)),
            ("test accuracy", f"{result.test_accuracy:.4f}"),
        ]
    out.print(
        key_value_table(
            f"glassnet train: {preset.data}",
            [
                ("task", result.model.task),
                ("split (train/validation/test)", "/".join(str(n) for n in result.splits.values())),
                ("chosen", format_params(result.best_params) or "no sweep"),
                *scores,
                ("time", f"{result.seconds:.1f} s"),
                ("report", outputs["report"]),
                ("model", outputs["model"]),
            ],
        )
    )
    return 0


def add_table(path: Path, table: TablePreprocessor) -> None:
    """Put a table's preprocessing into the model file at ``path``."""
    from glassnet.models import checkpoint

    model = checkpoint.load(path)
    model.table = table
    checkpoint.save(model, path)


def _number(value: float | None) -> str:
    return "n/a (refit on train+valid)" if value is None else f"{value:.4f}"


def user_splits(
    out: Output, preset: Preset, run: dict[str, Any], seed: int
) -> tuple[Splits, TablePreprocessor | None]:
    """``data_splits``, refused before any run folder is claimed when the preset's recipe
    cannot train on that data (augmentation needs images), or when validation or test rows
    hold a class the training rows lack (a numeric target taken for classes)."""
    from glassnet.data.checks import check_split_classes

    splits, table = data_splits(out, preset, run, seed)
    if preset.train.augments and splits.train.image_shape is None:
        raise ConfigError(
            f"preset {preset.name!r} augments images (augment_shift / augment_degrees / "
            f"augment_subpixel), but "
            f"{preset.data} has no image shape; choose a preset without augmentation, or "
            "give --image-shape for image rows"
        )
    if preset.train.loss != "mse":
        for part in (splits.validation, splits.test):
            if part.y is not None:
                check_split_classes(part.y, splits.train.y, part.name.split(":")[-1])
    return splits, table


def data_splits(
    out: Output, preset: Preset, run: dict[str, Any], seed: int
) -> tuple[Splits, TablePreprocessor | None]:
    """The train / validation / test splits of ``preset.data`` with the ``run`` settings
    (target, task, columns, fractions, image shape, data home), and a table's preprocessing
    (None for other data). A regression target switches ``preset.train`` to one output
    trained with the squared error."""
    from glassnet.data.datasets import random_split, seed_split
    from glassnet.data.sources import load_dataset

    if is_table(preset.data, run.get("image_shape")):  # a CSV of pixels is images
        splits, table, task = table_training_data(out, preset.data, run, seed)
        if task == "regression":  # run_experiment: the loss "mse" makes it a regression
            preset.train = preset.train.replace(loss="mse", output_activation="identity")
        # Batch size, epochs and patience the user left open follow the rows (issue 24).
        if run.get("table_sized"):
            given = set(table_recipe.SIZED) - set(run["table_sized"])
            rows, width = splits.train.x.shape
            sized = table_recipe.sized_settings(dict.fromkeys(given), rows, width, task)
            preset.train = preset.train.replace(**sized)
            if "ensemble" in run["table_sized"]:
                preset.ensemble = sized["ensemble"] = table_recipe.ensemble_for(rows, task)
            run["table_defaults"] = sized  # shown to the user: model info, run settings
        if preset.train.numeric_embedding and preset.train.embedded_columns is None:
            # PLR embeddings take the numeric columns, which come first in a table's inputs.
            preset.train = preset.train.replace(embedded_columns=len(table.numeric))
        return splits, table
    shape = run.get("image_shape")
    with out.status(f"loading {preset.data} ..."):
        data = load_dataset(
            preset.data,
            run.get("target"),
            image_shape=tuple(shape) if shape else None,  # type: ignore[arg-type]
            data_home=run.get("data_home"),
        )
    if preset.train.layers is not None and data.input_shape is not None:
        # A layer list's images take the data's own shape (channels, height, width).
        preset.train = preset.train.replace(input_shape=data.input_shape)
    if preset.split == "seed":
        return seed_split(data), None
    splits = random_split(
        data,
        validation_fraction=run["validation_fraction"],
        test_fraction=run["test_fraction"],
        seed=seed,
    )
    return splits, None


def table_training_data(
    out: Output, source: str, run: dict[str, Any], seed: int
) -> tuple[Splits, TablePreprocessor, str]:
    """Read a table, show its columns' roles, split it and fit its preprocessing on the
    training rows: (numeric splits, the preprocessing, the task)."""
    from glassnet.data.tabular import load_table_data, table_splits

    columns = run.get("columns", {})
    with out.status(f"loading {source} ..."):
        data = load_table_data(
            source,
            run.get("target"),
            task=run.get("task"),
            drop=columns.get("drop", ()),
            features=columns.get("features"),
            categorical=columns.get("categorical", ()),
            numeric=columns.get("numeric", ()),
        )
    out.print(columns_table(data.columns, f"columns of {Path(source).name}"))
    with out.status("fitting the preprocessing on the training rows ..."):
        splits, table = table_splits(
            data,
            validation_fraction=run["validation_fraction"],
            test_fraction=run["test_fraction"],
            seed=seed,
        )
    return splits, table, data.task


def columns_table(columns: list[ColumnInfo], title: str) -> Table:
    """Each column's role, share of missing cells and distinct values; dropped ones dimmed."""
    from rich.table import Table

    table = Table(title=title)
    for name in ("column", "role", "missing", "distinct", "note"):
        table.add_column(name, justify="right" if name in ("missing", "distinct") else "left")
    for info in columns:
        table.add_row(
            info.name,
            info.role,
            f"{100 * info.missing:.1f}%",
            str(info.distinct),
            info.note,
            style=None if info.used else "dim",
        )
    return table


def cmd_report(args: argparse.Namespace) -> int:
    """``glassnet report``: redraw a run folder's figures and rewrite its report.html."""
    from glassnet.report import html as html_report

    out = Output(args)
    if not args.run_dir.is_dir():
        raise DataError(f"run folder {str(args.run_dir)!r} does not exist")
    with out.status("drawing figures and writing report.html ..."):
        path = html_report.write_report(args.run_dir)
    out.result({"report": str(path)})
    out.print(f"wrote {path}")
    return 0
