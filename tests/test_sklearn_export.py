"""to_model: a fitted scikit-learn pipeline as a pickle-free glassnet model file."""

from __future__ import annotations

import csv
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
    np.testing.assert_allclose(plain.to_model().predict(x), plain.predict(x))


def test_steps_it_cannot_store_are_refused_by_name():
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import PCA
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0] * 5, "c": list("xyxy") * 5})
    y = [0, 1] * 10
    columns = ColumnTransformer([("num", SimpleImputer(), ["a"]), ("cat", OneHotEncoder(), ["c"])])
    tabular = make_pipeline(columns, MLPClassifier(4, max_iter=5, random_state=0)).fit(frame, y)
    with pytest.raises(ConfigError, match="'columntransformer'.*ColumnTransformer"):
        to_model(tabular)
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
