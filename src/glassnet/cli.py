"""The ``glassnet`` command: run presets, train on your data, use and inspect models, reports.

Each subcommand is one parser block plus one ``cmd_*`` function; the data workflow's
commands live in ``cli_train`` (train, report) and ``cli_model`` (evaluate, predict, summary).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from glassnet import __version__, cli_model, cli_train
from glassnet.cli_output import progress as _progress
from glassnet.errors import ConfigError, GlassnetError

EXAMPLES = """examples:
  glassnet run                      the seed experiment (the tutorial, reproduced)
  glassnet run --seed 3 --out runs/seed3
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
    add_sweep_parser(commands)
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
        final_task = progress.add_task("final training", total=preset.train.epochs, start=False)

        def on_epoch(epoch: int, epochs: int) -> None:
            if epoch == 1:
                progress.start_task(final_task)
            progress.update(final_task, completed=epoch)

        result = run_experiment(
            preset,
            seed=args.seed,
            n_jobs=args.jobs,
            on_trial=lambda _: progress.advance(sweep_task),
            on_epoch=on_epoch,
        )
    outputs = write_run(result, out)
    if args.json:
        import json

        print(json.dumps({
            "run_dir": str(out), "preset": preset.name, "seed": args.seed,
            "best_params": result.best_params,
            "validation_accuracy": result.validation_accuracy,
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
    return (
        f"chosen: {params or 'the preset settings'}\n"
        f"final model: validation accuracy [bold]{result.validation_accuracy:.4f}[/], "
        f"test accuracy [bold]{result.test_accuracy:.4f}[/]  ({result.seconds:.1f} s)\n"
        f"written to {folder}/: report.html, metrics.json, model.npz, predictions.npz, figures"
    )


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


SWEEP_EXAMPLES = """examples:
  glassnet sweep --preset seed --seeds 0,1              the preset's l2 grid x 2 seeds
  glassnet sweep --set epochs=200 --grid l2="logspace(-2,2,10)" --grid lr=0.1,0.2
  glassnet sweep --grid l2="loguniform(0.01,10)" --random 20 --seeds 0-2
  glassnet sweep sweep.toml --cluster local --workers 4  on a local Dask cluster
  glassnet sweep sweep.toml --scheduler tcp://10.0.0.5:8786
"""


def add_sweep_parser(commands) -> None:
    sweep = commands.add_parser(
        "sweep",
        help="run a grid or random search over training settings x seeds",
        description=(
            "Train every configuration of a grid (or random search) under each seed, on all\n"
            "local cores or on Dask workers; write trials.jsonl (one record per trial, as\n"
            "each finishes), summary.md and sweep.png. --grid and a file's [sweep] table\n"
            "replace the base preset's own sweep."
        ),
        epilog=SWEEP_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sweep.add_argument("file", nargs="?", type=Path, help="sweep TOML file (README: Sweeps)")
    sweep.add_argument("--preset", help="base preset name or file (default: seed, or the file's)")
    sweep.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                       help="change a training setting, e.g. --set epochs=200")
    sweep.add_argument("--grid", action="append", default=[], metavar="KEY=VALUES",
                       help="sweep a setting: l2=0.1,1,10 | l2='logspace(-2,2,10)' | "
                            "lr='loguniform(0.01,1)' (random search)")
    sweep.add_argument("--seeds", help="seeds: 0,1,2 or 0-4 (default: 0)")
    sweep.add_argument("--random", type=int, metavar="N", help="random search: N configurations")
    sweep.add_argument("--search-seed", type=int, help="seed of the random search's draws")
    sweep.add_argument("--out", type=Path, help="sweep folder (default: runs/sweep-<timestamp>)")
    sweep.add_argument("--jobs", type=int, default=-1, help="local processes (-1: all cores)")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="run the trials on the Dask cluster of this scheduler")
    where.add_argument("--cluster", choices=["local"],
                       help="start a dask.distributed LocalCluster and run the trials there")
    sweep.add_argument("--workers", type=int, help="LocalCluster worker processes (default: cores)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar or table")
    sweep.set_defaults(handler=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from rich.console import Console

    from glassnet.sweep_plan import plan_from_flags
    from glassnet.sweep_run import run_sweep, summary_markdown

    plan = plan_from_flags(
        args.file, base=args.preset, settings=args.settings, grid=args.grid, seeds=args.seeds,
        n_random=args.random, search_seed=args.search_seed,
    )
    if args.workers is not None and args.cluster is None:
        raise ConfigError("--workers sets the size of --cluster local")
    distributed = args.scheduler is not None or args.cluster is not None
    if distributed:
        from glassnet.sweep_dask import dask_client, require_distributed

        require_distributed()  # before any work: says how to install Dask if it is missing
        where = dask_client(args.scheduler, local_workers=args.workers)
    else:
        where = nullcontext(None)
    out = args.out or Path("runs") / datetime.now().strftime("sweep-%Y%m%d-%H%M%S")
    console = Console(stderr=True, quiet=args.quiet)
    n_trials = len(plan.settings()) * len(plan.seeds)
    with where as client, _progress(console) as progress:
        task = progress.add_task(f"sweep ({n_trials} trainings)", total=n_trials)
        result = run_sweep(plan, out=out, n_jobs=args.jobs, client=client,
                           on_record=lambda _: progress.advance(task))
    if not args.quiet:
        Console().print(summary_markdown(result), markup=False)
        Console().print(f"{len(result.records)} trials on {result.where} in "
                        f"{result.seconds:.1f} s; written to {out}/: trials.jsonl, "
                        "summary.md, sweep.png", markup=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
