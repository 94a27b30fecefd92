"""``glassnet train`` (your own data -> a run folder) and ``glassnet report`` (rebuild report.html).

Settings come from, in rising priority: the defaults for the kind of data (the tabular
recipe on a table, the seed recipe on other data), a ``--preset``, a ``--config`` TOML file
(the layout shared with ``glassnet run`` and ``glassnet sweep``), and the command-line flags.
The flags are parsed here and handed to ``glassnet.workflow``, which does the work.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glassnet import workflow
from glassnet.cli.output import (
    Output,
    add_output_flags,
    default_run_dir,
    key_value_table,
    results_table,
    validation_value,
)
from glassnet.errors import ConfigError, DataError
from glassnet.report.format import format_params
from glassnet.text import for_console
from glassnet.workflow.settings import COLUMN_KEYS, DEFAULTS, SIZED, SMALL_TABLE, check_setting

if TYPE_CHECKING:
    from rich.table import Table

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


def default_help(setting: str, what: str = "") -> str:
    """A flag's help ending in the defaults that apply per kind of data, e.g. ``(default:
    100 on a table of up to 20,000 training rows, sized to the rows above; 48,32 on other
    data)``."""
    table, other = (_shown(DEFAULTS[kind][setting]) for kind in ("table", "other"))
    if setting in SIZED:
        rows = f"{SMALL_TABLE:,} training rows"
        defaults = f"{table} on a table of up to {rows}, sized to the rows above; {other} on "
        defaults += "other data"
    elif table != other:
        defaults = f"{table} on a table, {other} on other data"
    else:
        defaults = table
    return f"{what} (default: {defaults})" if what else f"(default: {defaults})"


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "none"
    return str(value)


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
        help="train a classifier or a regression on your own data (a table, NPZ, OpenML)",
        description="Train on your data (classes or numbers, as the target says): split it into\n"
        "train, validation and test sets, train (or sweep, from a config file), test once,\n"
        "and write a run folder with model.npz, metrics.json, figures and report.html.",
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
    model = train.add_argument_group(
        "network and training (defaults: the tabular recipe on a table, the seed recipe on "
        "other data; a --preset or --config file replaces them)"
    )
    model.add_argument(
        "--hidden",
        type=hidden_sizes,
        metavar="SIZES",
        help=default_help("hidden_layer_sizes", "hidden layer sizes, e.g. 64,32, or none"),
    )
    model.add_argument(
        "--activation",
        help=default_help("activation", "hidden activation: sigmoid, tanh, relu, leaky_relu"),
    )
    model.add_argument(
        "--output-activation",
        help=default_help("output_activation", "applied before softmax"),
    )
    model.add_argument(
        "--init",
        choices=("glorot", "he"),
        help="weight init (default: he for relu-like, glorot otherwise)",
    )
    model.add_argument("--dropout", type=float, help=default_help("dropout", "dropout rate"))
    model.add_argument("--optimizer", choices=("sgd", "adam"), help=default_help("optimizer"))
    model.add_argument("--lr", type=float, help=default_help("lr", "learning rate"))
    model.add_argument("--momentum", type=float, help=default_help("momentum", "SGD momentum"))
    model.add_argument(
        "--nesterov", action="store_true", default=None, help="Nesterov momentum for SGD"
    )
    model.add_argument(
        "--l2",
        type=float,
        help=default_help("l2", "L2 strength, scikit-learn's alpha convention"),
    )
    model.add_argument(
        "--epochs", type=int, help=default_help("epochs", "passes over the training rows")
    )
    model.add_argument(
        "--patience",
        type=patience,
        metavar="N|none",
        help=default_help(
            "early_stopping_patience",
            "stop after N epochs without a lower validation loss, keeping the best epoch's "
            "weights; none trains every epoch",
        ),
    )
    model.add_argument(
        "--batch-size",
        type=batch_size,
        metavar="N|full",
        help=default_help("batch_size", "minibatch size, or full (none: full batch)"),
    )
    model.add_argument("--dtype", choices=("float32", "float64"), help=default_help("dtype"))
    model.add_argument(
        "--class-weight",
        choices=("balanced",),
        help="balanced: weigh each class's training rows by n / (n_classes * n_class) in "
        "the loss, so a rare class counts as much as a common one (default: none)",
    )
    run = train.add_argument_group("run")
    run.add_argument(
        "--scaling",
        choices=("none", "standard", "minmax"),
        help="scaling of the inputs, fitted on the training rows (default: none on a table, "
        "whose own preprocessing standardises its numeric columns; standard on other data)",
    )
    run.add_argument(
        "--validation-fraction",
        type=float,
        help="share of the data held out to validate (default: 0.2)",
    )
    run.add_argument(
        "--test-fraction", type=float, help="share of the data held out to test once (default: 0.2)"
    )
    add_own_split_flags(run, tested=True)
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
    "class_weight": "class_weight",
}


def add_config_flag(parser: argparse.ArgumentParser) -> None:
    """``--config FILE.toml``: the one config file layout of train, run and sweep."""
    parser.add_argument(
        "--config",
        metavar="FILE.toml",
        help="a config file: data, target, task, [columns], [train], [sweep] (docs: "
        "Config files and sweeps); flags override it",
    )


def add_own_split_flags(group: argparse._ArgumentGroup, *, tested: bool) -> None:
    """``--validation-data`` and ``--test-data``: the user's own split (``tested``: the
    command tests once, and keeps the test rows' positions)."""
    group.add_argument(
        "--validation-data",
        metavar="FILE",
        help="your own split: validate on this table's rows instead of a share of --data "
        "(same columns; e.g. a later period)",
    )
    group.add_argument(
        "--test-data",
        metavar="FILE",
        help="your own split: test once on this table's rows instead of a share of --data; "
        "predictions.npz keeps each test row's position in it (test_rows)"
        if tested
        else "your own test rows: --data is then split into training and validation only "
        "(a sweep tests nothing; glassnet train with the same --test-data tests once)",
    )


