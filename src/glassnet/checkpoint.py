"""Model files: one ``.npz`` of plain numeric arrays plus a JSON header, never pickle.

Layout: ``__glassnet__`` holds UTF-8 JSON bytes (format, version, task, dtype, each
network's layer config, classes, scaler kind, free-form info); ``net<k>.<layer>.<name>``
hold the weights; ``scaler.offset`` / ``scaler.scale`` the preprocessing. Loading uses
``allow_pickle=False`` and checks every key, shape and dtype against the header.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from glassnet import __version__
from glassnet.data import Scaler
from glassnet.errors import ConfigError, ModelFileError
from glassnet.layers import from_config
from glassnet.model import Model

FORMAT = "glassnet-model"
FORMAT_VERSION = 1
HEADER_KEY = "__glassnet__"
# A header or array this large is not a model glassnet wrote; refuse before allocating.
MAX_HEADER_BYTES = 1 << 20


def save(model: Model, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    for k, network in enumerate(model.networks):
        for key, value in network.state_dict().items():
            arrays[f"net{k}.{key}"] = value
    if model.scaler is not None:
        arrays["scaler.offset"] = model.scaler.offset
        arrays["scaler.scale"] = model.scaler.scale
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
    }
    arrays[HEADER_KEY] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    write_atomic(path, lambda handle: np.savez(handle, **arrays))
    return path


def write_atomic(path: Path, write: Any, mode: str = "wb") -> None:
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def load(path: str | os.PathLike[str]) -> Model:
    """Read a model file; any problem raises ``ModelFileError`` saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {str(path)!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = _read_arrays(archive, path)
    except ModelFileError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ModelFileError(f"{path} is not a readable glassnet model file ({exc})") from None
    header = _read_header(arrays.pop(HEADER_KEY, None), path)
    try:
        return _build(header, arrays)
    except (ConfigError, TypeError, ValueError, KeyError) as exc:
        raise ModelFileError(f"{path}: {exc}") from None


def _read_arrays(archive: Any, path: Path) -> dict[str, np.ndarray]:
    if not hasattr(archive, "files"):
        raise ModelFileError(f"{path} holds a bare array, not a glassnet model archive")
    arrays = {}
    for name in archive.files:
        info = archive.zip.getinfo(f"{name}.npy")
        if info.file_size > (1 << 31):
            raise ModelFileError(f"{path}: array {name!r} declares {info.file_size} bytes; refusing")
        # allow_pickle=False makes numpy refuse object arrays with a ValueError here.
        arrays[name] = archive[name]
    return arrays


def _read_header(raw: np.ndarray | None, path: Path) -> dict[str, Any]:
    if raw is None:
        raise ModelFileError(f"{path} has no {HEADER_KEY} header: not a glassnet model file")
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > MAX_HEADER_BYTES:
        raise ModelFileError(f"{path}: the header is not a JSON byte string")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: the header is not valid JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a glassnet model file (format marker missing)")
    if header.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has format version {header.get('format_version')}; this glassnet reads "
            f"version {FORMAT_VERSION}"
        )
    return header


def _build(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Model:
    dtype = header["dtype"]
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"unsupported dtype {dtype!r}")
    configs = header["networks"]
    if not isinstance(configs, list) or not configs:
        raise ModelFileError("the header lists no networks")
    networks = []
    for k, config in enumerate(configs):
        network = from_config(config, dtype=np.dtype(dtype))
        prefix = f"net{k}."
        state = {key[len(prefix):]: arrays.pop(key) for key in list(arrays) if key.startswith(prefix)}
        for key, value in state.items():
            if value.dtype != np.dtype(dtype):
                raise ModelFileError(f"array {prefix}{key} has dtype {value.dtype}, header says {dtype}")
        network.load_state_dict(state)
        networks.append(network)
    n_in = {net.layers[0].in_features for net in networks}  # type: ignore[attr-defined]
    n_out = {net.output_features(0) for net in networks}
    if len(n_in) != 1 or len(n_out) != 1:
        raise ModelFileError("ensemble members disagree on input or output size")
    scaler = None
    if header["scaler"] is not None:
        offset, scale = arrays.pop("scaler.offset"), arrays.pop("scaler.scale")
        if offset.shape != (*n_in,) or scale.shape != (*n_in,):
            raise ModelFileError("scaler arrays do not match the number of input features")
        if not (np.all(np.isfinite(offset)) and np.all(np.isfinite(scale)) and np.all(scale != 0)):
            raise ModelFileError("scaler arrays hold non-finite or zero values")
        scaler = Scaler(header["scaler"], offset.astype(np.float64), scale.astype(np.float64))
    if arrays:
        raise ModelFileError(f"unexpected arrays {sorted(arrays)}")
    task = header["task"]
    if task not in ("classification", "regression"):
        raise ModelFileError(f"unknown task {task!r}")
    classes = header["classes"]
    if classes is not None:
        classes = np.asarray(classes)
        if classes.dtype == object or classes.ndim != 1 or len(classes) != n_out.pop():
            raise ModelFileError("class labels do not match the network's outputs")
    for network in networks:
        for param in network.parameters():
            if not np.all(np.isfinite(param.value)):
                raise ModelFileError("weights contain NaN or infinite values")
    info = header.get("info") or {}
    return Model(networks, task=task, classes=classes, scaler=scaler, info=info)
