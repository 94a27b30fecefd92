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
