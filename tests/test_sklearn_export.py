"""to_model: a fitted scikit-learn pipeline as a pickle-free glassnet model file."""

from __future__ import annotations

import csv
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from glassnet.errors import ConfigError
from glassnet.models import checkpoint
from glassnet.sklearn import MLPClassifier, MLPRegressor, to_model


@pytest.fixture(autouse=True)
def quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def test_a_pipeline_file_predicts_a_csv_like_the_pipeline(tmp_path):
    from glassnet.cli.app import main

    iris = load_iris(as_frame=True)
    x = iris.data.rename(columns=lambda name: name.replace(" (cm)", "").replace(" ", "_"))
    y = iris.target_names[iris.target]
    pipeline = make_pipeline(
        StandardScaler(), MinMaxScaler(), MLPClassifier(16, max_iter=300, random_state=0)
    ).fit(x, y)
    path = checkpoint.save(to_model(pipeline), tmp_path / "iris.npz")
    model = checkpoint.load(path)
    assert model.info["feature_names"] == list(x.columns)
    np.testing.assert_allclose(model.predict_proba(x.to_numpy()), pipeline.predict_proba(x))
    # The CSV has its columns in another order and an extra one: matched by name.
    table = x[x.columns[::-1]].assign(notes="x")
    table.to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(path), "--data", str(tmp_path / "new.csv"), "--out", str(out),
                 "--quiet"]) == 0  # fmt: skip
    with open(out, newline="") as handle:
        predicted = [row["prediction"] for row in csv.DictReader(handle)]
    assert predicted == pipeline.predict(x).tolist()


def test_binary_logistic_unit_keeps_its_probabilities(tmp_path):
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    pipeline = make_pipeline(StandardScaler(), MLPClassifier(8, max_iter=50, random_state=0))
    pipeline.fit(x, y)
    model = checkpoint.load(checkpoint.save(to_model(pipeline), tmp_path / "m.npz"))
    np.testing.assert_allclose(
        model.predict_proba(x.to_numpy()), pipeline.predict_proba(x), rtol=1e-10, atol=1e-12
    )
    assert model.score(x.to_numpy(), y.to_numpy()) == pytest.approx(pipeline.score(x, y))


def test_regression_with_scalers_without_mean_or_std(tmp_path):
    x, y = make_regression(80, 4, noise=1.0, random_state=0)
    y = y / y.std()
    pipeline = make_pipeline(
        StandardScaler(with_mean=False),
        MinMaxScaler(feature_range=(-1, 1)),
        MLPRegressor(hidden_layer_sizes=8, max_iter=100, random_state=0),
    ).fit(x, y)
    model = checkpoint.load(checkpoint.save(to_model(pipeline), tmp_path / "r.npz"))
    np.testing.assert_allclose(model.predict(x), pipeline.predict(x), rtol=1e-9, atol=1e-12)
    plain = MLPRegressor(hidden_layer_sizes=4, max_iter=5, random_state=0).fit(x, y)
    with pytest.warns(UserWarning, match="only the network"):
        np.testing.assert_allclose(plain.to_model().predict(x), plain.predict(x))


def _mixed_frame(n: int, seed: int) -> pd.DataFrame:
    """Numbers with gaps, text categories with gaps, a rare category, a small-integer code."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 12, n),
            "income": rng.lognormal(3, 1, n),
            "colour": rng.choice(["red", "green", "blue", "pink"], n, p=[0.4, 0.35, 0.2, 0.05]),
            "doors": rng.choice([2, 4, 5], n),
        }
    )
    frame.loc[::6, "age"] = np.nan
    frame.loc[::9, "colour"] = np.nan
    return frame


def _new_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows a pipeline never saw: an unseen category, gaps, columns reordered, an extra one."""
    new = frame.iloc[:40].copy()
    new.loc[:4, "colour"] = "purple"
    new.loc[5:9, ["age", "colour"]] = np.nan
    new.loc[10:12, "doors"] = 3  # an unseen code in a number column read as categories
    return new[new.columns[::-1]].assign(notes="x")


def _tabular_pipeline(estimator):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    numbers = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    categories = make_pipeline(
        SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
    )
    columns = ColumnTransformer(
        [("num", numbers, ["age", "income"]), ("cat", categories, ["colour", "doors"])]
    )
    return make_pipeline(columns, estimator)


