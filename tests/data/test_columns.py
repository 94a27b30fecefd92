"""Column roles guessed from values, the user's overrides, and the task from the label."""

import numpy as np
import pandas as pd
import pytest

from glassnet.data.columns import infer_columns
from glassnet.data.tabular import infer_task
from glassnet.errors import DataError

N = 60


def frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "Unnamed: 0": np.arange(N),
            "id": rng.permutation(N) + 1000,
            "row_number": rng.permutation(N),  # a shuffled 0..N-1: numbers each row once
            "height": rng.normal(size=N),  # unique per row too, but a measurement
            "count": rng.integers(0, 5, N),
            "colour": rng.choice(["red", "green", "blue"], N),
            "flag": rng.choice(["yes", "no"], N),
            "when": pd.date_range("2020-01-01", periods=N, freq="D").astype(str),
            "name": [f"person{i}" for i in range(N)],
            "comment": [f"this is comment {i} of many" for i in range(N)],
            "code": [f"c{i % 55}" for i in range(N)],
            "same": ["x"] * N,
            "empty": [None] * N,
            "label": rng.choice(["a", "b"], N),
        }
    )


def roles(infos):
    return {info.name: (info.role, info.note) for info in infos}


def test_roles_and_reasons_are_guessed_from_the_values():
    found = roles(infer_columns(frame(), "label"))
    assert found == {
        "Unnamed: 0": ("dropped", "id-like (its name)"),
        "id": ("dropped", "id-like (its name)"),
        "row_number": ("dropped", "id-like (its name)"),
        "height": ("numeric", ""),
        "count": ("numeric", ""),
        "colour": ("categorical", ""),
        "flag": ("boolean", ""),
        "when": ("datetime", ""),
        "name": ("dropped", "id-like (unique per row)"),
        "comment": ("dropped", "free text (unique per row)"),
        "code": ("dropped", "free text or code (55 distinct values)"),
        "same": ("dropped", "constant"),
        "empty": ("dropped", "empty"),
    }


def test_an_unnamed_range_of_whole_numbers_is_id_like_but_few_rows_say_nothing():
    table = pd.DataFrame({"n": np.random.default_rng(1).permutation(N), "y": [0, 1] * (N // 2)})
    assert roles(infer_columns(table.assign(x=1.5 * np.arange(N)), "y"))["n"][0] == "dropped"
    small = pd.DataFrame({"n": [3, 1, 2], "x": [1.0, 2.0, 0.5], "y": [0, 1, 0]})
    assert roles(infer_columns(small, "y"))["n"] == ("numeric", "")


def test_missing_share_and_distinct_values_are_reported():
    table = pd.DataFrame({"x": [1.0, None, 1.0, 2.0], "y": [0, 1, 0, 1]})
    (info,) = infer_columns(table, "y")
    assert info.missing == 0.25 and info.distinct == 2


def test_overrides_win_over_the_guess():
    infos = infer_columns(
        frame(),
        "label",
        drop=["height"],
        categorical=["count", "code"],
        numeric=["id"],
    )
    found = roles(infos)
    assert found["height"] == ("dropped", "--drop")
    assert found["count"] == ("categorical", "--categorical")
    assert found["code"] == ("categorical", "--categorical")
    assert found["id"] == ("numeric", "--numeric")
    chosen = roles(infer_columns(frame(), "label", features=["colour", "height"]))
    assert [name for name, (role, _) in chosen.items() if role != "dropped"] == ["height", "colour"]
    assert chosen["flag"] == ("dropped", "not in --features")


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"drop": ["nope"]}, r"--drop: no column\(s\) \['nope'\]"),
        ({"features": ["colour", "nope"]}, r"--features: no column\(s\) \['nope'\]"),
        ({"categorical": ["colour"], "numeric": ["colour"]}, "both --categorical and --numeric"),
        ({"features": ["label"]}, "'label' is the target"),
        ({"features": ["same"]}, "no usable feature columns"),
    ],
)
def test_bad_overrides_are_data_errors(overrides, words):
    with pytest.raises(DataError, match=words):
        infer_columns(frame(), "label", **overrides)


@pytest.mark.parametrize(
    "labels, task",
    [
        (["a", "b", "a"], "classification"),
        ([True, False, True], "classification"),
        ([0, 1, 2, 1, 0], "classification"),
        ([3.0, 5.0, 3.0, None], "classification"),  # whole numbers read as float beside an NA
        (list(range(25)), "regression"),  # many distinct whole numbers
        ([0.5, 1.5, 0.5], "regression"),  # fractions are never class labels
    ],
)
def test_the_task_follows_the_label(labels, task):
    assert infer_task(pd.Series(labels)) == task
