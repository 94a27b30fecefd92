"""A model file described for people: its layers with output shapes and parameter counts,
what it was trained on, and what its table preprocessing learned, as plain data that
``glassnet summary`` prints and ``--json`` writes."""

from __future__ import annotations

from typing import Any

from glassnet.data.preprocessing import TablePreprocessor
from glassnet.models.model import Model


def model_summary(model: Model) -> dict[str, Any]:
    """Everything ``glassnet summary`` shows, as JSON-ready data."""
    rows = layer_rows(model)
    info = model.info
    return {
        "layers": [{"layer": n, "output_shape": s, "parameters": c} for n, s, c in rows],
        "total_parameters": sum(count for _, _, count in rows),
        "task": model.task,
        "dtype": str(model.dtype),
        "members": len(model.networks),
        "classes": None if model.classes is None else model.classes.tolist(),
        "scaling": None if model.scaler is None else model.scaler.kind,
        "data": info.get("data"),
        "target": info.get("target"),
        "feature_names": info.get("feature_names"),
        "train_config": info.get("train_config"),
        "preprocessing": None if model.table is None else preprocessing_rows(model.table),
    }


def layer_rows(model: Model) -> list[tuple[str, str, int]]:
    """(layer, output shape, parameter count) of the first network, input first."""
    network = model.network
    shape: tuple[int, ...] = (model.n_features,)
    rows = [("input", _shape_text(shape), 0)]
    for index, layer in enumerate(network.layers):
        shape = layer.output_shape(shape)
        config = layer.config()
        name = config.pop("type")
        if name == "Linear":
            name += f" {config['in_features']} -> {config['out_features']}"
        elif name == "Conv2D":
            name += (
                f" {config['in_channels']} -> {config['out_channels']}, {config['kernel_size']}x"
                f"{config['kernel_size']}, stride {config['stride']}, padding {config['padding']}"
            )
        elif name in ("MaxPool2D", "AvgPool2D"):
            name += f" {config['kernel_size']}x{config['kernel_size']}, stride {config['stride']}"
        elif name == "Dropout":
            name += f" p={config['p']}"
        count = sum(int(p.value.size) for p in layer.parameters())
        rows.append((f"{index}: {name}", _shape_text(shape), count))
    return rows


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(n, " + ", ".join(map(str, shape)) + ")"


def preprocessing_rows(table: TablePreprocessor) -> list[dict[str, str]]:
    """One row per training column: its role and what was learned for it, in words."""
    rows = []
    numeric = dict(zip(table.numeric, range(len(table.numeric)), strict=True))
    categories = dict(zip(table.categorical, table.categories, strict=True))
    for name, role in table.roles.items():
        if name in numeric:
            i = numeric[name]
            flag = " (+ missing indicator)" if name in table.indicators else ""
            mean, scale = f"{table.means[i]:.4g}", f"{table.scales[i]:.4g}"
            if role == "numeric":  # glassnet's own tables: median, then standardised
                learned = (
                    f"missing -> median {table.medians[i]:.4g}{flag}; "
                    f"standardised (mean {mean}, std {scale})"
                )
            else:  # an exported pipeline names its imputer's strategy in the role
                learned = f"missing -> {table.medians[i]:.4g}{flag}; then (x - {mean}) / {scale}"
        elif name in categories:
            known = categories[name]
            shown = ", ".join(known[:6]) + (", ..." if len(known) > 6 else "")
            unseen = "rare and unseen -> (other)" if "(other)" in known else "unseen -> all zero"
            learned = f"one-hot over {len(known)} categories: {shown}; {unseen}"
        elif name in table.datetime:
            learned = "expanded into year, month, day, weekday, hour (numeric, as above)"
        else:
            learned = ""
        rows.append({"column": name, "role": role, "learned": learned})
    return rows
