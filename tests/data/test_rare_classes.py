"""Classes too rare for a stratified split train on all their rows, with a warning naming
them, instead of a refusal ("the validation rows hold class CT") on most seeds."""

import warnings

import numpy as np
import pytest

from glassnet.cli.app import main
from glassnet.data import Dataset, random_split
from glassnet.errors import DataWarning

RARE = ["CT", "DE", "RI", "VT", "NH", "ME"]


def many_classes(seed=0):
    """48 classes: 42 of 12 rows each and six of one row (as a table of US states)."""
    labels = [f"S{k:02d}" for k in range(42) for _ in range(12)] + RARE
    rng = np.random.default_rng(seed)
    return Dataset(rng.normal(size=(len(labels), 3)), np.array(labels), name="states")


@pytest.mark.parametrize("seed", range(6))
def test_one_row_classes_are_training_rows_and_named(seed):
    with pytest.warns(
        DataWarning, match=r"class\(es\) CT \(1 row\), DE \(1 row\), ME \(1 row\)"
    ) as caught:
        splits = random_split(many_classes(), seed=seed)
    assert "all their rows are training rows" in str(caught[0].message)
    assert set(RARE) <= set(splits.train.y)
    assert not set(RARE) & (set(splits.validation.y) | set(splits.test.y))
    # The other classes are still stratified: each part holds every one of them.
    for part in (splits.validation, splits.test):
        assert set(part.y) == {f"S{k:02d}" for k in range(42)}
    assert sum(splits.sizes().values()) == 42 * 12 + 6


def test_a_class_the_split_would_leave_out_of_training_is_moved_there():
    # Three rows of "b" among 4 rows of data: whatever the split does, b must train.
    y = np.array(["a"] * 40 + ["b"] * 3)
    data = Dataset(np.arange(len(y), dtype=float)[:, None], y, name="t")
    for seed in range(10):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            splits = random_split(data, seed=seed, validation_fraction=0.4, test_fraction=0.4)
        assert "b" in set(splits.train.y)


def test_common_classes_and_regression_targets_split_as_before():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # no warning
        data = Dataset(np.zeros((100, 1)), np.arange(100) % 4, name="toy")
        assert random_split(data, seed=0).sizes() == {"train": 60, "validation": 20, "test": 20}
        values = Dataset(np.zeros((50, 1)), np.linspace(0, 1, 50), name="r")
        assert random_split(values, seed=0, task="regression").sizes()["test"] == 10


def test_a_table_with_one_row_classes_trains_and_scores_them_as_absent(tmp_path, capsys):
    import json

    data = many_classes()
    rows = ["a,b,c,state"] + [
        f"{x[0]:.4f},{x[1]:.4f},{x[2]:.4f},{label}" for x, label in zip(data.x, data.y, strict=True)
    ]
    path = tmp_path / "states.csv"
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    argv = ["train", "--data", str(path), "--target", "state", "--epochs", "3", "--hidden", "8"]
    assert main([*argv, "--quiet", "--out", str(out)]) == 0
    assert "CT (1 row)" in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    per_class = {row["class"]: row["support"] for row in metrics["evaluation"]["per_class"]}
    assert len(per_class) == 48 and all(per_class[label] == 0 for label in RARE)


def test_a_role_that_cannot_be_exported_is_said_at_training_time(monkeypatch):
    import pandas as pd

    from glassnet.data import tabular
    from glassnet.data.columns import ColumnInfo

    frame = pd.DataFrame({"x": np.arange(30.0), "c": ["a", "b", "c"] * 10, "y": [0, 1] * 15})
    columns = [ColumnInfo("x", "numeric", 0.0, 30), ColumnInfo("c", "categorical", 0.0, 3)]
    data = tabular.TableData(frame, frame["y"].to_numpy(), columns, "y", "classification", "t")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        tabular.table_splits(data)  # every role exports: no warning
    monkeypatch.setattr(tabular, "EXPORTABLE_ROLES", ("numeric",))
    with pytest.warns(DataWarning, match=r"column\(s\) \['c'\] \(categorical\) cannot be exported"):
        tabular.table_splits(data)


def test_a_target_of_mostly_rare_classes_is_a_data_error_pointing_to_regression():
    from glassnet.errors import DataError

    prices = Dataset(np.zeros((120, 1)), np.arange(120) % 70, name="prices")
    with pytest.raises(DataError, match=r"70 of the 70 classes .*--task regression"):
        random_split(prices)
