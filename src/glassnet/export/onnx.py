"""ONNX export: a trained model as one graph onnxruntime can run, preprocessing included.

The graph takes ``input`` of shape (n_samples, n_features) in the model's dtype (float32 or
float64; ``dtype=`` chooses another), raw features as ``Model.predict`` takes them. A
classifier returns ``probabilities`` (n_samples, n_classes) and ``label`` (n_samples,),
holding the model's class values (ints or strings); a regressor returns ``values``
(n_samples, n_outputs), in the target's units. A model trained on a table (``model.table``)
takes one (n_samples, 1) input per raw column instead, its preprocessing in the graph
(``glassnet.export.onnx_table``).

Each layer type maps to ONNX nodes through one small function in ``LAYERS`` (keyed by the
layer's class name), each preprocessing step through one in ``PREPROCESSING``; an emitter
gets the layer, the ``Graph`` and the name of its input tensor, and returns the name of its
output tensor. The model is read by its attributes (``networks``, ``scaler``, ``classes``,
``task``, ``dtype``, ``info``), so this module never imports ``glassnet.models``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from glassnet._version import __version__
from glassnet.atomic import write_atomic
from glassnet.errors import ExportError
from glassnet.export.onnx_table import input_layout, table_inputs

# Opset 17 (ONNX 1.12, 2022) holds every operator used here and runs on onnxruntime >= 1.12,
# onnxruntime-web and mobile; the IR version is pinned to the one that goes with it, since
# the onnx package otherwise stamps its newest, which older runtimes refuse to load.
OPSET = 17
ML_OPSET = 3
IR_VERSION = 8
INSTALL_HINT = "pip install 'glassnet[onnx]' (or: pip install onnx onnxruntime)"


def require_onnx() -> Any:
    """The ``onnx`` module, or an ExportError that says how to install it."""
    try:
        import onnx
    except ImportError:
        raise ExportError(f"ONNX export needs the onnx package: {INSTALL_HINT}") from None
    return onnx


class Graph:
    """Nodes and constants of one graph being built, named under the current ``scope``.

    Emitters call only ``node`` and ``constant``, so they stay a few lines each and never
    touch the onnx package; ``build`` turns the whole into a ``ModelProto``.
    """

    def __init__(self, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)
        self.scope = ""
        self.nodes: list[tuple[str, list[str], str, str, dict[str, Any]]] = []
        self.constants: dict[str, np.ndarray] = {}
        self.domains = {"": OPSET}
        self.names: set[str] = {"input"}

    def fresh(self, hint: str) -> str:
        """A tensor name not used yet: ``scope + hint``, numbered if taken."""
        name, number = f"{self.scope}{hint}", 1
        while name in self.names:
            number += 1
            name = f"{self.scope}{hint}_{number}"
        self.names.add(name)
        return name

    def constant(self, value: Any, hint: str = "constant", *, dtype: Any = None) -> str:
        """Store ``value`` as an initializer; float arrays take the graph's dtype unless
        ``dtype`` says otherwise. Returns its name."""
        array = np.asarray(value)
        if dtype is not None:
            array = array.astype(dtype)
        elif array.dtype.kind == "f":
            array = array.astype(self.dtype)
        name = self.fresh(hint)
        self.constants[name] = array
        return name

    def node(
        self,
        op: str,
        inputs: list[str],
        hint: str | None = None,
        *,
        output: str | None = None,
        domain: str = "",
        **attributes: Any,
    ) -> str:
        """Add one ``op`` node (``domain="ai.onnx.ml"`` for the ML operators) and return the
        name of its output: ``output`` exactly, or a fresh name from ``hint``."""
        if domain == "ai.onnx.ml":
            self.domains[domain] = ML_OPSET
        if output is None:
            output = self.fresh(hint or op.lower())
        else:
            self.names.add(output)
        self.nodes.append((op, list(inputs), output, domain, attributes))
        return output

    def build(self, inputs: list[Any], outputs: list[Any], doc: str) -> Any:
        """The checked ``ModelProto`` of these nodes, with graph ``inputs``/``outputs``
        (``onnx.ValueInfoProto``)."""
        onnx = require_onnx()
        helper = onnx.helper
        nodes = [
            helper.make_node(op, node_inputs, [output], name=output, domain=domain, **attributes)
            for op, node_inputs, output, domain, attributes in self.nodes
        ]
        initializers = [_tensor(onnx, name, value) for name, value in self.constants.items()]
        graph = helper.make_graph(nodes, "glassnet", inputs, outputs, initializer=initializers)
        opsets = [helper.make_opsetid(domain, version) for domain, version in self.domains.items()]
        model = helper.make_model(
            graph,
            opset_imports=opsets,
            producer_name="glassnet",
            producer_version=__version__,
            doc_string=doc,
        )
        model.ir_version = IR_VERSION
        try:
            onnx.checker.check_model(model, full_check=True)
        except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
            raise ExportError(f"the exported graph fails onnx.checker: {exc}") from None
        return model


def _tensor(onnx: Any, name: str, value: np.ndarray) -> Any:
    if value.dtype.kind in "UO":  # ONNX strings are bytes; numpy_helper wants them encoded
        data = [str(item).encode("utf-8") for item in value.ravel()]
        return onnx.helper.make_tensor(name, onnx.TensorProto.STRING, value.shape, data)
    return onnx.numpy_helper.from_array(value, name)


Emitter = Callable[[Any, Graph, str], str]


def linear(layer: Any, graph: Graph, x: str) -> str:
    """``x @ W + b`` as one Gemm (W is stored (in, out), so no transpose)."""
    weight = graph.constant(layer.weight.value, "weight")
    bias = graph.constant(layer.bias.value, "bias")
    return graph.node("Gemm", [x, weight, bias], "linear")


def passthrough(layer: Any, graph: Graph, x: str) -> str:
    """Identity and Dropout: nothing at inference (Dropout is off once a model predicts)."""
    return x


def leaky_relu(layer: Any, graph: Graph, x: str) -> str:
    return graph.node("LeakyRelu", [x], "leaky_relu", alpha=layer.negative_slope)


def elementwise(op: str) -> Emitter:
    """An emitter for a parameter-free elementwise layer that is one ONNX operator."""
    return lambda layer, graph, x: graph.node(op, [x], op.lower())


def scaler(step: Any, graph: Graph, x: str) -> str:
    """``(x - offset) / scale``, the order ``Scaler.transform`` computes it in."""
    shifted = graph.node("Sub", [x, graph.constant(step.offset, "offset")], "shifted")
    return graph.node("Div", [shifted, graph.constant(step.scale, "scale")], "scaled")


def reshape(layer: Any, graph: Graph, x: str) -> str:
    """Flat rows -> ``(n, *shape)`` images; -1 keeps the batch dimension free."""
    shape = graph.constant([-1, *layer.shape], "shape", dtype=np.int64)
    return graph.node("Reshape", [x, shape], "reshaped")


def flatten(layer: Any, graph: Graph, x: str) -> str:
    """``(n, d1, d2, ...) -> (n, d1 * d2 * ...)`` in C order, as ``Flatten.forward``."""
    return graph.node("Flatten", [x], "flat", axis=1)


def conv2d(layer: Any, graph: Graph, x: str) -> str:
    """Conv2D is ONNX Conv as it is: cross-correlation, W (out, in, k, k), zero padding."""
    weight = graph.constant(layer.weight.value, "weight")
    bias = graph.constant(layer.bias.value, "bias")
    k, s, p = layer.kernel_size, layer.stride, layer.padding
    return graph.node(
        "Conv",
        [x, weight, bias],
        "conv",
        kernel_shape=[k, k],
        strides=[s, s],
        pads=[p, p, p, p],
    )


def pool(op: str) -> Emitter:
    """MaxPool / AveragePool without padding; windows past the edge are dropped, which is
    ONNX's default (ceil_mode=0)."""

    def emit(layer: Any, graph: Graph, x: str) -> str:
        k, s = layer.kernel_size, layer.stride
        return graph.node(op, [x], op.lower(), kernel_shape=[k, k], strides=[s, s])

    return emit


