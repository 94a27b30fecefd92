"""``glassnet train`` (your own data -> a run folder) and ``glassnet report`` (rebuild report.html).

Settings come from, in rising priority: TrainConfig's defaults, a ``--config`` TOML file
(a preset file plus ``target``, ``validation_fraction``, ``test_fraction``, ``image_shape``),
and the command-line flags.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from glassnet.cli.output import (
    Output,
    add_output_flags,
    default_run_dir,
    key_value_table,
    results_table,
    training_progress,
    validation_value,
)
from glassnet.errors import ConfigError, DataError
from glassnet.report.format import format_params
from glassnet.training.config import TrainConfig

DEFAULTS = TrainConfig()
# Keys a train config file may hold besides a preset's own keys.
RUN_KEYS = {"target", "validation_fraction", "test_fraction", "image_shape"}

TRAIN_EXAMPLES = """examples:
  glassnet train --data iris.csv --target species
  glassnet train --data iris.csv --target species --hidden 32,16 --activation relu \\
                 --optimizer adam --lr 0.01 --epochs 200 --batch-size 32 --out runs/iris
  glassnet train --data digits --epochs 300 --out runs/digits
  glassnet train --data mnist_784 --hidden 256,128 --activation relu --optimizer adam \\
                 --lr 0.001 --epochs 10 --batch-size 128 --dtype float32
  glassnet train --config run.toml          (a preset TOML file; flags override it)

then open RUN_DIR/report.html in a browser."""


def add_data_flags(
    parser: argparse.ArgumentParser, *, target_help: str, images: bool = False
) -> None:
    """Add the ``--data``, ``--target``, ``--data-home`` (and ``--image-shape``) flags."""
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        metavar="SOURCE",
        help="FILE.csv, FILE.npz, 'digits', or an OpenML name such as mnist_784 "
        "(or openml:NAME / openml:ID)",
    )
    data.add_argument("--target", metavar="COLUMN", help=target_help)
    if images:
        data.add_argument(
            "--image-shape",
            metavar="HxW",
            type=image_shape,
            help="rows are images of this shape (e.g. 28x28): the report shows "
            "a gallery of misclassified test images",
        )
    data.add_argument(
        "--data-home",
        metavar="DIR",
        help="where OpenML downloads are cached (default: scikit-learn's data home)",
    )


def image_shape(text: str) -> tuple[int, int]:
    """``--image-shape``: ``28x28`` -> (28, 28)."""
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        message = f"image shape must look like 28x28, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f"image sides must be positive, got {text!r}")
    return height, width


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
    source = train.add_mutually_exclusive_group()
    source.add_argument(
        "--config",
        metavar="FILE.toml",
        help="a preset TOML file ([train], optional [sweep], data, target, ...)",
    )
    source.add_argument(
        "--preset",
        metavar="NAME",
        help="a built-in preset's recipe (e.g. cnn) on your --data; its split applies "
        "to digits only, other data are split at random",
    )
    add_data_flags(
        train, target_help="the label column (CSV) or array (NPZ, default: y)", images=True
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
    "batch_size": "batch_size",
    "dtype": "dtype",
}


def train_settings(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """(preset dict for ``presets.from_dict``, run settings), flags over file over defaults."""
    from glassnet.experiments.presets import PRESET_KEYS, read_toml

    file = read_toml(Path(args.config), f"config file {args.config!r}") if args.config else {}
    if getattr(args, "preset", None):
        file = preset_recipe(args.preset, args.data)
    unknown = sorted(set(file) - PRESET_KEYS - RUN_KEYS)
    if unknown:
        raise ConfigError(
            f"config file {args.config!r}: unknown key(s) {unknown}; known: "
            f"{sorted(PRESET_KEYS | RUN_KEYS)}"
        )
    run = {key: file.pop(key) for key in list(file) if key in RUN_KEYS}
    preset = dict(file)
    train = dict(preset.get("train", {}))
    for flag, setting in FLAG_TO_SETTING.items():
        value = getattr(args, flag)
        if value is not None:
            train[setting] = None if value == "full" else value
    preset["train"] = train
    preset.setdefault("description", "glassnet train")
    if args.data is not None:
        preset["data"] = args.data
    elif args.config and "data" in preset:
        # A data file named in a config file is found beside that file.
        beside = Path(args.config).parent / preset["data"]
        if not Path(preset["data"]).is_absolute() and beside.is_file():
            preset["data"] = str(beside)
    if "data" not in preset:
        raise ConfigError("say which data to train on: --data FILE.csv|FILE.npz|digits|NAME")
    preset["split"] = preset.get("split", "random")
    preset["scaling"] = args.scaling or preset.get("scaling", "standard")
    for key in ("target", "validation_fraction", "test_fraction", "image_shape"):
        value = getattr(args, key)
        if value is not None:
            run[key] = value
    run.setdefault("validation_fraction", 0.2)
    run.setdefault("test_fraction", 0.2)
    return preset, run


def preset_recipe(name: str, data: str | None) -> dict[str, Any]:
    """A built-in preset's TOML as a train config file: its recipe, on ``data`` if given."""
    from glassnet.experiments.presets import PRESET_FOLDER, names, read_toml

    if name not in names():
        raise ConfigError(f"unknown preset {name!r}; available: {', '.join(names())}")
    recipe = read_toml((PRESET_FOLDER / f"{name}.toml").read_text(), f"preset {name!r}")
    if data is not None and data != recipe.get("data"):
        recipe["split"] = "random"  # the seed split belongs to the digits
    return recipe


