"""Sweep trials scored on validation after their last epoch only, and the winner's curves
scored afterwards from its weight trajectory: the same numbers as scoring every epoch."""

import json
import os
import tempfile

import numpy as np
import pytest

from glassnet.data import load_digits, seed_split
from glassnet.experiments import trajectories
from glassnet.experiments import trials as trials_module
from glassnet.experiments.trajectories import Leader, complete_curves, trajectory_path
from glassnet.experiments.trials import (
    Trial,
    TrialResult,
    load_trials,
    run_trial,
    run_trials,
    save_trial,
)
from glassnet.training.config import TrainConfig, shaped_network
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
    if fork and not trajectories.can_fork(beside_threads=True):
        pytest.skip("needs os.fork and a second core")
    copies = []
    if fork:  # the copy's half must really come from the copy, not from a rerun here
        real = trajectories.in_two

        def in_two(mine, theirs):
            result, (pid, curves) = real(mine, lambda: (os.getpid(), theirs()))
            copies.append(pid)
            return result, curves

        monkeypatch.setattr(trajectories, "in_two", in_two)
    every = run_trial(trial(), train, valid, 10, keep_state=True)
    at_end = run_trial(trial(), train, valid, 10, keep_state=True, score_every_epoch=False)
    assert at_end.history.validation_loss == [] and at_end.trajectory.shape == (
        15,
        12 * 65 + 8 * 13 + 10 * 9,
    )
    assert at_end.history.train_loss == every.history.train_loss
    assert at_end.record() == every.record()
    assert at_end.score == every.score
    complete_curves(at_end, trial().config, valid, 10, fork=fork)
    assert len(copies) == fork and os.getpid() not in copies
    assert at_end.trajectory is None
    assert at_end.history.to_dict() == every.history.to_dict()
    assert len(set(every.history.validation_loss)) == 15  # the curve really moves
    for key, value in every.state.items():
        np.testing.assert_array_equal(at_end.state[key], value)


def test_without_kept_weights_a_trial_records_its_final_scores_and_no_curves(digits):
    train, valid = digits
    every = run_trial(trial(), train, valid, 10)
    at_end = run_trial(trial(), train, valid, 10, score_every_epoch=False)
    assert at_end.trajectory is None and at_end.state is None
    assert at_end.history.validation_loss == at_end.history.validation_accuracy == []
    assert at_end.last_validation == (every.history.validation_loss[-1], every.final_accuracy)
    assert at_end.record() == every.record() and at_end.score == every.score


def test_a_regression_trial_scored_at_the_end_is_chosen_by_its_loss(digits):
    (x, y), (x_valid, y_valid) = digits
    regression = dict(loss="mse", output_activation="identity", hidden_layer_sizes=(6,))
    train, valid = (x, y / 9.0), (x_valid, y_valid / 9.0)
    every = run_trial(trial(**regression), train, valid, 1)
    at_end = run_trial(trial(**regression), train, valid, 1, score_every_epoch=False)
    assert at_end.last_validation[1] is None and at_end.final_accuracy is None
    assert at_end.score == every.score == -every.history.validation_loss[-1]
    assert at_end.record() == every.record()


@pytest.mark.parametrize(
    "watching", [{"early_stopping_patience": 3}, {"lr_schedule": "plateau", "lr_patience": 2}]
)
def test_a_training_that_watches_validation_is_scored_every_epoch(digits, watching):
    train, valid = digits
    every = run_trial(trial(**watching), train, valid, 10, keep_state=True)
    at_end = run_trial(
        trial(**watching), train, valid, 10, keep_state=True, score_every_epoch=False
    )
    assert at_end.trajectory is None and at_end.last_validation is None
    assert at_end.history.to_dict() == every.history.to_dict()
    assert len(at_end.history.validation_loss) == len(at_end.history.train_loss)


def test_a_network_too_large_for_its_trajectory_is_scored_every_epoch(digits, monkeypatch):
    train, valid = digits
    size = trials_module.trajectory_bytes(shaped_network(config(), 64, 10), 15)
    monkeypatch.setattr(trials_module, "TRAJECTORY_LIMIT_BYTES", size)
    assert (
        run_trial(trial(), train, valid, 10, keep_state=True, score_every_epoch=False).trajectory
        is not None
    )
    monkeypatch.setattr(trials_module, "TRAJECTORY_LIMIT_BYTES", size - 1)
    too_large = run_trial(trial(), train, valid, 10, keep_state=True, score_every_epoch=False)
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
        grid, train, valid, n_outputs=10, n_jobs=n_jobs, keep_state=True, score_every_epoch=False
    )
    assert [r.index for r in results] == [0, 1, 2, 3]
    kept = [r for r in results if r.trajectory is not None]
    best = max(results, key=lambda r: (r.score, -r.index))
    assert kept == [best]
    assert kept[0].trajectory.shape[0] == 8
    assert list(tmp_path.iterdir()) == []  # the temporary folder went with the sweep


def result(index, accuracy):
    return TrialResult(index, {}, History(train_loss=[1.0]), last_validation=(1.0, accuracy))


