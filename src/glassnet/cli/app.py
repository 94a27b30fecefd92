"""The ``glassnet`` command: run presets, train on your data, use and inspect models, reports.

Each subcommand is one parser block plus one ``cmd_*`` function; the data workflow's
commands live in ``glassnet.cli.train`` (train, report) and ``glassnet.cli.model``
(evaluate, predict, summary), sweeps in ``glassnet.cli.sweep``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import NoReturn

from glassnet import workflow
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
)
from glassnet.errors import DataWarning, GlassnetError
from glassnet.text import for_console, plain

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
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        refuse_unknown(parser, sys.argv[1:] if argv is None else argv, unknown)
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


def refuse_unknown(parser: argparse.ArgumentParser, argv: list[str], unknown: list[str]) -> None:
    """Exit 2 with one line naming the first argument no parser took, the closest flag of
    the command it was given to (``--hiden``: did you mean ``--hidden``?) and that
    command's ``--help``."""
    import difflib

    commands = next(
        action.choices
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    command = next((word for word in argv if word in commands), None)
    where = commands[command] if command is not None else parser
    flags = [flag for action in where._actions for flag in action.option_strings]
    word = unknown[0]
    close = difflib.get_close_matches(word.split("=")[0], flags, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close and word.startswith("-") else ""
    where.exit(
        2, f"{where.prog}: error: unrecognized argument {word}{hint}; see {where.prog} --help\n"
    )


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


RUN_RESUME_KEEPS = (
    "preset",
    "config",
    "data",
    "target",
    "task",
    *cli_train.COLUMN_KEYS,
    "data_home",
    "seed",
    "out",
    "dtype",
    "refit",
)


def cmd_run(args: argparse.Namespace) -> int:
    """``glassnet run``: sweep on validation, retrain the best, test once, write the folder."""
    out = Output(args)
    if args.resume is not None:
        cli_train.refuse_with_resume(args, RUN_RESUME_KEEPS)
        run = cli_train.start_or_resume(
            "run",
            lambda: workflow.resume(
                args.resume, command="run", n_jobs=args.jobs, progress=out.display
            ),
        )
    else:
        dtype = {"dtype": args.dtype} if args.dtype else {}
        job = workflow.prepare(
            command="run",
            config=args.config,
            preset=args.preset,
            refit=args.refit,
            seed=0 if args.seed is None else args.seed,
            progress=out.display,
            origin="flags",
            **cli_train.data_keywords(args),
            **dtype,
        )
        folder = args.out or default_run_dir()
        run = cli_train.start_or_resume("run", lambda: job.run(folder, n_jobs=args.jobs))
    metrics = run.metrics
    out.result(
        {
            "run_dir": str(run.folder),
            "preset": metrics["preset"],
            "seed": metrics["seed"],
            "best_params": run.best_params,
            "validation_accuracy": run.validation_accuracy,
            "selection_accuracy": metrics.get("selection_accuracy"),
            "refit": metrics["refit"],
            "ensemble": metrics["ensemble"],
            "test_accuracy": run.test_accuracy,
            "task": run.task,
            **{key: metrics[key] for key in cli_train.REGRESSION_KEYS if key in metrics},
            "seconds": run.seconds,
            "outputs": metrics["outputs"],
        }
    )
    out.warn(run.warnings)
    if out.quiet:
        out.headline(f"{cli_train.headline(run)}; run folder {for_console(run.folder)}")
        return 0
    out.print(results_table(metrics))
    out.print(results_summary(metrics))
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    """``glassnet presets``: a table of the built-in presets and what each one runs."""
    from rich.table import Table

    out = Output(args)
    described = workflow.presets()
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
