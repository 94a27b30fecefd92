"""Model files: one ``.npz`` of plain numeric arrays plus a JSON header, never pickle.

Layout: ``__glassnet__`` holds UTF-8 JSON bytes (format, version, task, dtype, each
network's layer config, classes, scaler kind, free-form info); ``net<k>.<layer>.<name>``
hold the weights; ``scaler.offset`` / ``scaler.scale`` the preprocessing; ``target.offset`` /
``target.scale`` a regression target's standardisation; ``table.medians`` / ``table.means``
/ ``table.scales`` a table's preprocessing, whose column names and categories are in the
header (``TablePreprocessor.to_dict``). Loading uses
``allow_pickle=False`` and checks every key, shape and dtype against the header.

What loading guarantees (docs/guide/reliability.md): no code in the file ever runs; the
zip directory is checked before any member is read (members stored, not compressed, and
together no larger than the file itself), so loading never needs more memory than the file's
size; every member's CRC, every shape, dtype and header field is checked, so accidental
damage is refused. A deliberate edit can recompute the CRCs: ``digest(path)`` (SHA-256 over
the arrays and header, independent of the zip layout) is what detects it, and
``load(path, expect_digest=HEX)`` refuses any other content.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from glassnet._version import __version__
from glassnet.atomic import write_atomic
from glassnet.data.preprocessing import Scaler, TablePreprocessor
from glassnet.errors import ConfigError, DataError, ModelFileError
from glassnet.models.model import Model
from glassnet.nn.registry import from_config
from glassnet.paths import regular_file

FORMAT = "glassnet-model"
FORMAT_VERSION = 1
HEADER_KEY = "__glassnet__"
# A header or array this large is not a model glassnet wrote; refuse before allocating.
MAX_HEADER_BYTES = 1 << 20


def save(model: Model, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    arrays = model_arrays(model)
    write_atomic(path, lambda handle: np.savez(handle, **arrays))
    return path


def model_digest(model: Model) -> str:
    """The content digest ``save(model, ...)`` gives its file (``digest`` of that file)."""
    return content_digest(model_arrays(model))


def model_arrays(model: Model) -> dict[str, np.ndarray]:
    """Every array of ``model``'s file, the JSON header (``HEADER_KEY``) included."""
    arrays: dict[str, np.ndarray] = {}
    for k, network in enumerate(model.networks):
        for key, value in network.state_dict().items():
            arrays[f"net{k}.{key}"] = value
    if model.scaler is not None:
        arrays["scaler.offset"] = model.scaler.offset
        arrays["scaler.scale"] = model.scaler.scale
    if model.target_scaler is not None:
        arrays["target.offset"] = model.target_scaler.offset
        arrays["target.scale"] = model.target_scaler.scale
    if model.table is not None:
        for key, value in model.table.arrays().items():
            arrays[f"table.{key}"] = value
    classes = model.classes
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "glassnet_version": __version__,
        "task": model.task,
        "dtype": str(model.dtype),
        "networks": [network.config() for network in model.networks],
        "classes": None if classes is None else classes.tolist(),
        "scaler": None if model.scaler is None else model.scaler.kind,
        "info": model.info,
        "target_scaler": model.target_scaler is not None,
        "table": None if model.table is None else model.table.to_dict(),
    }
    arrays[HEADER_KEY] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    return arrays


DIGEST_PREFIX = b"glassnet-model-digest-1\0"


def content_digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 (hex) of a model file's content, defined once: for each array in name order,
    its name, dtype (with byte order) and shape as JSON, then its bytes in C order, each
    part preceded by its length. The zip's layout, member order and dates do not count."""
    digest = hashlib.sha256(DIGEST_PREFIX)
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        meta = json.dumps([name, array.dtype.str, list(array.shape)]).encode("utf-8")
        for part in (meta, array.tobytes()):
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
    return digest.hexdigest()