def test_the_leader_is_the_first_of_the_best_scores_whatever_order_they_come_in(tmp_path):
    leader = Leader(tmp_path)
    arrivals = [result(3, 0.9), result(1, 0.8), result(2, 0.9), result(0, 0.7), result(4, 0.95)]
    leaders = []
    for arrival in arrivals:
        np.save(trajectory_path(tmp_path, arrival.index), np.full((1, 2), arrival.index))
        leader.offer(arrival)
        leaders.append(leader.result.index)
    assert leaders == [3, 3, 2, 2, 4]  # 2 beats 3 on the tie: select_best's first of equals
    assert sorted(path.name for path in tmp_path.iterdir()) == ["trial-00004.npy"]
    # A result that saved no trajectory (it watched validation) never leads.
    leader.offer(result(5, 1.0))
    assert leader.result.index == 4
    leader.read()
    np.testing.assert_array_equal(leader.result.trajectory, np.full((1, 2), 4))


def test_a_nan_score_never_wins_for_the_leader_or_for_select_best(tmp_path):
    from glassnet.experiments.experiment import select_best

    losses = [0.5, float("nan"), 0.7]
    results = [
        TrialResult(i, {}, History(train_loss=[1.0]), last_validation=(loss, None))
        for i, loss in enumerate(losses)
    ]
    assert [r.score for r in results] == [-0.5, -np.inf, -0.7]
    leader = Leader(tmp_path)
    for r in results:
        np.save(trajectory_path(tmp_path, r.index), np.zeros((1, 1)))
        leader.offer(r)
    assert leader.result is select_best(results, preset=None) is results[0]


def test_a_trial_record_keeps_its_final_scores_for_a_resumed_run(tmp_path, digits):
    train, valid = digits
    at_end = run_trial(trial(), train, valid, 10, score_every_epoch=False)
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
    assert trajectory_path(tmp_path, 7) == tmp_path / "trial-00007.npy"


def test_a_diverged_trial_records_what_scoring_every_epoch_recorded(digits):
    train, valid = digits
    # A linear network at this rate overflows at its fifth epoch.
    blows_up = dict(activation="identity", output_activation="identity", lr=0.5, l2=0.0)
    with np.errstate(all="ignore"):  # the overflow, before the clear DivergenceError
        every = run_trial(trial(**blows_up), train, valid, 10, keep_state=True)
        at_end = run_trial(
            trial(**blows_up), train, valid, 10, keep_state=True, score_every_epoch=False
        )
    assert every.diverged is not None and every.history.validation_loss
    # The last epoch before the blow-up scored NaN: compared as JSON, where NaN == NaN.
    assert json.dumps(at_end.record()) == json.dumps(every.record())
    assert json.dumps(at_end.history.to_dict()) == json.dumps(every.history.to_dict())
    assert at_end.diverged == every.diverged and at_end.trajectory is None


def test_a_trajectory_that_cannot_be_saved_leaves_the_winner_to_be_retrained(
    digits, monkeypatch, tmp_path
):
    from glassnet.experiments.experiment import run_experiment, start_run
    from glassnet.experiments.presets import from_dict

    preset = from_dict(
        "tiny-seed",
        {"train": {**config(epochs=6).to_dict(), "output_activation": "sigmoid"},
         "sweep": {"l2": [0.01, 0.5]}},
    )  # fmt: skip
    kept = run_experiment(preset, seed=1, n_jobs=1, run_dir=start_run(preset, 1, tmp_path / "a"))

    def full_disk(path, write, mode="wb"):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(trajectories, "write_atomic", full_disk)
    retrained = run_experiment(
        preset, seed=1, n_jobs=1, run_dir=start_run(preset, 1, tmp_path / "b")
    )
    assert len(retrained.history.validation_loss) == 6
    assert retrained.history.to_dict() == kept.history.to_dict()
    assert retrained.metrics()["sweep"] == kept.metrics()["sweep"]
    for key, value in kept.model.networks[0].state_dict().items():
        np.testing.assert_array_equal(retrained.model.networks[0].state_dict()[key], value)
    # The scratch folders were made inside the run folders, and are gone.
    assert not list(tmp_path.glob("*/.glassnet-trajectories-*"))


def test_a_scratch_folder_a_killed_run_left_is_removed_by_the_next(digits, tmp_path):
    train, valid = digits
    stale = tmp_path / ".glassnet-trajectories-killed"
    stale.mkdir()
    (stale / "trial-00000.npy").write_bytes(b"left by a run that was killed")
    results = run_trials(
        [trial()], train, valid, n_outputs=10, n_jobs=1, keep_state=True,
        score_every_epoch=False, scratch=tmp_path,
    )  # fmt: skip
    assert results[0].trajectory is not None
    assert list(tmp_path.iterdir()) == []


def test_without_a_scratch_folder_every_epoch_is_scored(digits, tmp_path):
    train, valid = digits
    results = run_trials(
        [trial()], train, valid, n_outputs=10, n_jobs=1, keep_state=True,
        score_every_epoch=False, scratch=tmp_path / "missing",
    )  # fmt: skip
    assert results[0].trajectory is None and len(results[0].history.validation_loss) == 15
