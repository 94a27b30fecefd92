"""``glassnet export``: a model file as an ONNX file that onnxruntime (servers, browsers,
mobile, C++) runs without glassnet."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from glassnet import workflow
from glassnet.cli.output import Output, add_output_flags, key_value_table

EXPORT_EXAMPLES = """examples:
  glassnet export runs/iris/model.npz --format onnx --out iris.onnx
  glassnet export runs/iris/model.npz             (writes runs/iris/model.onnx)
  glassnet export runs/iris/model.npz --dtype float32 --out iris32.onnx
  glassnet export runs/iris/model.npz --check iris.csv   (verified in onnxruntime first)

the graph takes `input` (n_samples, n_features: raw features, in --dtype, default the model's)
and returns `label` and `probabilities` (classifiers) or `values` (regressors); the scaling is
inside it. A model trained on a table takes one (n, 1) input per raw column instead: float64
for numeric ones (NaN = empty), strings for categorical ones ("" = empty), with imputation,
scaling and one-hot encoding inside the graph.
needs the onnx extra: pip install 'glassnet[onnx]'"""


def add_export_parser(commands: Any) -> None:
    """Add ``export`` to the subcommands ``commands``."""
    export = commands.add_parser(
        "export",
        help="write a model file as ONNX, to run it in onnxruntime without glassnet",
        description="Export a trained model (its preprocessing, every ensemble member and its\n"
        "class labels) as one ONNX graph, checked with onnx.checker before it is written.",
        epilog=EXPORT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument("model", type=Path, metavar="MODEL", help="a model.npz file")
    export.add_argument(
        "--format", choices=["onnx"], default="onnx", help="the file format (default: onnx)"
    )
    export.add_argument(
        "--out",
        type=Path,
        metavar="FILE.onnx",
        help="where to write it (default: MODEL with the suffix .onnx)",
    )
    export.add_argument(
        "--dtype",
        choices=["float32", "float64"],
        help="the graph's floating-point type (default: the model's; float32 runs in "
        "onnxruntime-web and on most accelerators)",
    )
    export.add_argument(
        "--check",
        metavar="DATA",
        help="FILE.csv, FILE.npz or 'digits': run the graph in onnxruntime on these rows and "
        "write it only if it matches glassnet (probabilities within 1e-5, same labels)",
    )
    add_output_flags(export)
    export.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """``glassnet export``: load the model file, build and check the graph, write it."""
    out = Output(args)
    result = workflow.export(
        args.model, args.out, dtype=args.dtype, check=args.check, status=out.status
    )
    result = {**result, "format": args.format}
    out.result({key: value for key, value in result.items() if key != "n_features"})
    if out.quiet:
        out.headline(f"wrote {result['out']}")
        return 0
    if "input" in result["inputs"]:
        described = f"input (n, {result['n_features']}), {result['dtype']}"
    else:  # one (n, 1) input per raw column
        described = f"{len(result['inputs'])} columns, each (n, 1): " + ", ".join(
            f"{name} ({kind})" for name, kind in result["inputs"].items()
        )
    rows = [
        ("wrote", result["out"]),
        (
            "size",
            f"{result['bytes']:,} bytes for {result['parameters']:,} parameters "
            f"({result['dtype']})",
        ),
        ("opset", result["opset"]),
        ("inputs", described),
        ("outputs", ", ".join(result["outputs"])),
    ]
    check = result["check"]
    if check is not None:
        rows.append(
            (
                "checked",
                f"{check['rows']} rows of {args.check} in onnxruntime: largest difference "
                f"{check['max_difference']:.1e}, labels identical",
            )
        )
    out.print(key_value_table("glassnet export", rows))
    return 0
