"""Sweep trials scored on validation after their last epoch only, and the winner's curves
scored afterwards from its weight trajectory: the same numbers as scoring every epoch."""

import tempfile
from pathlib import Path

import numpy as np
import pytest

from glassnet.data import load_digits, seed_split
from glassnet.experiments import trials as trials_module
from glassnet.experiments.trials import (
    Trial,
    TrialResult,
    complete_curves,
    lead,
    load_trials,
    run_trial,
    run_trials,
    save_trial,
    trajectory_path,
)
from glassnet.training.config import TrainConfig, build
from glassnet.training.history import History


@pytest.fixture(scope="module")
def digits():
    splits = seed_split(load_digits())
    return (splits.train.x, splits.train.y), (splits.validation.x, splits.validation.y)


def config(**changes):
    """A seed-shaped network, float32 as the seed preset trains it, for a few epochs."""
    settings = dict(
        hidden_layer_sizes=(12, 8),
        output_activation="sigmoid",
        lr=0.2,
        epochs=15,
        l2=0.5,
        dtype="float32",
    )
    return TrainConfig(**{**settings, **changes})


def trial(index=0, seed=0, **changes):
    return Trial(index, config(**changes), np.random.default_rng(seed), {"l2": 0.5})


@pytest.mark.parametrize("fork", [True, False], ids=["in two processes", "in this one"])
def test_curves_scored_afterwards_are_those_scored_every_epoch_bit_for_bit(
    digits, monkeypatch, fork
):
    train, valid = digits
    if not fork or not trials_module.can_fork():
        monkeypatch.setattr(trials_module, "can_fork", lambda: False)
    every = run_trial(trial(), train, valid, 10, keep_state=True)
    at_end = run_trial(trial(), train, valid, 10, keep_state=True, curves=False)
    assert at_end.history.validation_loss == [] and at_end.trajectory.shape == (
        15,
        12 * 65 + 8 * 13 + 10 * 9,
    )
    assert at_end.history.train_loss == every.history.train_loss
    assert at_end.record() == every.record()
    assert at_end.score == every.score
    complete_curves(at_end, trial().config, valid, 10)
    assert at_end.trajectory is None
    assert at_end.history.to_dict() == every.history.to_dict()
    assert len(set(every.history.validation_loss)) == 15  # the curve really moves
    for key, value in every.state.items():
        np.testing.assert_array_equal(at_end.state[key], value)


def test_without_kept_weights_a_trial_records_its_final_scores_and_no_curves(digits):
    train, valid = digits
    every = run_trial(trial(), train, valid, 10)
    at_end = run_trial(trial(), train, valid, 10, curves=False)
    assert at_end.trajectory is None and at_end.state is None
    assert at_end.history.validation_loss == at_end.history.validation_accuracy == []
    assert at_end.last_validation == (every.history.validation_loss[-1], every.final_accuracy)
    assert at_end.record() == every.record() and at_end.score == every.score


def test_a_regression_trial_scored_at_the_end_is_chosen_by_its_loss(digits):
    (x, y), (x_valid, y_valid) = digits
    regression = dict(loss="mse", output_activation="identity", hidden_layer_sizes=(6,))
    train, valid = (x, y / 9.0), (x_valid, y_valid / 9.0)
    every = run_trial(trial(**regression), train, valid, 1)
    at_end = run_trial(trial(**regression), train, valid, 1, curves=False)
    assert at_end.last_validation[1] is None and at_end.final_accuracy is None
    assert at_end.score == every.score == -every.history.validation_loss[-1]
    assert at_end.record() == every.record()


@pytest.mark.parametrize(
    "watching", [{"early_stopping_patience": 3}, {"lr_schedule": "plateau", "lr_patience": 2}]
)
def test_a_training_that_watches_validation_is_scored_every_epoch(digits, watching):
    train, valid = digits
    every = run_trial(trial(**watching), train, valid, 10, keep_state=True)
    at_end = run_trial(trial(**watching), train, valid, 10, keep_state=True, curves=False)
    assert at_end.trajectory is None and at_end.last_validation is None
    assert at_end.history.to_dict() == every.history.to_dict()
    assert len(at_end.history.validation_loss) == len(at_end.history.train_loss)


def test_a_network_too_large_for_its_trajectory_is_scored_every_epoch(digits, monkeypatch):
    train, valid = digits
    size = trials_module.trajectory_bytes(build(config(), 64, 10, np.random.default_rng(0))[0], 15)
    monkeypatch.setattr(trials_module, "TRAJECTORY_LIMIT", size)
    assert (
        run_trial(trial(), train, valid, 10, keep_state=True, curves=False).trajectory is not None
    )
    monkeypatch.setattr(trials_module, "TRAJECTORY_LIMIT", size - 1)
    too_large = run_trial(trial(), train, valid, 10, keep_state=True, curves=False)
    assert too_large.trajectory is None and too_large.last_validation is None
    assert len(too_large.history.validation_loss) == 15


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_only_the_winner_keeps_its_trajectory_and_the_files_are_removed(
    digits, monkeypatch, tmp_path, n_jobs
):
    train, valid = digits
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    grid = [
        Trial(i, config(l2=l2, epochs=8), np.random.default_rng(i), {"l2": l2})
        for i, l2 in enumerate([0.01, 3.0, 30.0, 0.3])
    ]
    results = run_trials(
        grid, train, valid, n_outputs=10, n_jobs=n_jobs, keep_state=True, curves=False
    )
    assert [r.index for r in results] == [0, 1, 2, 3]
    kept = [r for r in results if r.trajectory is not None]
    best = max(results, key=lambda r: (r.score, -r.index))
    assert kept == [best]
    assert kept[0].trajectory.shape[0] == 8
    assert list(tmp_path.iterdir()) == []  # the temporary folder went with the sweep


def result(index, accuracy):
    return TrialResult(index, {}, History(train_loss=[1.0]), last_validation=(1.0, accuracy))


def test_lead_keeps_the_first_of_the_best_scores_whatever_order_they_come_in(tmp_path):
    folder = str(tmp_path)
    arrivals = [result(3, 0.9), result(1, 0.8), result(2, 0.9), result(0, 0.7), result(4, 0.95)]
    leader = None
    leaders = []
    for arrival in arrivals:
        np.save(trajectory_path(folder, arrival.index), np.zeros((1, 2)))
        leader = lead(leader, arrival, folder)
        leaders.append(leader.index)
    assert leaders == [3, 3, 2, 2, 4]  # 2 beats 3 on the tie: select_best's first of equals
    assert sorted(path.name for path in tmp_path.iterdir()) == ["trial-00004.npy"]
    # A result that saved no trajectory (it watched validation) never leads.
    assert lead(leader, result(5, 1.0), folder) is leader


def test_a_trial_record_keeps_its_final_scores_for_a_resumed_run(tmp_path, digits):
    train, valid = digits
    at_end = run_trial(trial(), train, valid, 10, curves=False)
    save_trial(tmp_path, at_end)
    loaded = load_trials(tmp_path, [trial()])[0]
    assert loaded.last_validation == at_end.last_validation
    assert loaded.record() == at_end.record() and loaded.score == at_end.score
    regression = TrialResult(
        1, {"l2": 0.5}, History(train_loss=[1.0]), last_validation=(0.25, None)
    )
    save_trial(tmp_path, regression)
    assert load_trials(tmp_path, [trial(), trial(index=1)])[1].last_validation == (0.25, None)


def test_trajectory_files_live_in_the_folder_given(tmp_path):
    assert trajectory_path(str(tmp_path), 7) == Path(tmp_path) / "trial-00007.npy"
