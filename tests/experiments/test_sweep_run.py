"""Sweep summaries: mean and spread over seeds per configuration, best first."""

import pytest

from glassnet.experiments.sweep import summarize


def test_summary_is_best_mean_first_and_keeps_grid_order_on_ties():
    accuracy = {
        (0.1, 0): 0.5,
        (0.1, 1): 0.7,
        (1.0, 0): 0.9,
        (1.0, 1): 0.8,
        (10.0, 0): 0.6,
        (10.0, 1): 0.6,
    }
    records = [
        {"trial": i, "l2": l2, "seed": seed, "validation_accuracy": value, "train_loss": 1.0}
        for i, ((l2, seed), value) in enumerate(accuracy.items())
    ]
    rows = summarize(records, ["l2"])
    assert [row["l2"] for row in rows] == [1.0, 0.1, 10.0]  # 0.85, then 0.6 twice in grid order
    assert rows[0]["n_seeds"] == 2
    assert rows[0]["validation_accuracy_mean"] == pytest.approx(0.85)
    assert rows[0]["validation_accuracy_std"] == pytest.approx(0.05)


def test_a_configuration_whose_seeds_all_diverged_goes_last_in_the_summary():
    records = [
        {"trial": 0, "l2": 1.0, "seed": 0, "diverged": "loss became nan", "train_loss": 9.0},
        {"trial": 1, "l2": 0.1, "seed": 0, "validation_accuracy": 0.8, "validation_loss": 0.5},
        {"trial": 2, "l2": 3.0, "seed": 0, "validation_accuracy": 0.9, "validation_loss": 0.4},
    ]
    assert [row["l2"] for row in summarize(records, ["l2"])] == [3.0, 0.1, 1.0]
    regression = [{k: v for k, v in r.items() if k != "validation_accuracy"} for r in records]
    assert [row["l2"] for row in summarize(regression, ["l2"])] == [3.0, 0.1, 1.0]
    records[0], records[2] = records[2], records[0]  # the diverged one last in the grid
    assert [row["l2"] for row in summarize(records, ["l2"])] == [3.0, 0.1, 1.0]
