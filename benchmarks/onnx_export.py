"""Exported ONNX files against their glassnet models: size against parameter count, the
largest probability difference and label agreement in onnxruntime, and prediction time.

    python benchmarks/onnx_export.py runs/seed0/model.npz runs/best0/model.npz
    python benchmarks/onnx_export.py runs/flowers/model.npz --data flowers.csv

Rows: the seed split's 594 test digits (``--data digits``, the default) or every row of a
CSV (the columns the model remembers). Times are medians of ``--repeats`` calls on all rows;
glassnet as installed and with one BLAS thread, onnxruntime with one intra-op thread.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime
from machine import machine_info
from threadpoolctl import threadpool_limits

from glassnet.data.datasets import load_digits, seed_split
from glassnet.data.sources import load_dataset
from glassnet.export.onnx_table import column_feeds
from glassnet.models import checkpoint


def rows_for(model, data: str):
    """Raw features (n, n_features), or the table's frame for a model trained on a table."""
    if model.table is not None:
        from glassnet.data.tables import read_table

        return read_table(data).frame
    if data == "digits":
        return seed_split(load_digits()).test.x
    features = model.info.get("feature_names")
    return load_dataset(data, None, features=features, need_target=False).x


def median_seconds(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def one_thread(predict, x):
    """``predict(x)`` with one BLAS thread (BENCHMARKS.md: 2 threads are slower on small GEMMs)."""

    def call():
        with threadpool_limits(limits=1, user_api="blas"):
            predict(x)

    return call


def measure(path: Path, data: str, repeats: int) -> dict[str, object]:
    model = checkpoint.load(path)
    x = rows_for(model, data)
    with tempfile.TemporaryDirectory() as folder:
        onnx_path = model.to_onnx(Path(folder) / "model.onnx")
        size = onnx_path.stat().st_size
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(onnx_path), options)
    if model.table is not None:  # one input per raw column; glassnet reads the frame
        feed = column_feeds(model.table, x)
        x = model.features(x)
    else:
        feed = {"input": x.astype(model.dtype)}
    names = ["label", "probabilities"] if model.task == "classification" else ["values"]
    outputs = session.run(names, feed)
    expected = model.predict_proba(x) if model.task == "classification" else model.outputs(x)
    same = outputs[0].tolist() == model.predict(x).tolist() if len(names) == 2 else None
    parameters = sum(p.value.size for net in model.networks for p in net.parameters())
    return {
        "model": str(path),
        "members": len(model.networks),
        "dtype": str(model.dtype),
        "parameters": int(parameters),
        "npz_bytes": path.stat().st_size,
        "onnx_bytes": size,
        "bytes_per_parameter": size / parameters,
        "rows": len(x),
        "max_difference": float(np.max(np.abs(outputs[-1] - expected))),
        "labels_identical": same,
        "glassnet_ms": 1e3 * median_seconds(lambda: model.predict_proba(x), repeats),
        "glassnet_1_thread_ms": 1e3 * median_seconds(one_thread(model.predict_proba, x), repeats),
        "onnxruntime_ms": 1e3 * median_seconds(lambda: session.run(names, feed), repeats),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, help="model.npz files")
    parser.add_argument("--data", default="digits", help="'digits' (seed test split) or a CSV")
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args(argv)
    print(machine_info(), f"onnxruntime {onnxruntime.__version__}")
    print(
        "| model | members | dtype | parameters | .npz bytes | .onnx bytes | bytes/param | "
        "rows | max prob. diff | labels identical | glassnet ms | 1 thread | onnxruntime ms |"
    )
    print("| --- " * 13 + "|")
    for path in args.models:
        r = measure(path, args.data, args.repeats)
        print(
            f"| {r['model']} | {r['members']} | {r['dtype']} | {r['parameters']:,} | "
            f"{r['npz_bytes']:,} | {r['onnx_bytes']:,} | {r['bytes_per_parameter']:.2f} | "
            f"{r['rows']} | {r['max_difference']:.2e} | {r['labels_identical']} | "
            f"{r['glassnet_ms']:.2f} | {r['glassnet_1_thread_ms']:.2f} | "
            f"{r['onnxruntime_ms']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
