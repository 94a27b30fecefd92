"""``glassnet sweep``: a grid or random search x seeds, on local cores or on Dask workers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from glassnet import workflow
from glassnet.cli.output import Output, add_output_flags, default_run_dir
from glassnet.cli.train import (
    add_config_flag,
    add_data_flags,
    add_own_split_flags,
    data_keywords,
)
from glassnet.errors import ConfigError
from glassnet.text import for_console

SWEEP_EXAMPLES = """examples:
  glassnet sweep --preset seed --seeds 0,1              the preset's l2 grid x 2 seeds
  glassnet sweep --set epochs=200 --grid l2="logspace(-2,2,10)" --grid lr=0.1,0.2
  glassnet sweep --grid l2="loguniform(0.01,10)" --random 20 --seeds 0-2
  glassnet sweep --config penguins.toml --seeds 0-2     the file train and run read too
  glassnet sweep sweep.toml --cluster local --workers 4  on a local Dask cluster
  glassnet sweep sweep.toml --scheduler tcp://10.0.0.5:8786
"""


def add_sweep_parser(commands: Any) -> None:
    """Add ``glassnet sweep`` to the subcommands ``commands``."""
    sweep = commands.add_parser(
        "sweep",
        help="run a grid or random search over training settings x seeds",
        description=(
            "Train every configuration of a grid (or random search) under each seed, on all\n"
            "local cores or on Dask workers; write trials.jsonl (one record per trial, as\n"
            "each finishes), summary.md and sweep.png. --grid and a file's [sweep] table\n"
            "replace the base preset's own sweep. Run again with the same --out to finish a\n"
            "sweep that was stopped: only its missing trials run."
        ),
        epilog=SWEEP_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sweep.add_argument(
        "file", nargs="?", type=Path, help="config file (the same as --config FILE.toml)"
    )
    add_config_flag(sweep)
    sweep.add_argument(
        "--preset",
        help="base preset name or file (default: the file's base; seed on the digits)",
    )
    sweep.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a training setting, e.g. --set epochs=200",
    )
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=VALUES",
        help="sweep a setting: l2=0.1,1,10 | l2='logspace(-2,2,10)' | "
        "lr='loguniform(0.01,1)' (random search)",
    )
    sweep.add_argument("--seeds", help="seeds: 0,1,2 or 0-4 (default: 0)")
    sweep.add_argument("--random", type=int, metavar="N", help="random search: N configurations")
    sweep.add_argument("--search-seed", type=int, help="seed of the random search's draws")
    sweep.add_argument("--out", type=Path, help="sweep folder (default: runs/sweep-<timestamp>)")
    sweep.add_argument("--jobs", type=int, default=-1, help="local processes (-1: all cores)")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run the trials on the Dask cluster of this scheduler",
    )
    where.add_argument(
        "--cluster",
        choices=["local"],
        help="start a dask.distributed LocalCluster and run the trials there",
    )
    sweep.add_argument("--workers", type=int, help="LocalCluster worker processes (default: cores)")

    add_data_flags(
        sweep,
        target_help="the label column of --data (a table) or its labels array (NPZ)",
        columns=True,
    )
    add_own_split_flags(sweep.add_argument_group("your own split"), tested=False)
    add_output_flags(sweep)
    sweep.set_defaults(handler=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    """``glassnet sweep``: run the plan's trials locally or on Dask; write records and summary."""
    out = Output(args)
    if args.file is not None and args.config is not None:
        raise ConfigError("give the config file once: as FILE or as --config FILE")
    if args.workers is not None and args.cluster is None:
        raise ConfigError("--workers sets the size of --cluster local")
    folder = args.out or default_run_dir("sweep-")
    keywords = data_keywords(args)
    try:
        result = workflow.sweep(
            args.file or args.config,
            preset=args.preset,
            settings=args.settings,
            grid=args.grid,
            seeds=args.seeds,
            n_random=args.random,
            search_seed=args.search_seed,
            out=folder,
            n_jobs=args.jobs,
            scheduler=args.scheduler,
            cluster=args.cluster,
            workers=args.workers,
            progress=out.display,
            validation_data=args.validation_data,
            test_data=args.test_data,
            **keywords,
        )
    except KeyboardInterrupt:
        raise KeyboardInterrupt(
            f"finished trials are recorded in {folder}/trials.jsonl; run the same command "
            f"with --out {folder} to run only the missing ones"
        ) from None
    out.result(
        {
            "sweep_dir": str(folder),
            "trials": len(result.records),
            "where": result.where,
            "seconds": result.seconds,
            "summary": result.summary,
            "records": result.records,
        }
    )
    done = f"{len(result.records)} trials on {result.where} in {result.seconds:.1f} s"
    if out.quiet:
        out.headline(f"{done}; sweep folder {for_console(folder)}")
        return 0
    out.console.print(result.markdown(), markup=False)
    out.console.print(
        f"{done}; written to {folder}/: trials.jsonl, summary.md, sweep.png", markup=False
    )
    return 0