def global_avg_pool(layer: Any, graph: Graph, x: str) -> str:
    """GlobalAveragePool keeps (n, c, 1, 1); glassnet's layer gives (n, c)."""
    pooled = graph.node("GlobalAveragePool", [x], "global_avg_pool")
    return graph.node("Flatten", [pooled], "pooled", axis=1)


def batch_norm(layer: Any, graph: Graph, x: str) -> str:
    """BatchNormalization in inference mode: the running statistics, dense or images alike
    (ONNX normalizes axis 1 of (n, c) and of (n, c, h, w))."""
    names = [
        graph.constant(value, hint)
        for hint, value in (
            ("scale", layer.weight.value),
            ("bias", layer.bias.value),
            ("running_mean", layer.running_mean),
            ("running_var", layer.running_var),
        )
    ]
    return graph.node("BatchNormalization", [x, *names], "batch_norm", epsilon=layer.eps)


def periodic_embedding(layer: Any, graph: Graph, x: str) -> str:
    """PLR embeddings (glassnet.nn.embeddings): the first columns as sines and cosines of
    learned frequencies, one small Linear + ReLU per column (a batched MatMul over columns),
    the other columns appended unchanged."""
    m, size, width = layer.n_embedded, layer.size, layer.in_features

    def columns(start: int, stop: int, hint: str) -> str:
        bounds = [graph.constant([v], hint, dtype=np.int64) for v in (start, stop, 1)]
        return graph.node(
            "Slice",
            [x, bounds[0], bounds[1], graph.constant([1], "axis", dtype=np.int64), bounds[2]],
            hint,
        )

    numbers = graph.node(
        "Reshape", [columns(0, m, "embedded"), graph.constant([-1, m, 1], "shape", dtype=np.int64)]
    )
    frequencies = graph.constant(2.0 * np.pi * layer.frequencies.value[None], "frequencies")
    angle = graph.node("Mul", [numbers, frequencies], "angle")  # (n, m, k)
    periodic = graph.node(
        "Concat", [graph.node("Sin", [angle]), graph.node("Cos", [angle])], "periodic", axis=2
    )
    by_column = graph.node("Transpose", [periodic], "by_column", perm=[1, 0, 2])  # (m, n, 2k)
    hidden = graph.node("MatMul", [by_column, graph.constant(layer.weight.value, "weight")])
    hidden = graph.node("Add", [hidden, graph.constant(layer.bias.value[:, None, :], "bias")])
    active = graph.node("Transpose", [graph.node("Relu", [hidden])], "by_row", perm=[1, 0, 2])
    flat = graph.node("Reshape", [active, graph.constant([-1, m * size], "flat", dtype=np.int64)])
    if m == width:
        return flat
    return graph.node("Concat", [flat, columns(m, width, "passed")], "embedded_and_rest", axis=1)


