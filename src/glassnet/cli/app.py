"""The ``glassnet`` command: run presets, train on your data, use and inspect models, reports.

Each subcommand is one parser block plus one ``cmd_*`` function; the data workflow's
commands live in ``glassnet.cli.train`` (train, report) and ``glassnet.cli.model``
(evaluate, predict, summary), sweeps in ``glassnet.cli.sweep``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from glassnet._version import __version__
from glassnet.cli import export as cli_export
from glassnet.cli import model as cli_model
from glassnet.cli import sweep as cli_sweep
from glassnet.cli import train as cli_train
from glassnet.cli.output import (
    Output,
    add_output_flags,
    default_run_dir,
    results_summary,
    results_table,
    training_progress,
)
from glassnet.errors import ConfigError, DataWarning, GlassnetError
from glassnet.experiments import config_file
from glassnet.text import plain

EXAMPLES = """examples:
  glassnet run                      the seed experiment (the tutorial, reproduced)
  glassnet run --seed 3 --out runs/seed3
  glassnet run --preset best        the best recipe: augmentation, ensemble, refit on train+valid
  glassnet run --resume runs/seed3  continue a run stopped by Ctrl-C
  glassnet presets                  list the built-in presets
  glassnet sweep --grid l2="logspace(-2,2,10)" --seeds 0,1 --out runs/sweep

  one config file (data, target, [columns], [train], [sweep]) for train, run and sweep:
  glassnet train --config penguins.toml
  glassnet run --config penguins.toml --seed 1
  glassnet sweep --config penguins.toml --seeds 0-2

  your own data, start to finish:
  glassnet train --data flowers.csv --target species --out runs/flowers
  open runs/flowers/report.html     (a self-contained page: curves, confusion matrix, ...)
  glassnet evaluate runs/flowers/model.npz --data more_flowers.csv
  glassnet predict runs/flowers/model.npz --data unlabelled.csv --out predictions.csv
  glassnet summary runs/flowers/model.npz
  glassnet report runs/flowers      rebuild report.html and the figures
  glassnet export runs/flowers/model.npz --out flowers.onnx   (run it in onnxruntime)