def data_keywords(args: argparse.Namespace) -> dict[str, Any]:
    """The data flags (``--data``, ``--target``, ``--task``, the column lists, ``--data-home``)
    as ``glassnet.workflow`` keywords; flags not given are None."""
    keywords = {
        "data": args.data,
        "target": args.target,
        "task": getattr(args, "task", None),
        "data_home": args.data_home,
    }
    keywords.update({key: getattr(args, key, None) for key in COLUMN_KEYS})
    return keywords


def training_keywords(args: argparse.Namespace) -> dict[str, Any]:
    """The network and training flags given, as training settings, each checked on its own
    so a bad value is named by its flag; ``--batch-size full`` and ``--patience none``
    mean None."""
    settings = {}
    for flag, setting in FLAG_TO_SETTING.items():
        value = getattr(args, flag, None)
        if value is None:
            continue
        value = None if value in ("full", "none") else value
        check_setting(setting, value, given_as=f"--{flag.replace('_', '-')}")
        settings[setting] = value
    return settings


def train_keywords(args: argparse.Namespace) -> dict[str, Any]:
    """Every flag of ``glassnet train`` as ``glassnet.workflow.prepare`` keywords."""
    return {
        **data_keywords(args),
        **training_keywords(args),
        "config": args.config,
        "preset": args.preset,
        "scaling": args.scaling,
        "validation_fraction": args.validation_fraction,
        "test_fraction": args.test_fraction,
        "validation_data": args.validation_data,
        "test_data": args.test_data,
        "image_shape": args.image_shape,
        "seed": 0 if args.seed is None else args.seed,
    }


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
    "validation_data",
    "test_data",
    "seed",
    "out",
    "data_home",
    *FLAG_TO_SETTING,
)


def cmd_train(args: argparse.Namespace) -> int:
    """``glassnet train``: split the data, train (or sweep), test once, write a run folder."""
    out = Output(args)
    if args.resume is not None:
        refuse_with_resume(args, RESUME_KEEPS)
        run = start_or_resume(
            "train",
            lambda: workflow.resume(
                args.resume, command="train", n_jobs=args.jobs, progress=out.display
            ),
        )
    else:
        job = workflow.prepare(
            command="train", progress=out.display, origin="flags", **train_keywords(args)
        )
        if job.columns:
            out.print(columns_table(job.columns, f"columns of {Path(job.data.data).name}"))
        folder = args.out or default_run_dir()
        run = start_or_resume("train", lambda: job.run(folder, n_jobs=args.jobs))
    print_train_result(out, run)
    return 0