def digest(path: str | os.PathLike[str]) -> str:
    """The content digest of the model file at ``path`` (a valid model; else ModelFileError)."""
    return load_with_digest(path)[1]


def load(path: str | os.PathLike[str], *, expect_digest: str | None = None) -> Model:
    """Read a model file; any problem raises ``ModelFileError`` saying what is wrong.

    Nothing in the file is executed or unpickled: arrays are read from their raw bytes after
    their declared dtype and size are checked, and the JSON header is plain data. With
    ``expect_digest`` (64 hex digits, as ``digest`` and ``glassnet summary`` give it), a file
    of any other content is refused.
    """
    return load_with_digest(path, expect_digest=expect_digest)[0]


def load_with_digest(
    path: str | os.PathLike[str], *, expect_digest: str | None = None
) -> tuple[Model, str]:
    """``load(path)`` and the file's content digest, read from the same bytes."""
    path = regular_file(path, "model file", ModelFileError)
    wanted = None if expect_digest is None else check_digest_text(expect_digest)
    try:
        arrays = read_arrays(path)
        found = content_digest(arrays)
        if wanted is not None and found != wanted:
            raise ModelFileError(
                f"its content digest is {found}, not the expected {wanted}: this is not the "
                "model file you trust (it was changed or replaced)"
            )
        header = _read_header(arrays.pop(HEADER_KEY, None))
        return _build(header, arrays), found
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    except ConfigError as exc:
        raise ModelFileError(f"{path}: the model description is invalid ({exc})") from None
    except READ_ERRORS as exc:
        raise ModelFileError(f"{path} is not a readable glassnet model file ({exc!r})") from None


def check_digest_text(text: str) -> str:
    """A digest as given by a user: 64 hex digits (case and a ``sha256:`` prefix ignored)."""
    value = str(text).strip().lower().removeprefix("sha256:")
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ModelFileError(
            f"the expected digest {text!r} is not 64 hex digits (glassnet summary prints it)"
        )
    return value


# What a damaged zip or .npy can make the standard library and NumPy raise while reading.
READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    NotImplementedError,
    RuntimeError,
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
)
# Weights, the header's bytes and (in training states) step counts; no other dtype is read.
ARRAY_DTYPES = tuple(np.dtype(kind) for kind in (np.float32, np.float64, np.uint8, np.int64))
MAX_ARRAY_BYTES = 1 << 31
# A model file has a member per array; thousands would be no file glassnet wrote.
MAX_MEMBERS = 4096
HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array in the ``.npz`` at ``path``, read safely: only float or byte dtypes, sizes
    checked against the bytes actually present, each member's CRC verified.

    The zip directory is checked first, before any member is read: at most ``MAX_MEMBERS``
    members, each stored (never compressed: glassnet writes none, and inflating is how a zip
    bomb turns a small file into gigabytes), the sizes together no larger than the file. The
    header member is then read and parsed before any array, so reading needs no more memory
    than the file's own size."""
    regular_file(path, "model file", ModelFileError)
    on_disk = path.stat().st_size
    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ModelFileError(f"the archive lists {len(infos)} members; refusing")
        names: set[str] = set()
        for info in infos:
            name = info.filename.removesuffix(".npy")
            if name == info.filename or name in names:
                raise ModelFileError(f"unexpected or repeated archive member {info.filename!r}")
            names.add(name)
            if info.file_size > MAX_ARRAY_BYTES:
                raise ModelFileError(f"array {name!r} declares {info.file_size} bytes; refusing")
            if info.compress_type != zipfile.ZIP_STORED:
                raise ModelFileError(
                    f"array {name!r} is compressed; glassnet stores arrays uncompressed and "
                    "does not inflate members (save the model again with glassnet)"
                )
            if info.compress_size != info.file_size:
                raise ModelFileError(f"array {name!r} declares two different sizes; refusing")
        declared = sum(info.file_size for info in infos)
        if declared > on_disk:
            raise ModelFileError(
                f"the members declare {declared} bytes but the file holds {on_disk}; refusing"
            )
        # The header first: a file that is no glassnet model is refused before its arrays.
        infos.sort(key=lambda info: info.filename != f"{HEADER_KEY}.npy")
        for info in infos:
            name = info.filename.removesuffix(".npy")
            with archive.open(info) as member:
                arrays[name] = _read_npy(member, info.file_size, name)
    return arrays


