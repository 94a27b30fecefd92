"""A tiny dataset laid out exactly as scikit-learn's fetch_openml caches downloads, so the
real OpenML code path runs in tests without the network."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np

from glassnet.data import load_digits

DATASET_ID = 990001
FILE_ID = 990002


def write_openml_cache(data_home: Path, name: str, x: np.ndarray, y: np.ndarray) -> Path:
    """Write ``name`` (features ``x``, integer labels ``y``) into ``data_home`` as OpenML's
    JSON answers and ARFF file; returns ``data_home``."""
    root = Path(data_home) / "openml" / "openml.org"
    classes = sorted({str(label) for label in y})
    features = [f"pixel{i + 1}" for i in range(x.shape[1])]
    lines = [f"@RELATION {name}", ""]
    lines += [f"@ATTRIBUTE {feature} NUMERIC" for feature in features]
    lines += ["@ATTRIBUTE class {" + ",".join(classes) + "}", "", "@DATA"]
    for row, label in zip(x, y, strict=True):
        lines.append(",".join([*(f"{v:g}" for v in row), str(label)]))
    arff = ("\n".join(lines) + "\n").encode()
    url = f"https://www.openml.org/data/v1/download/{FILE_ID}/{name}.arff"
    description = {
        "data_set_description": {
            "id": str(DATASET_ID),
            "name": name,
            "version": "1",
            "format": "ARFF",
            "description": f"{name}: a tiny test fixture",
            "file_id": str(FILE_ID),
            "url": url,
            "default_target_attribute": "class",
            "status": "active",
            "visibility": "public",
            "md5_checksum": hashlib.md5(arff).hexdigest(),
        }
    }
    feature_list = [
        {
            "index": str(i),
            "name": feature,
            "data_type": "numeric",
            "is_target": "false",
            "is_ignore": "false",
            "is_row_identifier": "false",
            "number_of_missing_values": "0",
        }
        for i, feature in enumerate(features)
    ]
    feature_list.append(
        {
            "index": str(len(features)),
            "name": "class",
            "data_type": "nominal",
            "nominal_values": classes,
            "is_target": "true",
            "is_ignore": "false",
            "is_row_identifier": "false",
            "number_of_missing_values": "0",
        }
    )
    listing = {
        "data": {
            "dataset": [
                {
                    "did": DATASET_ID,
                    "name": name,
                    "version": 1,
                    "status": "active",
                    "format": "ARFF",
                    "file_id": FILE_ID,
                }
            ]
        }
    }
    qualities = {
        "data_qualities": {
            "quality": [
                {"name": "NumberOfInstances", "value": f"{len(x)}.0"},
                {"name": "NumberOfFeatures", "value": f"{x.shape[1] + 1}.0"},
            ]
        }
    }
    files = {
        f"api/v1/json/data/list/data_name/{name}/limit/2/status/active/": listing,
        f"api/v1/json/data/{DATASET_ID}": description,
        f"api/v1/json/data/features/{DATASET_ID}": {"data_features": {"feature": feature_list}},
        f"api/v1/json/data/qualities/{DATASET_ID}": qualities,
    }
    for path, document in files.items():
        _write_gz(root / f"{path}.gz", json.dumps(document).encode())
    _write_gz(root / f"data/v1/download/{FILE_ID}/{name}.arff.gz", arff)
    return Path(data_home)


def _write_gz(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content))


def tiny_mnist(n=120, seed=0):
    """Digits upscaled to 28x28 (784 pixels, like mnist_784), n random rows."""
    digits = load_digits()
    index = np.random.default_rng(seed).choice(len(digits.x), n, replace=False)
    images = np.kron(digits.x[index].reshape(n, 8, 8), np.ones((3, 3)))
    images = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    return images.reshape(n, 784), digits.y[index]