# Layer class name -> emitter. A new layer type needs one entry here (and nothing else).
LAYERS: dict[str, Emitter] = {
    "Linear": linear,
    "Sigmoid": elementwise("Sigmoid"),
    "Tanh": elementwise("Tanh"),
    "ReLU": elementwise("Relu"),
    "LeakyReLU": leaky_relu,
    "Identity": passthrough,
    "Dropout": passthrough,
    "Reshape": reshape,
    "Flatten": flatten,
    "Conv2D": conv2d,
    "MaxPool2D": pool("MaxPool"),
    "AvgPool2D": pool("AveragePool"),
    "GlobalAvgPool2D": global_avg_pool,
    "BatchNorm": batch_norm,
    "PeriodicEmbedding": periodic_embedding,
}

# Preprocessing step class name -> emitter, applied in ``preprocessing_steps`` order.
PREPROCESSING: dict[str, Emitter] = {"Scaler": scaler}


def preprocessing_steps(model: Any) -> list[Any]:
    """What the model does to raw inputs before its networks, in order."""
    return [step for step in (getattr(model, "scaler", None),) if step is not None]


def emitter(table: dict[str, Emitter], thing: Any, where: str) -> Emitter:
    """The emitter for ``thing``'s type, or an ExportError naming it and saying what exports."""
    kind = type(thing).__name__
    if kind not in table:
        raise ExportError(
            f"{where} is a {kind}, which has no ONNX mapping yet (glassnet exports "
            f"{', '.join(sorted(table))}); nothing was written"
        )
    return table[kind]


def to_onnx(model: Any, *, dtype: str | None = None) -> Any:
    """The model as a checked ``onnx.ModelProto`` (see the module docstring for its inputs
    and outputs); ensembles average their members' probabilities, as ``predict_proba`` does.

    ``dtype`` (``"float32"`` or ``"float64"``, default the model's) is the graph's: a float64
    model exported as float32 runs where doubles do not (onnxruntime-web, many accelerators),
    its outputs rounded to float32.
    """
    onnx = require_onnx()
    if dtype not in (None, "float32", "float64"):
        raise ExportError(f"export dtype must be float32 or float64, got {dtype!r}")
    if model.task not in ("classification", "regression"):
        raise ExportError(
            f"unknown task {model.task!r}; glassnet exports classification or regression"
        )
    graph = Graph(dtype or model.dtype)
    float_type = onnx.helper.np_dtype_to_tensor_dtype(graph.dtype)
    table = getattr(model, "table", None)
    if table is None:
        features = "input"
        inputs = [
            onnx.helper.make_tensor_value_info("input", float_type, [BATCH, model.n_features])
        ]
    else:
        graph.names.discard("input")
        inputs, features = table_inputs(table, graph, onnx, BATCH)
    for index, step in enumerate(preprocessing_steps(model)):
        graph.scope = f"preprocess{index}/"
        emit = emitter(PREPROCESSING, step, f"preprocessing step {index}")
        features = emit(step, graph, features)
    members = [
        _member(graph, k, network, features, model.task) for k, network in enumerate(model.networks)
    ]
    graph.scope = ""
    _check_runnable(graph, dtype)
    mean = members[0]
    if len(members) > 1:  # the mean, summed in one node as predict_proba sums in one loop
        total = graph.node("Sum", members, "sum_of_members")
        mean = graph.node("Div", [total, graph.constant(float(len(members)), "n_members")])
    target_scaler = getattr(model, "target_scaler", None)
    if target_scaler is not None:  # standardised outputs back to the target's units
        scaled = graph.node("Mul", [mean, graph.constant(target_scaler.scale, "target_scale")])
        mean = graph.node("Add", [scaled, graph.constant(target_scaler.offset, "target_offset")])
    outputs = _outputs(onnx, graph, model, mean)
    proto = graph.build(inputs, outputs, doc=_describe(model))
    _metadata(onnx, proto, model)
    return proto