def test_a_column_transformer_pipeline_file_predicts_a_csv_like_the_pipeline(tmp_path, capsys):
    from glassnet.cli.app import main
    from glassnet.data.tables import read_table

    frame = _mixed_frame(150, 0)
    y = np.where(frame["income"] > 20, "rich", np.where(frame["colour"] == "red", "red", "other"))
    pipeline = _tabular_pipeline(MLPClassifier(8, max_iter=200, random_state=0)).fit(frame, y)
    path = checkpoint.save(to_model(pipeline), tmp_path / "tabular.npz")
    new = _new_rows(frame)
    new.to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(path), "--data", str(tmp_path / "new.csv"), "--out",
                 str(out), "--quiet"]) == 0  # fmt: skip
    assert "'colour': 5 row(s) hold categories not seen" in capsys.readouterr().err
    assert main(["summary", str(path), "--json"]) == 0
    steps = {row["column"]: row for row in json.loads(capsys.readouterr().out)["preprocessing"]}
    assert steps["age"]["role"] == "numeric (missing -> median)"
    median = np.nanmedian(frame["age"])
    assert steps["age"]["learned"].startswith(f"missing -> {median:.4g} (+ missing indicator)")
    assert steps["colour"]["role"] == "categorical"
    with open(out, newline="") as handle:
        predicted = [row["prediction"] for row in csv.DictReader(handle)]
    expected = pipeline.predict(new)
    assert predicted == expected.tolist()
    # The probabilities, to 1e-10, from the file and the CSV as `glassnet predict` reads it.
    model = checkpoint.load(path)
    assert model.info["feature_names"] == ["age", "income", "colour", "doors"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proba = model.predict_proba(model.features(read_table(tmp_path / "new.csv").frame))
    np.testing.assert_allclose(proba, pipeline.predict_proba(new), rtol=0, atol=1e-10)


def test_a_column_transformer_regressor_through_the_cli(tmp_path):
    from glassnet.cli.app import main
    from glassnet.data.tables import read_table

    frame = _mixed_frame(120, 1)
    y = frame["income"].to_numpy() / 10 + (frame["colour"] == "blue")
    pipeline = _tabular_pipeline(MLPRegressor(hidden_layer_sizes=8, max_iter=100, random_state=0))
    pipeline.fit(frame, y)
    path = checkpoint.save(to_model(pipeline), tmp_path / "r.npz")
    new = _new_rows(frame)
    new.to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "predictions.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["predict", str(path), "--data", str(tmp_path / "new.csv"), "--out",
                     str(out), "--quiet"]) == 0  # fmt: skip
    with open(out, newline="") as handle:
        predicted = [float(row["prediction"]) for row in csv.DictReader(handle)]
    # The CSV holds 8 significant digits; the file itself matches to 1e-10.
    np.testing.assert_allclose(predicted, pipeline.predict(new), rtol=1e-7)
    model = checkpoint.load(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exact = model.predict(model.features(read_table(tmp_path / "new.csv").frame))
    np.testing.assert_allclose(exact, pipeline.predict(new), rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    "variant",
    [
        "infrequent",
        "infrequent+fill",
        "infrequent+rare-fill",
        "drop",
        "constant",
        "scaled-after",
        "remainder",
        "max-categories",
        "unknown-is-error",
    ],  # fmt: skip
)
def test_column_transformer_variants_match_scikit_learn(variant):
    """Every variant's table + folded first layer against the pipeline itself, on rows with
    unseen categories and gaps (scikit-learn is the oracle)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    frame = _mixed_frame(160, 2)
    y = frame["income"].to_numpy() / 10 + (frame["colour"] == "pink") * 3
    unknown = "ignore"
    encoder = OneHotEncoder(handle_unknown=unknown)
    numbers = make_pipeline(SimpleImputer(strategy="mean"), MinMaxScaler())
    after = []
    remainder = "drop"
    if variant.startswith("infrequent"):
        encoder = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=12)
    if variant.startswith("infrequent+"):
        fill = "pink" if "rare" in variant else "green"  # an infrequent or a frequent category
        encoder = make_pipeline(SimpleImputer(strategy="constant", fill_value=fill), encoder)
    if variant == "max-categories":
        encoder = OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=3)
    if variant == "unknown-is-error":  # accepted; only rows the pipeline accepts are compared
        encoder = OneHotEncoder(handle_unknown="error")
    if variant == "drop":
        encoder = OneHotEncoder(handle_unknown="ignore", drop="first")
    if variant == "constant":
        numbers = SimpleImputer(strategy="constant", fill_value=-1.0, add_indicator=True)
    if variant == "scaled-after":
        after = [StandardScaler()]
    if variant == "remainder":
        remainder = "passthrough"
        frame = frame.assign(extra=np.arange(len(frame), dtype=float))
    columns = ColumnTransformer(
        [
            ("cat", encoder, ["colour"]),
            ("num", numbers, [0, 1]),
            ("code", "passthrough", ["doors"]),
        ],
        remainder=remainder,
    )
    pipeline = make_pipeline(
        columns, *after, MLPRegressor(hidden_layer_sizes=6, max_iter=30, random_state=0)
    ).fit(frame, y)
    model = to_model(pipeline)
    new = _new_rows(frame)
    if variant == "unknown-is-error":
        new = new[new["colour"] != "purple"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predicted = model.predict(model.features(new))
    np.testing.assert_allclose(predicted, pipeline.predict(new), rtol=0, atol=1e-10)


def test_column_transformer_steps_it_cannot_store_are_refused_by_name():
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import KNNImputer, SimpleImputer
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder

    frame = _mixed_frame(40, 3)
    y = [0, 1] * 20
    net = MLPClassifier(4, max_iter=5, random_state=0)

    def refused(columns, match, *before):
        pipeline = make_pipeline(*before, columns, net).fit(frame, y)
        with pytest.raises(ConfigError, match=match):
            to_model(pipeline)

    numbers = ["age", "income"]
    refused(ColumnTransformer([("num", KNNImputer(), numbers)]), "'num'.*KNNImputer")
    largest = SimpleImputer(strategy=np.nanmax)
    refused(ColumnTransformer([("num", largest, numbers)]), "'num'.*strategy=<function")
    odd = SimpleImputer(missing_values=-1.0)
    refused(ColumnTransformer([("num", odd, ["income"])]), "'num'.*missing_values=-1.0")
    ordinal = make_pipeline(OrdinalEncoder(), OneHotEncoder())
    refused(ColumnTransformer([("cat", ordinal, ["colour"])]), "'cat'.*OrdinalEncoder")
    both = ColumnTransformer([("a", "passthrough", ["doors"]), ("b", OneHotEncoder(), ["doors"])])
    refused(both, "twice")
    first = ColumnTransformer([("num", SimpleImputer(), numbers)])
    refused(first, "'functiontransformer'.*before the ColumnTransformer", FunctionTransformer())
    arrays = make_pipeline(ColumnTransformer([("num", SimpleImputer(), [0, 1])]), net)
    arrays.fit(frame[numbers].to_numpy(), y)
    with pytest.raises(ConfigError, match="DataFrame"):
        to_model(arrays)


def test_the_estimators_own_to_model_warns_that_it_holds_only_the_network():
    x, y = load_iris(return_X_y=True)
    pipeline = make_pipeline(StandardScaler(), MLPClassifier(8, max_iter=20, random_state=0))
    pipeline.fit(x, y)
    with pytest.warns(UserWarning, match=r"only the network.*to_model\(pipeline\)"):
        bare = pipeline[-1].to_model()
    # What it warns about: the bare network on raw inputs is not the pipeline.
    assert not np.allclose(bare.predict_proba(x), pipeline.predict_proba(x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the function on the whole pipeline does not warn
        whole = to_model(pipeline)
    np.testing.assert_allclose(whole.predict_proba(x), pipeline.predict_proba(x), atol=1e-12)


def test_steps_it_cannot_store_are_refused_by_name():
    from sklearn.decomposition import PCA

    y = [0, 1] * 10
    x = np.random.default_rng(0).normal(size=(20, 3))
    reduced = make_pipeline(PCA(2), MLPClassifier(4, max_iter=5, random_state=0)).fit(x, y)
    with pytest.raises(ConfigError, match="'pca'.*PCA"):
        to_model(reduced)
    clipped = make_pipeline(MinMaxScaler(clip=True), MLPClassifier(4, max_iter=5)).fit(x, y)
    with pytest.raises(ConfigError, match="clip"):
        to_model(clipped)
    multilabel = MLPClassifier(4, max_iter=5).fit(x, np.eye(2, dtype=int)[y])
    with pytest.raises(ConfigError, match="multilabel"):
        to_model(multilabel)