def _read_npy(member: Any, size: int, name: str) -> np.ndarray:
    version = np.lib.format.read_magic(member)
    if version not in HEADER_READERS:
        raise ModelFileError(f"array {name!r} uses .npy format {version}, which is not supported")
    try:
        shape, fortran_order, dtype = HEADER_READERS[version](member)
    except (SyntaxError, tokenize.TokenError) as exc:
        # NumPy parses the header's dict with tokenize and ast: an edited byte there (a "#"
        # opening a comment) surfaces as these, which are no ValueError (found by fuzzing).
        raise ModelFileError(f"array {name!r} has an unreadable header ({exc})") from None
    if dtype not in ARRAY_DTYPES:
        raise ModelFileError(
            f"array {name!r} has dtype {dtype}; glassnet files hold only plain numbers "
            "(object arrays would need pickle, which glassnet never loads)"
        )
    if any(length < 0 for length in shape):
        raise ModelFileError(f"array {name!r} declares a negative shape {shape}")
    n_bytes = math.prod(shape) * dtype.itemsize
    if n_bytes > size:  # checked before allocating anything of the declared size
        raise ModelFileError(f"array {name!r} declares shape {shape}, larger than its data")
    data = member.read(n_bytes)
    if len(data) != n_bytes or member.read():  # reading to the end also checks the CRC
        raise ModelFileError(f"array {name!r} holds {len(data)} bytes, not the {n_bytes} declared")
    order = "F" if fortran_order else "C"
    return np.frombuffer(data, dtype=dtype).reshape(shape, order=order).copy()


def _read_header(raw: np.ndarray | None) -> dict[str, Any]:
    if raw is None:
        raise ModelFileError(f"no {HEADER_KEY} header: not a glassnet model file")
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > MAX_HEADER_BYTES:
        raise ModelFileError("the header is not a JSON byte string")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(f"the header is not valid JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError("not a glassnet model file (format marker missing)")
    if header.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"format version {header.get('format_version')}; this glassnet reads "
            f"version {FORMAT_VERSION}"
        )
    missing = sorted({"task", "dtype", "networks", "classes", "scaler"} - set(header))
    if missing:
        raise ModelFileError(f"the header lacks {missing}")
    check_header_types(header)
    return header


def _text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 1 << 20


# Header fields glassnet reads, and the JSON types they may hold; any other type would only
# fail later, in predict or summary, with a traceback. (task, dtype, networks, classes and
# info itself are checked where the model is built.)
HEADER_TYPES: dict[str, tuple[Any, str]] = {
    "scaler": (lambda v: v is None or isinstance(v, str), "null or a scaling name"),
    "target_scaler": (lambda v: isinstance(v, bool), "true or false"),
    "table": (lambda v: v is None or isinstance(v, dict), "null or a mapping"),
}
INFO_TYPES: dict[str, tuple[Any, str]] = {
    "target": (lambda v: v is None or isinstance(v, str), "null or a column name"),
    "data": (lambda v: v is None or isinstance(v, str), "null or a data name"),
    "feature_names": (lambda v: v is None or _text_list(v), "null or a list of names"),
    "image_shape": (
        lambda v: v is None or (isinstance(v, list) and len(v) == 2 and all(map(_whole, v))),
        "null or [height, width]",
    ),
    "channels": (_whole, "a positive whole number"),
    "train_config": (lambda v: v is None or isinstance(v, dict), "null or a mapping"),
    "pipeline": (lambda v: v is None or _text_list(v), "null or a list of steps"),
}


