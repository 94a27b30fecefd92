"""The ``glassnet`` command: run presets, train on your data, use and inspect models, reports.

Each subcommand is one parser block plus one ``cmd_*`` function; the data workflow's
commands live in ``cli_train`` (train, report) and ``cli_model`` (evaluate, predict, summary).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from glassnet import __version__, cli_model, cli_sweep, cli_train
from glassnet.cli_output import progress as _progress
from glassnet.errors import GlassnetError

EXAMPLES = """examples:
  glassnet run                      the seed experiment (the tutorial, reproduced)
  glassnet run --seed 3 --out runs/seed3
  glassnet run --preset best        the best recipe: augmentation, ensemble, refit on train+valid
  glassnet presets                  list the built-in presets
  glassnet sweep --grid l2="logspace(-2,2,10)" --seeds 0,1 --out runs/sweep

  your own data, start to finish:
  glassnet train --data flowers.csv --target species --out runs/flowers
  open runs/flowers/report.html     (a self-contained page: curves, confusion matrix, ...)
  glassnet evaluate runs/flowers/model.npz --data more_flowers.csv
  glassnet predict runs/flowers/model.npz --data unlabelled.csv --out predictions.csv
  glassnet summary runs/flowers/model.npz
  glassnet report runs/flowers      rebuild report.html and the figures

every command takes --quiet, and --json for a machine-readable result on stdout;
`glassnet COMMAND --help` lists its options.
"""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except GlassnetError as exc:
        print(f"glassnet: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the user gave cannot be read or written
        # On a rename the second name is the user's path, the first a temporary file.
        path = exc.filename2 or exc.filename or ""
        print(f"glassnet: error: {exc.strerror or exc}: {path}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("glassnet: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    run.add_argument("--preset", default="seed", help="preset name or TOML file (default: seed)")
    run.add_argument("--seed", type=int, default=0, help="seed of the run's one random generator")
    run.add_argument("--out", type=Path, help="run folder (default: runs/<timestamp>)")
    run.add_argument("--jobs", type=int, default=-1, help="processes for the sweep (-1: all cores)")
    run.add_argument("--dtype", choices=["float32", "float64"],
                     help="override the preset's floating-point type")
    run.add_argument(
        "--refit", choices=["train", "train+valid"],
        help="train the final model(s) on train only, or on train+valid (default: the preset's)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bars or table")
    run.add_argument("--json", action="store_true",
                     help="print the result as one JSON document on stdout, for scripts")
    run.set_defaults(handler=cmd_run)

    presets = commands.add_parser(
        "presets", help="list the built-in presets", epilog="example:\n  glassnet presets",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    presets.set_defaults(handler=cmd_presets)

    cli_train.add_train_parser(commands)
    cli_model.add_model_parsers(commands)
    cli_sweep.add_sweep_parser(commands)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from glassnet import presets
    from glassnet.experiment import run_experiment, write_run

    preset = presets.load(args.preset)
    if args.dtype:
        preset.train = preset.train.replace(dtype=args.dtype)
    out = args.out or Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")
    console = Console(stderr=True, quiet=args.quiet)
    n_trials = max(1, len(preset.grid()))
    with _progress(console) as progress:
        sweep_task = progress.add_task(f"sweep ({n_trials} trainings)", total=n_trials)
        # One final network is followed epoch by epoch; an ensemble member by member.
        single = preset.ensemble == 1
        final_task = progress.add_task(
            "final training" if single else f"final training ({preset.ensemble} networks)",
            total=preset.train.epochs if single else preset.ensemble, start=not single,
        )

        def on_epoch(epoch: int, epochs: int) -> None:
            if epoch == 1:
                progress.start_task(final_task)
            progress.update(final_task, completed=epoch)

        result = run_experiment(
            preset,
            seed=args.seed,
            n_jobs=args.jobs,
            refit=args.refit,
            on_trial=lambda _: progress.advance(sweep_task),
            on_epoch=on_epoch,
            on_member=None if single else lambda _: progress.advance(final_task),
        )
    outputs = write_run(result, out)
    if args.json:
        import json

        print(json.dumps({
            "run_dir": str(out), "preset": preset.name, "seed": args.seed,
            "best_params": result.best_params,
            "validation_accuracy": result.validation_accuracy,
            "selection_accuracy": result.selection_accuracy, "refit": result.refit,
            "ensemble": len(result.model.networks),
            "test_accuracy": result.test_accuracy, "seconds": result.seconds, "outputs": outputs,
        }, indent=2))
    elif not args.quiet:
        console = Console()
        console.print(results_table(result))
        console.print(results_summary(result))
    return 0


def results_table(result, title: str | None = None):
    from rich.table import Table

    title = title or f"glassnet run --preset {result.preset.name} --seed {result.seed}"
    table = Table(title=title)
    keys = list(result.preset.sweep)
    for key in keys:
        table.add_column(key, justify="right")
    table.add_column("validation accuracy", justify="right")
    for record in (trial.record() for trial in result.trials):
        chosen = all(record[k] == result.best_params.get(k) for k in keys)
        cells = [f"{record[k]:.4g}" if isinstance(record[k], float) else str(record[k])
                 for k in keys]
        style = "bold green" if chosen else None
        table.add_row(*cells, f"{record['validation_accuracy']:.4f}", style=style)
    return table


def results_summary(result) -> str:
    """The headline numbers and where they were written, as a few lines of text."""
    params = ", ".join(
        f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}"
        for k, v in result.best_params.items()
    )
    folder = Path(result.outputs["metrics"]).parent
    members = len(result.model.networks)
    trained_on = "train+valid" if result.refit == "train+valid" else "train"
    validation = f"validation accuracy [bold]{validation_value(result)}[/]"
    return (
        f"chosen: {params or 'the preset settings'}\n"
        f"final model ({members} network(s), trained on {trained_on}): {validation}, "
        f"test accuracy [bold]{result.test_accuracy:.4f}[/]  ({result.seconds:.1f} s)\n"
        f"written to {folder}/: report.html, metrics.json, model.npz, predictions.npz, figures"
    )


def validation_value(result) -> str:
    """The final model's validation accuracy, or, when it trained on validation (a refit),
    the chosen setting's held-out accuracy from the sweep."""
    if result.validation_accuracy is not None:
        return f"{result.validation_accuracy:.4f}"
    if result.selection_accuracy is not None:
        return f"{result.selection_accuracy:.4f} (when chosen, before the refit)"
    return "n/a (refit on train+valid)"


def cmd_presets(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from glassnet import presets

    table = Table(title="glassnet presets")
    table.add_column("name")
    table.add_column("description")
    for name in presets.names():
        table.add_row(name, presets.load(name).description)
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