def refuse_with_resume(args: argparse.Namespace, kept: tuple[str, ...]) -> None:
    """Refuse the flags of ``kept`` given beside ``--resume`` (it reuses the run's own),
    naming each one given."""
    given = [f"--{key.replace('_', '-')}" for key in kept if getattr(args, key) is not None]
    if given:
        raise ConfigError(f"--resume reuses the run's data and settings; drop {', '.join(given)}")


def start_or_resume(command: str, start: Any) -> workflow.Run:
    """``start()``, with an interruption told as the command that continues it."""
    try:
        return start()
    except workflow.RunInterrupted as exc:
        how = f"glassnet {command} --resume {exc.folder}"
        raise KeyboardInterrupt(exc.message(how)) from None


def print_train_result(out: Output, run: workflow.Run) -> None:
    """The JSON document (``--json``), the headline (even under ``--quiet``), the sweep and
    the table of what ``glassnet train`` did."""
    metrics = run.metrics
    outputs = metrics["outputs"]
    document: dict[str, Any] = {
        "run_dir": str(run.folder),
        "data": metrics["config"]["data"],
        "target": metrics["data"].get("target"),
        "task": run.task,
        "validation_accuracy": run.validation_accuracy,
        "test_accuracy": run.test_accuracy,
        **{key: metrics[key] for key in REGRESSION_KEYS if key in metrics},
        "best_params": run.best_params,
        "split_sizes": run.split_sizes,
        "seconds": run.seconds,
        "outputs": outputs,
    }
    out.result(document)
    out.warn(run.warnings)
    if run.task == "regression":
        scores = [
            ("validation R²", _number(metrics.get("validation_r2"))),
            ("test R²", _number(metrics["test_r2"])),
            ("test RMSE / MAE", f"{metrics['test_rmse']:.4g} / {metrics['test_mae']:.4g}"),
        ]
    else:
        scores = [
            ("classes", len(run.model.classes)),  # type: ignore[arg-type]
            ("validation accuracy", validation_value(metrics)),
            ("test accuracy", f"{run.test_accuracy:.4f}"),
        ]
    if out.quiet:
        out.headline(f"{headline(run)}; run folder {for_console(run.folder)}")
        return
    if metrics.get("sweep"):
        out.print(results_table(metrics, title=f"sweep (seed {metrics['seed']})"))
    out.print(
        key_value_table(
            f"glassnet train: {metrics['config']['data']}",
            [
                ("task", run.task),
                ("split (train/validation/test)", "/".join(map(str, run.split_sizes.values()))),
                ("chosen", format_params(run.best_params) or "no sweep"),
                *scores,
                ("time", f"{run.seconds:.1f} s"),
                ("report", outputs["report"]),
                ("model", outputs["model"]),
            ],
        )
    )


REGRESSION_KEYS = ("test_r2", "test_rmse", "test_mae", "validation_r2")


def headline(run: workflow.Run) -> str:
    """A run's result in a few words: its test accuracy, or a regression's test R²."""
    if run.task == "regression":
        return f"test R² {run.metrics['test_r2']:.4f}"
    return f"test accuracy {run.test_accuracy:.4f}"


def _number(value: float | None) -> str:
    return "n/a (refit on train+valid)" if value is None else f"{value:.4f}"


def columns_table(columns: list[dict[str, Any]], title: str) -> Table:
    """Each column's role, share of missing cells and distinct values; dropped ones dimmed."""
    from rich.table import Table

    table = Table(title=for_console(title))
    for name in ("column", "role", "missing", "distinct", "note"):
        table.add_column(name, justify="right" if name in ("missing", "distinct") else "left")
    for column in columns:
        table.add_row(
            for_console(column["name"]),
            column["role"],
            f"{100 * column['missing']:.1f}%",
            str(column["distinct"]),
            for_console(column["note"]),
            style=None if column["used"] else "dim",
        )
    return table


def cmd_report(args: argparse.Namespace) -> int:
    """``glassnet report``: redraw a run folder's figures and rewrite its report.html."""
    out = Output(args)
    if not args.run_dir.is_dir():
        raise DataError(f"run folder {str(args.run_dir)!r} does not exist")
    with out.status("drawing figures and writing report.html ..."):
        path = workflow.rewrite_report(args.run_dir)
    out.result({"report": str(path)})
    out.headline(f"wrote {for_console(path)}")
    return 0
