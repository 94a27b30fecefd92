"""A column of many repeating categories (a code: airports, countries) is kept: its frequent
categories are inputs of their own, the rare and unseen ones share "(other)", in glassnet and
in the exported ONNX graph alike (tests/export/test_onnx_table_codes.py)."""

import warnings

import numpy as np
import pandas as pd

from glassnet.data.columns import infer_columns
from glassnet.data.preprocessing import (
    MANY_CATEGORIES,
    MIN_CATEGORY_ROWS,
    OTHER_CATEGORY,
    TablePreprocessor,
)
from glassnet.errors import DataWarning


def airports(n=2000, seed=0):
    """80 frequent airports and 40 seen twice each; the delay depends on the airport."""
    rng = np.random.default_rng(seed)
    frequent = [f"A{i:02d}" for i in range(80)]
    rare = [f"R{i:02d}" for i in range(40)]
    codes = list(rng.choice(frequent, n - 80)) + [code for code in rare for _ in range(2)]
    effect = {code: rng.normal(0, 3) for code in frequent + rare}
    delay = np.array([effect[code] for code in codes]) + rng.normal(0, 0.3, n)
    return pd.DataFrame({"dest": codes, "distance": rng.normal(size=n), "delay": delay})


def test_a_repeating_code_is_categorical_and_free_text_still_dropped():
    frame = airports()
    frame["note"] = [f"text {i % 700}" for i in range(len(frame))]  # ~3 rows a value
    roles = {info.name: (info.role, info.note) for info in infer_columns(frame, "delay")}
    assert roles["dest"] == ("categorical", "120 distinct; the rare ones as one")
    assert roles["note"][0] == "dropped" and roles["note"][1].startswith("free text or code")


def test_rare_and_unseen_categories_share_the_other_input():
    frame = airports()
    table = TablePreprocessor.fit(frame, {"dest": "categorical", "distance": "numeric"})
    (categories,) = table.categories
    assert len(categories) == 81 and categories[-1] == OTHER_CATEGORY
    assert all(code.startswith("A") for code in categories[:-1])
    counts = frame["dest"].value_counts()
    assert counts[categories[:-1]].min() >= MIN_CATEGORY_ROWS > counts["R00"]
    rows = pd.DataFrame({"dest": ["A05", "R07", "never seen"], "distance": [0.0, 0.0, 0.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # grouped by design: no warning
        x = table.transform(rows)
    onehot = x[:, 1:]
    assert onehot[0, categories.index("A05")] == 1.0 and onehot[0].sum() == 1.0
    other = categories.index(OTHER_CATEGORY)
    assert onehot[1, other] == onehot[2, other] == 1.0 and onehot[1:].sum() == 2.0


def test_a_column_of_few_categories_is_encoded_as_before():
    frame = pd.DataFrame({"c": [f"v{i % (MANY_CATEGORIES - 1)}" for i in range(200)] + ["rare"]})
    table = TablePreprocessor.fit(frame, {"c": "categorical"})
    assert OTHER_CATEGORY not in table.categories[0] and "rare" in table.categories[0]
