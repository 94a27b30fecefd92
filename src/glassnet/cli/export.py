"""``glassnet export``: a model file as an ONNX file that onnxruntime (servers, browsers,
mobile, C++) runs without glassnet."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from glassnet.cli.output import Output, add_output_flags, key_value_table
from glassnet.errors import ConfigError, DataError

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
    from glassnet.export.onnx import OPSET, save_onnx
    from glassnet.export.onnx_table import input_layout
    from glassnet.export.verify import save_checked
    from glassnet.models import checkpoint

    out = Output(args)
    model = checkpoint.load(args.model)
    path = args.out if args.out is not None else args.model.with_suffix(".onnx")
    if path.resolve() == args.model.resolve():
        raise ConfigError(f"--out {path} is the model file itself; choose another name")
    comparison = None
    if args.check is None:
        with out.status(f"exporting {args.model} ..."):
            save_onnx(model, path, dtype=args.dtype)
    else:
        x = check_rows(model, args.check)
        with out.status(f"exporting {args.model}, checking it on {args.check} ..."):
            comparison = save_checked(model, path, x, dtype=args.dtype)
    parameters = sum(
        int(param.value.size) for network in model.networks for param in network.parameters()
    )
    outputs = ["label", "probabilities"] if model.task == "classification" else ["values"]
    if model.table is None:
        inputs: Any = {"input": ["n_samples", model.n_features]}
        described = f"input (n, {model.n_features}), {args.dtype or model.dtype}"
    else:  # one (n, 1) input per raw column
        inputs = {item["name"]: item["type"] for item in input_layout(model.table)}
        described = f"{len(inputs)} columns, each (n, 1): " + ", ".join(
            f"{name} ({kind})" for name, kind in inputs.items()
        )
    result = {
        "model": str(args.model),
        "out": str(path),
        "format": args.format,
        "opset": OPSET,
        "bytes": path.stat().st_size,
        "parameters": parameters,
        "dtype": args.dtype or str(model.dtype),
        "members": len(model.networks),
        "inputs": inputs,
        "outputs": outputs,
        "check": None if comparison is None else {"data": args.check, **vars(comparison)},
    }
    out.result(result)
    rows = [
        ("wrote", result["out"]),
        ("size", f"{result['bytes']:,} bytes for {parameters:,} parameters ({result['dtype']})"),
        ("opset", OPSET),
        ("inputs", described),
        ("outputs", ", ".join(outputs)),
    ]
    if comparison is not None:
        rows.append(
            (
                "checked",
                f"{comparison.rows} rows of {args.check} in onnxruntime: largest difference "
                f"{comparison.max_difference:.1e}, labels identical",
            )
        )
    out.print(key_value_table("glassnet export", rows))
    return 0


def check_rows(model: Any, source: str) -> Any:
    """The feature rows of ``source`` (CSV columns matched by the names the model remembers;
    its label column, if any, ignored)."""
    from glassnet.data.sources import load_dataset

    if model.table is not None:  # a table model's graph takes the raw columns
        from glassnet.data.tables import read_table

        frame = read_table(source).frame
        absent = [name for name in model.table.input_columns if name not in frame.columns]
        if absent:
            raise DataError(
                f"--check {source} lacks the column(s) {absent} the model was trained on; "
                "add them (cells may be empty)"
            )
        return frame
    features = model.info.get("feature_names") if source.lower().endswith(".csv") else None
    data = load_dataset(source, model.info.get("target"), features=features, need_target=False)
    return data.x