def check_header_types(header: dict[str, Any]) -> None:
    """Refuse (ModelFileError naming the field) a header field of a type glassnet would
    crash on later: ``info.target`` a list, ``classes`` nested, ``image_shape`` text..."""
    fields = [(key, header[key], HEADER_TYPES[key]) for key in HEADER_TYPES if key in header]
    info = header.get("info") or {}
    if isinstance(info, dict):
        fields += [(f"info.{key}", info[key], INFO_TYPES[key]) for key in INFO_TYPES if key in info]
    for name, value, (fits, wanted) in fields:
        if not fits(value):
            shown = json.dumps(value)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise ModelFileError(f"the header's {name} is {shown}; it must be {wanted}")


def _build(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Model:
    dtype = header["dtype"]
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"unsupported dtype {dtype!r}")
    configs = header["networks"]
    if not isinstance(configs, list) or not configs:
        raise ModelFileError("the header lists no networks")
    networks = []
    for k, config in enumerate(configs):
        prefix = f"net{k}."
        _check_declared_sizes(config, arrays, prefix)
        network = from_config(config, dtype=np.dtype(dtype))
        keys = [key for key in arrays if key.startswith(prefix)]
        state = {key[len(prefix) :]: arrays.pop(key) for key in keys}
        for key, value in state.items():
            if value.dtype != np.dtype(dtype):
                raise ModelFileError(f"array {prefix}{key} is {value.dtype}, header says {dtype}")
        network.load_state_dict(state)
        # Every layer must take the previous one's output (a ConfigError naming the layer).
        network.output_shape((network.in_features,))
        networks.append(network)
    n_in = {net.in_features for net in networks}
    n_out = {net.output_features(net.in_features) for net in networks}
    if len(n_in) != 1 or len(n_out) != 1:
        raise ModelFileError("ensemble members disagree on input or output size")
    scaler = None
    if header["scaler"] is not None:
        if header["scaler"] not in Scaler.KINDS or "scaler.offset" not in arrays:
            raise ModelFileError(f"bad scaler {header['scaler']!r} or its arrays are missing")
        offset, scale = arrays.pop("scaler.offset"), arrays.pop("scaler.scale")
        if offset.shape != (*n_in,) or scale.shape != (*n_in,):
            raise ModelFileError("scaler arrays do not match the number of input features")
        if not (np.all(np.isfinite(offset)) and np.all(np.isfinite(scale)) and np.all(scale != 0)):
            raise ModelFileError("scaler arrays hold non-finite or zero values")
        scaler = Scaler(header["scaler"], offset.astype(np.float64), scale.astype(np.float64))
    target_scaler = _target_scaler(header, arrays)
    table = _table(header, arrays, n_in)
    if arrays:
        raise ModelFileError(f"unexpected arrays {sorted(arrays)}")
    task = header["task"]
    if task not in ("classification", "regression"):
        raise ModelFileError(f"unknown task {task!r}")
    classes = header["classes"]
    if classes is not None:
        classes = np.asarray(classes)
        if (
            classes.dtype.kind not in "iufbU"
            or classes.ndim != 1
            or len(classes) != next(iter(n_out))
        ):
            raise ModelFileError("class labels do not match the network's outputs")
        if len(np.unique(classes)) != len(classes):
            raise ModelFileError("class labels repeat")
    for network in networks:
        for param in network.parameters():
            if not np.all(np.isfinite(param.value)):
                raise ModelFileError("weights contain NaN or infinite values")
        for key, value in network.state_dict().items():
            if not np.all(np.isfinite(value)) or (
                key.endswith("running_var") and np.any(value < 0)
            ):
                raise ModelFileError(f"array {key} holds NaN, infinite or negative variances")
    info = header.get("info") or {}
    if not isinstance(info, dict):
        raise ModelFileError("the header's info is not a mapping")
    if target_scaler is not None and (task != "regression" or n_out != {1}):
        raise ModelFileError("a target scaler belongs to a regression model with one output")
    return Model(
        networks,
        task=task,
        classes=classes,
        scaler=scaler,
        info=info,
        target_scaler=target_scaler,
        table=table,
    )


