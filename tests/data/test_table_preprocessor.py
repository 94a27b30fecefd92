"""TablePreprocessor: learned by scikit-learn, applied by glassnet's own NumPy code; the two
must agree, and the plain-data record must round-trip and refuse what does not fit."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from glassnet.data.preprocessing import TablePreprocessor
from glassnet.errors import DataError, DataWarning

ROLES = {"x": "numeric", "z": "numeric", "colour": "categorical", "ok": "boolean"}


def table(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(10, 3, n)
    x[[1, 5]] = np.nan
    frame = pd.DataFrame(
        {
            "x": x,
            "z": rng.integers(0, 4, n).astype(float),  # never missing: no indicator
            "colour": rng.choice(["red", "green", "blue"], n).astype(object),
            "ok": rng.choice([True, False], n),
        }
    )
    frame.loc[3, "colour"] = None
    return frame


def sklearn_reference(train, test):
    """The same steps as scikit-learn objects, fitted and applied by scikit-learn alone."""
    numeric = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="(missing)"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    as_text = lambda f: f.assign(ok=f["ok"].map(str), colour=f["colour"].astype(object))  # noqa: E731
    reference = ColumnTransformer(
        [("n", numeric, ["x", "z"]), ("c", categorical, ["colour", "ok"])]
    ).fit(as_text(train))
    return reference.transform(as_text(test))


def test_transform_matches_scikit_learn_fitted_and_applied_alone():
    train, test = table(), table(15, seed=1)
    test.loc[2, "x"] = np.nan
    test.loc[4, "colour"] = "purple"  # unseen: all zero, as handle_unknown="ignore"
    test.loc[6, "colour"] = None
    preprocessor = TablePreprocessor.fit(train, ROLES)
    with pytest.warns(DataWarning, match=r"column 'colour': 1 row\(s\) .*\['purple'\]"):
        ours = preprocessor.transform(test)
    np.testing.assert_allclose(ours, sklearn_reference(train, test), rtol=1e-12, atol=1e-12)
    assert preprocessor.output_names() == [
        "x",
        "z",
        "x (missing)",
        "colour=(missing)",
        "colour=blue",
        "colour=green",
        "colour=red",
        "ok=False",
        "ok=True",
    ]


def test_the_learned_statistics_are_the_training_rows_own():
    train = table()
    preprocessor = TablePreprocessor.fit(train, ROLES)
    assert preprocessor.medians[0] == np.nanmedian(train["x"])
    imputed = train["x"].fillna(np.nanmedian(train["x"]))
    assert preprocessor.means[0] == pytest.approx(imputed.mean())
    assert preprocessor.scales[0] == pytest.approx(imputed.std(ddof=0))
    assert preprocessor.indicators == ["x"]


def test_columns_are_found_by_name_in_any_order_with_extra_ones():
    train = table()
    preprocessor = TablePreprocessor.fit(train, ROLES)
    shuffled = train[["ok", "colour", "z", "x"]].assign(extra="ignored", label=1)
    np.testing.assert_array_equal(preprocessor.transform(shuffled), preprocessor.transform(train))
    with pytest.raises(DataError, match=r"lacks the column\(s\) \['z'\] the model was trained on"):
        preprocessor.transform(train.drop(columns=["z"]))


def test_text_in_a_numeric_column_is_missing_with_a_warning():
    train = table()
    preprocessor = TablePreprocessor.fit(train, ROLES)
    test = train.astype({"x": object})
    test.loc[0, "x"] = "n.a."
    with pytest.warns(DataWarning, match=r"column 'x': 1 cell\(s\) are not numbers"):
        out = preprocessor.transform(test)
    assert out[0, 2] == pytest.approx((1 - preprocessor.means[2]) / preprocessor.scales[2])


def test_whole_numbers_are_one_category_whether_read_as_int_or_float():
    train = pd.DataFrame({"grade": [1, 2, 3, 1, 2, 3]})
    preprocessor = TablePreprocessor.fit(train, {"grade": "categorical"})
    assert preprocessor.categories == [["1", "2", "3"]]
    as_float = pd.DataFrame({"grade": [1.0, None, 3.0]})
    with pytest.warns(DataWarning):  # "(missing)" was never seen in training
        out = preprocessor.transform(as_float)
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 0], [0, 0, 1]])


def test_datetime_columns_become_numeric_parts():
    dates = ["2021-03-04 10:00", "2022-12-25 00:00", "not a date", "2020-02-29 23:00"]
    train = pd.DataFrame({"when": dates})
    preprocessor = TablePreprocessor.fit(train, {"when": "datetime"})
    assert preprocessor.numeric == [
        f"when.{p}" for p in ("year", "month", "day", "weekday", "hour")
    ]
    raw = (preprocessor.transform(train) * preprocessor.scales + preprocessor.means)[:, :5]
    np.testing.assert_allclose(raw[0], [2021, 3, 4, 3, 10])  # a Thursday
    np.testing.assert_allclose(raw[2], preprocessor.medians)  # unparseable: the medians
    assert preprocessor.input_columns == ["when"]


def test_the_record_round_trips_through_json_and_arrays():
    preprocessor = TablePreprocessor.fit(table(), ROLES)
    record = json.loads(json.dumps(preprocessor.to_dict()))
    again = TablePreprocessor.from_dict(record, preprocessor.arrays())
    np.testing.assert_array_equal(again.transform(table()), preprocessor.transform(table()))


def test_a_column_transformer_fitted_elsewhere_becomes_the_same_record():
    train = table()
    text = train.assign(ok=train["ok"].map(str), colour=train["colour"].fillna("(missing)"))
    numeric = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    numeric.steps = [("impute", numeric.steps[0][1]), ("scale", numeric.steps[1][1])]
    fitted = ColumnTransformer(
        [
            ("numeric", numeric, ["x", "z"]),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), ["colour", "ok"]),
        ]
    ).fit(text)
    record = TablePreprocessor.from_column_transformer(fitted)
    assert record.to_dict() == {**TablePreprocessor.fit(train, ROLES).to_dict(), "roles": {}}


def good_record():
    preprocessor = TablePreprocessor.fit(table(), ROLES)
    return preprocessor.to_dict(), preprocessor.arrays()


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda r, a: r.update(numeric=["x"]), "medians/means"),
        (lambda r, a: r.update(indicators=["colour"]), "indicators"),
        (lambda r, a: r.update(categories=r["categories"][:1]), "one category list"),
        (lambda r, a: r["categories"][0].append("red"), "twice"),
        (lambda r, a: r["categories"][0].append(3), "lists of text"),
        (lambda r, a: r.update(categorical=["x", "ok"]), "appears twice"),
        (lambda r, a: a["scales"].__setitem__(0, 0.0), "positive"),
        (lambda r, a: a["medians"].__setitem__(0, np.nan), "NaN"),
        (lambda r, a: r.update(numeric="x"), "lists of names"),
        (lambda r, a: r.pop("roles"), "has the keys"),
        (lambda r, a: a.pop("means"), "needs the arrays"),
    ],
)
def test_records_that_do_not_fit_together_are_refused(change, words):
    record, arrays = good_record()
    change(record, arrays)
    with pytest.raises(DataError, match=words), warnings.catch_warnings():
        TablePreprocessor.from_dict(record, arrays)
