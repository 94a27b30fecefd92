"""Sweep plans: grids and random searches over training settings, times seeds."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.errors import ConfigError
from glassnet.experiments.plan import parse_assignment, parse_seeds, plan_from_dict, plan_from_flags


def test_grid_times_seeds_in_order():
    plan = plan_from_dict({"sweep": {"l2": [0.1, 1.0], "lr": [0.1, 0.2, 0.3]}, "seeds": [0, 5]})
    trials = plan.trials()
    assert len(trials) == 2 * 3 * 2
    assert [t.index for t in trials] == list(range(12))
    assert trials[0].params == {"l2": 0.1, "lr": 0.1, "seed": 0}
    assert trials[1].params == {"l2": 0.1, "lr": 0.1, "seed": 5}
    assert trials[-1].params == {"l2": 1.0, "lr": 0.3, "seed": 5}
    assert trials[-1].config.l2 == 1.0 and trials[-1].config.lr == 0.3


def test_trial_streams_match_glassnet_run():
    """Configuration i under seed s gets default_rng(s).spawn(n)[i], as `glassnet run` does."""
    plan = plan_from_dict({"base": "seed", "seeds": [3]})  # the seed preset's own l2 grid
    trials = plan.trials()
    assert [t.params["l2"] for t in trials] == pytest.approx(np.logspace(-2, 2, 10).tolist())
    expected = np.random.default_rng(3).spawn(10)
    for trial, stream in zip(trials, expected, strict=True):
        assert trial.rng.random() == stream.random()


def test_random_search_is_seeded_and_independent_of_the_seeds():
    space = {"l2": {"loguniform": [0.01, 10]}, "lr": [0.1, 0.2], "epochs": {"randint": [5, 9]}}
    one = plan_from_dict({"sweep": space, "search": "random", "n_iter": 6, "seeds": [0]})
    two = plan_from_dict({"sweep": space, "search": "random", "n_iter": 6, "seeds": [0, 1, 2]})
    assert one.settings() == two.settings()
    assert len(two.trials()) == 18
    for setting in one.settings():
        assert 0.01 <= setting["l2"] <= 10 and setting["lr"] in (0.1, 0.2)
        assert 5 <= setting["epochs"] <= 9
    other = plan_from_dict({"sweep": space, "search": "random", "n_iter": 6, "search_seed": 1})
    assert other.settings() != one.settings()


def test_flags_on_top_of_a_file(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("seeds = [0]\n[train]\nepochs = 7\n[sweep]\nl2 = [0.5]\n")
    plan = plan_from_flags(
        path,
        settings=["lr=0.05", "hidden_layer_sizes=[16]"],
        grid=["activation=relu,tanh"],
        seeds="1-3",
    )
    assert plan.preset.train.epochs == 7 and plan.preset.train.lr == 0.05
    assert plan.preset.train.hidden_layer_sizes == (16,)
    assert plan.space == {"l2": [0.5], "activation": ["relu", "tanh"]}
    assert plan.seeds == [1, 2, 3]


def test_parsing_flag_values():
    assert parse_assignment("l2=0.1,1,10", many=True) == ("l2", [0.1, 1, 10])
    assert parse_assignment("hidden_layer_sizes=[32],[64,32]", many=True) == (
        "hidden_layer_sizes",
        [[32], [64, 32]],
    )
    assert parse_assignment("l2=logspace(-2, 2, 5)", many=True) == ("l2", {"logspace": [-2, 2, 5]})
    assert parse_assignment("optimizer=adam", many=False) == ("optimizer", "adam")
    assert parse_seeds("0,2") == [0, 2] and parse_seeds("2-4") == [2, 3, 4]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sweep": {"nosuch": [1]}}, "unknown setting"),
        ({"train": {"nosuch": 1}}, "unknown training setting"),
        ({"sweep": {"l2": {"loguniform": [0.1, 1]}}}, "use search = 'random'"),
        ({"seeds": [1, 1]}, "seeds repeat"),
        ({"search": "bayes"}, "search must be"),
        ({"sweep": {"lr": [-1.0]}}, "learning rate"),
        ({"colour": "red"}, "unknown key"),
    ],
)
def test_bad_plans_say_what_is_wrong(data, message):
    with pytest.raises(ConfigError, match=message):
        plan_from_dict(data).trials()


def test_sweep_records_equal_the_trials_of_glassnet_run(tmp_path):
    """`glassnet sweep --seeds s` trains exactly what `glassnet run --seed s` sweeps."""
    from glassnet.experiments import presets
    from glassnet.experiments.experiment import run_experiment
    from glassnet.experiments.sweep import run_sweep

    path = tmp_path / "tiny.toml"
    path.write_text("[train]\nhidden_layer_sizes = [8]\nepochs = 3\n[sweep]\nl2 = [0.1, 1.0]\n")
    run = run_experiment(presets.load(str(path)), seed=2, n_jobs=1)
    sweep = run_sweep(plan_from_flags(base=str(path), seeds="2"), n_jobs=1)
    assert sweep.records == [{**trial.record(), "seed": 2} for trial in run.trials]


def test_missing_or_invalid_sweep_file(tmp_path):
    with pytest.raises(ConfigError, match="config file '.*nope.toml' does not exist"):
        plan_from_flags(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("seeds = [0\n")
    with pytest.raises(ConfigError, match="config file '.*bad.toml' is not valid TOML"):
        plan_from_flags(bad)
    with pytest.raises(ConfigError, match="cannot read the value"):
        plan_from_flags(grid=["l2=logspace(x, 2, 3)"])


def test_an_empty_space_under_one_seed_is_refused_and_seeds_alone_are_a_sweep():
    with pytest.raises(ConfigError, match="nothing to sweep"):
        plan_from_flags(base="cnn")
    with pytest.raises(ConfigError, match="nothing to sweep"):
        plan_from_dict({"base": "cnn", "seeds": [3]})
    plan = plan_from_flags(base="cnn", seeds="0-2")
    assert plan.settings() == [{}] and plan.seeds == [0, 1, 2]
    assert plan_from_flags(base="cnn", grid=["l2=0.1,1"]).settings() == [{"l2": 0.1}, {"l2": 1}]