def _target_scaler(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Scaler | None:
    """The regression target's standardisation: two finite 1-element arrays, scale non-zero."""
    if not header.get("target_scaler"):
        return None
    if "target.offset" not in arrays or "target.scale" not in arrays:
        raise ModelFileError("the target scaler's arrays are missing")
    offset, scale = arrays.pop("target.offset"), arrays.pop("target.scale")
    if offset.shape != (1,) or scale.shape != (1,) or offset.dtype != np.float64:
        raise ModelFileError("the target scaler's arrays must be one float64 number each")
    if not (np.all(np.isfinite(offset)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
        raise ModelFileError("the target scaler holds non-finite or non-positive values")
    return Scaler("standard", offset, scale)


def _table(
    header: dict[str, Any], arrays: dict[str, np.ndarray], n_in: set[int]
) -> TablePreprocessor | None:
    """The table preprocessing: plain JSON lists and three float64 arrays, checked to fit
    together and to produce exactly the networks' inputs."""
    record = header.get("table")
    if record is None:
        return None
    keys = [key for key in arrays if key.startswith("table.")]
    table_arrays = {key.removeprefix("table."): arrays.pop(key) for key in keys}
    if any(value.dtype != np.float64 or value.ndim != 1 for value in table_arrays.values()):
        raise ModelFileError("the table preprocessing's arrays must be 1-D float64")
    try:
        table = TablePreprocessor.from_dict(record, table_arrays)
    except (DataError, TypeError) as exc:
        raise ModelFileError(f"the table preprocessing is invalid ({exc})") from None
    if {table.n_outputs} != n_in:
        raise ModelFileError(
            f"the table preprocessing makes {table.n_outputs} inputs but the network takes {n_in}"
        )
    return table


# The arrays each learning layer's settings imply, checked before a layer of that size is built.
def _declared_shapes(spec: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    kind = spec.get("type")
    if kind == "Linear":
        return {"weight": (spec.get("in_features"), spec.get("out_features"))}
    if kind == "Conv2D":
        size = spec.get("kernel_size", 3)
        return {"weight": (spec.get("out_channels"), spec.get("in_channels"), size, size)}
    if kind == "BatchNorm":
        return {"weight": (spec.get("num_features"),), "running_mean": (spec.get("num_features"),)}
    if kind == "PeriodicEmbedding":  # glassnet.nn.embeddings, a table's numeric columns
        m, k, size = (spec.get(key) for key in ("n_embedded", "n_frequencies", "size"))
        return {"frequencies": (m, k), "weight": (m, None if k is None else 2 * k, size)}
    return {}


def _check_declared_sizes(config: Any, arrays: dict[str, np.ndarray], prefix: str) -> None:
    """Each learning layer's declared sizes must be its arrays' shapes, checked before any
    layer of the declared size is built (whether the layers chain is checked once built)."""
    layers = config.get("layers") if isinstance(config, dict) else None
    if not isinstance(layers, list) or not layers or not isinstance(layers[0], dict):
        raise ModelFileError("a network description lists no layers")
    if layers[0].get("type") not in ("Linear", "Reshape", "PeriodicEmbedding"):
        raise ModelFileError(
            "a network must start with a Linear layer (or a Reshape to images, or a "
            "PeriodicEmbedding of numeric columns)"
        )
    for index, spec in enumerate(layers):
        if not isinstance(spec, dict):
            continue
        for name, declared in _declared_shapes(spec).items():
            array = arrays.get(f"{prefix}{index}.{name}")
            if array is None or array.shape != declared:
                found = "missing" if array is None else f"of shape {array.shape}"
                raise ModelFileError(
                    f"layer {index} is declared {declared} but its {name} is {found}"
                )