# Operators onnxruntime's CPU provider has no float64 kernel for (measured, onnxruntime 1.32).
FLOAT32_ONLY = {"Conv", "AveragePool", "GlobalAveragePool"}


def _check_runnable(graph: Graph, dtype: str | None) -> None:
    """A float64 graph with float32-only operators would load nowhere common: unless float64
    was asked for explicitly, refuse it and say how to export instead."""
    ops = sorted({node[0] for node in graph.nodes} & FLOAT32_ONLY)
    if ops and graph.dtype == np.float64 and dtype is None:
        raise ExportError(
            f"this float64 model uses {', '.join(ops)}, which onnxruntime runs in float32 "
            "only: export with dtype='float32' (glassnet export --dtype float32), or "
            "dtype='float64' for a runtime that has those kernels"
        )


# The name of the batch dimension: any number of rows.
BATCH = "n_samples"


def _member(graph: Graph, k: int, network: Any, features: str, task: str) -> str:
    """Network ``k``'s layers on ``features``, then softmax for a classifier."""
    out = features
    for index, layer in enumerate(network.layers):
        graph.scope = f"net{k}/{index}/"
        out = emitter(LAYERS, layer, f"layer {index} of network {k}")(layer, graph, out)
    if task == "classification":
        graph.scope = f"net{k}/"
        out = graph.node("Softmax", [out], "probabilities", axis=1)
    return out


def _outputs(onnx: Any, graph: Graph, model: Any, mean: str) -> list[Any]:
    """The graph's named outputs from the members' mean: ``label`` and ``probabilities``,
    or ``values``; labels are the model's class values (ArgMax, then Gather from them)."""
    helper = onnx.helper
    float_type = helper.np_dtype_to_tensor_dtype(graph.dtype)
    shape = [BATCH, model.network.output_features(model.n_features)]
    if model.task == "regression":
        graph.node("Identity", [mean], output="values")
        return [helper.make_tensor_value_info("values", float_type, shape)]
    graph.node("Identity", [mean], output="probabilities")
    # ArgMax keeps the first of tied maxima, as numpy's argmax does.
    index = graph.node("ArgMax", [mean], "class_index", axis=1, keepdims=0)
    if model.classes is None:
        graph.node("Identity", [index], output="label")
        label_type = onnx.TensorProto.INT64
    else:
        classes = np.asarray(model.classes)
        table = graph.constant(classes, "classes", dtype=classes.dtype)
        graph.node("Gather", [table, index], output="label", axis=0)
        text = classes.dtype.kind in "UO"
        label_type = (
            onnx.TensorProto.STRING if text else helper.np_dtype_to_tensor_dtype(classes.dtype)
        )
    return [
        helper.make_tensor_value_info("label", label_type, [BATCH]),
        helper.make_tensor_value_info("probabilities", float_type, shape),
    ]


def _describe(model: Any) -> str:
    members = len(model.networks)
    kind = f"ensemble of {members} networks" if members > 1 else "network"
    return f"glassnet {model.task} {kind}; inputs are raw features, preprocessing is inside"


def _metadata(onnx: Any, proto: Any, model: Any) -> None:
    """What a user needs to build the input row: feature order, target name, task."""
    info = getattr(model, "info", None) or {}
    props = {"task": model.task, "glassnet_version": __version__}
    if info.get("feature_names"):
        props["feature_names"] = json.dumps(list(info["feature_names"]))
    if info.get("target"):
        props["target"] = str(info["target"])
    table = getattr(model, "table", None)
    if table is not None:  # one input per column: their names, types and roles
        props["inputs"] = json.dumps(input_layout(table))
    onnx.helper.set_model_props(proto, props)


def save_onnx(model: Any, path: str | os.PathLike[str], *, dtype: str | None = None) -> Path:
    """Export ``model`` to ``path``: the graph is built and checked first, then written
    atomically, so a model that cannot be exported leaves no file (and an old one intact)."""
    path = Path(path)
    data = to_onnx(model, dtype=dtype).SerializeToString()
    write_atomic(path, lambda handle: handle.write(data))
    return path