RESUME_KEEPS = (
    "config",
    "preset",
    "data",
    "target",
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
    from glassnet.data.datasets import random_split, seed_split
    from glassnet.data.sources import load_dataset
    from glassnet.experiments import presets
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
        preset_dict, run = train_settings(args)
        name = Path(args.config).stem if args.config else (args.preset or "train")
        preset = presets.from_dict(name, preset_dict)
        if preset.split not in ("random", "seed"):
            raise ConfigError(f"split must be 'random' or 'seed', got {preset.split!r}")
        seed = 0 if args.seed is None else args.seed
        run["data_home"] = args.data_home
    shape = run.get("image_shape")
    with out.status(f"loading {preset.data} ..."):
        data = load_dataset(
            preset.data,
            run.get("target"),
            image_shape=tuple(shape) if shape else None,  # type: ignore[arg-type]
            data_home=run.get("data_home"),
        )
    if preset.train.layers is not None and data.image_shape is not None:
        # A layer list's images take the data's own shape (one channel).
        shape_of_data = (1, *data.image_shape)
        if preset.train.input_shape != shape_of_data:
            preset = dataclasses.replace(
                preset, train=preset.train.replace(input_shape=shape_of_data)
            )
    if preset.split == "seed":
        splits = seed_split(data)
    else:
        splits = random_split(
            data,
            validation_fraction=run["validation_fraction"],
            test_fraction=run["test_fraction"],
            seed=seed,
        )
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
                info={"target": run.get("target")},
                run_dir=folder,
                **callbacks,
            )
        except KeyboardInterrupt:
            raise KeyboardInterrupt(
                f"finished work is saved in {folder}; continue with: "
                f"glassnet train --resume {folder}"
            ) from None
    with out.status("writing the run folder and report.html ..."):
        outputs = write_run(result, folder)
    out.result(
        {
            "run_dir": str(folder),
            "data": preset.data,
            "target": run.get("target"),
            "validation_accuracy": result.validation_accuracy,
            "test_accuracy": result.test_accuracy,
            "best_params": result.best_params,
            "split_sizes": result.splits,
            "seconds": result.seconds,
            "outputs": outputs,
        }
    )
    if result.trials:
        out.print(results_table(result, title=f"sweep (seed {result.seed})"))
    out.print(
        key_value_table(
            f"glassnet train: {preset.data}",
            [
                ("split (train/validation/test)", "/".join(str(n) for n in result.splits.values())),
                ("classes", len(result.model.classes)),  # type: ignore[arg-type]
                ("chosen", format_params(result.best_params) or "no sweep"),
                ("validation accuracy", validation_value(result)),
                ("test accuracy", f"{result.test_accuracy:.4f}"),
                ("time", f"{result.seconds:.1f} s"),
                ("report", outputs["report"]),
                ("model", outputs["model"]),
            ],
        )
    )
    return 0


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