every command takes --quiet, and --json for a machine-readable result on stdout;
`glassnet COMMAND --help` lists its options.
"""


def main(argv: list[str] | None = None) -> int:
    """Run the command in ``argv`` (default: ``sys.argv``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", DataWarning)  # each one names a different thing
            shown = warnings.showwarning
            warnings.showwarning = lambda message, category, *rest, **named: (
                print(f"glassnet: warning: {one_line(message)}", file=sys.stderr)
                if issubclass(category, DataWarning)
                else shown(message, category, *rest, **named)
            )
            return int(args.handler(args) or 0)
    except GlassnetError as exc:
        print(f"glassnet: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the user gave cannot be read or written
        # On a rename the second name is the user's path, the first a temporary file.
        path = exc.filename2 or exc.filename or ""
        print(f"glassnet: error: {one_line(exc.strerror or exc)}: {path}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"glassnet: interrupted{f'; {one_line(exc)}' if str(exc) else ''}", file=sys.stderr)
        return 130


def one_line(message: object) -> str:
    """A message on one line: wrapped library messages (NumPy's, TOML's) are joined, and
    control characters from data (an escape sequence in a column name) shown escaped."""
    return plain(" ".join(str(message).split()))


class OneLineParser(argparse.ArgumentParser):
    """argparse, except that a usage error is one line on stderr and exit 2, like every
    other error a user can cause (subcommand parsers inherit this class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``glassnet`` parser with every subcommand."""
    parser = OneLineParser(
        prog="glassnet",
        description="Neural networks in plain NumPy: run experiments, sweeps and reports.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run a preset experiment (default: the seed experiment)",
        description="Run a preset: sweep on validation, retrain the best, test once, write a run\n"
        "folder (model.npz, metrics.json, figures, report.html).",
        epilog="example:\n  glassnet run --preset seed --seed 0 --out runs/first",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cli_train.add_config_flag(run)
    run.add_argument(
        "--preset",
        help="preset name or TOML file (default: seed on the digits; with --config or --data, "
        "the recipe under them, as a config file's base)",
    )
    run.add_argument(
        "--seed",
        type=cli_train.seed_number,
        help="seed of the run's one random generator (default: 0)",
    )
    run.add_argument("--out", type=Path, help="run folder (default: runs/<timestamp>)")
    run.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="continue a run stopped by Ctrl-C or SIGTERM (its preset and settings are reused)",
    )
    run.add_argument("--jobs", type=int, default=-1, help="processes for the sweep (-1: all cores)")
    run.add_argument(
        "--dtype", choices=["float32", "float64"], help="override the preset's floating-point type"
    )
    run.add_argument(
        "--refit",
        choices=["train", "train+valid"],
        help="train the final model(s) on train only, or on train+valid (default: the preset's)",
    )
    cli_train.add_data_flags(
        run,
        target_help="the label column of --data (a table) or its labels array (NPZ)",
        columns=True,
    )
    add_output_flags(run)
    run.set_defaults(handler=cmd_run)

    presets = commands.add_parser(
        "presets",
        help="list the built-in presets",
        epilog="example:\n  glassnet presets",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_output_flags(presets)
    presets.set_defaults(handler=cmd_presets)

    cli_train.add_train_parser(commands)
    cli_model.add_model_parsers(commands)
    cli_sweep.add_sweep_parser(commands)
    cli_export.add_export_parser(commands)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    """``glassnet run``: sweep on validation, retrain the best, test once, write the folder."""
    from glassnet.experiments.experiment import resume_run, run_experiment, start_run, write_run
    from glassnet.experiments.trials import resolve_n_jobs

    out = Output(args)
    data_flags = ("config", "data", "target", "task", *cli_train.COLUMN_KEYS, "data_home")
    given = (args.preset, args.seed, args.out, args.dtype, args.refit)
    given += tuple(getattr(args, flag) for flag in data_flags)
    splits = table = None
    if args.resume is not None:
        if any(value is not None for value in given):
            raise ConfigError(
                "--resume reuses the run's preset, data, seed, folder and settings; "
                "drop --preset, --config, --data, --seed, --out, --dtype and --refit"
            )
        folder = args.resume
        preset, seed, command = resume_run(folder)
        refit = command.get("refit")
        if "data" in command:
            splits, table = cli_train.user_splits(out, preset, command, seed)
    else:
        seed = 0 if args.seed is None else args.seed
        changes = {**cli_train.data_changes(args), "base": args.preset}
        if args.dtype:
            changes["train"] = {"dtype": args.dtype}
        # Without a file, the seed experiment on the digits; other --data get their defaults
        # (on a table the tabular recipe), as a file naming them would.
        digits = args.config is None and args.data in (None, "digits")
        resolved = config_file.resolve(
            args.config, "run", changes=changes, default_base="seed" if digits else None
        )
        preset, refit = resolved.preset, args.refit
        command = {"name": "run", "refit": refit}
        if resolved.user_data:
            # The recipe on the user's data, split as `glassnet train` splits it.
            command.update(resolved.data, data_home=args.data_home)
            splits, table = cli_train.user_splits(out, preset, command, seed)
        folder = start_run(preset, seed, args.out or default_run_dir(), command)
    n_trials = len(preset.grid()) if preset.sweep else 0
    with training_progress(out, n_trials, preset.train.epochs, preset.ensemble) as callbacks:
        if resolve_n_jobs(args.jobs, n_trials) > 1:  # this process only waits for workers
            callbacks["on_trial"] = preload_figures_after(callbacks["on_trial"])
        try:
            result = run_experiment(
                preset,
                seed=seed,
                n_jobs=args.jobs,
                refit=refit,
                run_dir=folder,
                splits=splits,
                info={"target": command.get("target")} if splits is not None else None,
                **callbacks,
            )
        except KeyboardInterrupt:
            raise KeyboardInterrupt(
                f"finished work is saved in {folder}; continue with: glassnet run --resume {folder}"
            ) from None
    result.model.table = table
    outputs = write_run(result, folder)
    out.result(
        {
            "run_dir": str(folder),
            "preset": preset.name,
            "seed": seed,
            "best_params": result.best_params,
            "validation_accuracy": result.validation_accuracy,
            "selection_accuracy": result.selection_accuracy,
            "refit": result.refit,
            "ensemble": len(result.model.networks),
            "test_accuracy": result.test_accuracy,
            "task": result.model.task,
            **result.regression_metrics(),
            "seconds": result.seconds,
            "outputs": outputs,
        }
    )
    out.print(results_table(result))
    out.print(results_summary(result))
    return 0


def preload_figures_after(on_trial: Callable[..., None] | None) -> Callable[..., None]:
    """``on_trial`` that, when the first trial is in, imports matplotlib in the background:
    the sweep's workers keep the cores busy, and this process only waits for them."""
    started = False

    def first_preloads(result: object) -> None:
        nonlocal started
        if not started:
            from glassnet.report.figures import preload

            preload()
            started = True
        if on_trial is not None:
            on_trial(result)

    return first_preloads


def cmd_presets(args: argparse.Namespace) -> int:
    """``glassnet presets``: a table of the built-in presets and what each one runs."""
    from rich.table import Table

    from glassnet.experiments import presets

    out = Output(args)
    described = [(name, presets.load(name).description) for name in presets.names()]
    out.result({"presets": [{"name": n, "description": d} for n, d in described]})
    table = Table(title="glassnet presets")
    table.add_column("name")
    table.add_column("description")
    for name, description in described:
        table.add_row(name, description)
    out.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
