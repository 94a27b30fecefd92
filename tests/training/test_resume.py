"""Nothing lost: interrupted trainings and sweeps continue to the same result, bit for bit."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import numpy as np
import pytest

from glassnet import ConfigError, DivergenceError, ModelFileError
from glassnet.cli.app import main
from glassnet.experiments import presets
from glassnet.experiments.experiment import STATE_FILE, TRIALS_FOLDER, run_experiment, start_run
from glassnet.models import checkpoint
from glassnet.training.config import TrainConfig, fit_from_config
from glassnet.training.resume import (
    Checkpointer,
    StopSignals,
    TrainingInterrupted,
    TrainingState,
    load_state,
    save_state,
)

# Minibatches, dropout and Adam: every piece of state (rng, optimizer moments) matters.
TINY_PRESET = """
description = "tiny: interrupt-and-resume tests"
scaling = "standard"
{top}
[train]
hidden_layer_sizes = [16]
activation = "tanh"
dropout = 0.1
optimizer = "adam"
lr = 0.01
l2 = 0.01
epochs = {epochs}
batch_size = 64
{sweep}
"""


def tiny_preset(tmp_path, epochs=300, sweep="[sweep]\nl2 = [0.01]", top=""):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_PRESET.format(epochs=epochs, sweep=sweep, top=top))
    return path


def small_problem():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((90, 6))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int) + (x[:, 2] > 0.8).astype(int)
    return (x[:60], y[:60]), (x[60:], y[60:])


CONFIG = TrainConfig(
    hidden_layer_sizes=(12,),
    activation="relu",
    dropout=0.2,
    optimizer="adam",
    lr=0.01,
    epochs=20,
    batch_size=16,
)


class StopAt:
    """Requests a stop during ``epoch`` (0-based), as a signal would."""

    def __init__(self, stop, epoch):
        self.stop, self.epoch = stop, epoch

    def __call__(self, epoch, history, model):
        if epoch == self.epoch:
            self.stop.requested = True


# Step and cosine schedules change the learning rate each epoch: the saved state must hold it.
SCHEDULED = {
    "constant": {},
    "step": {"lr_schedule": "step", "lr_step": 3, "lr_decay": 0.5},
    "cosine": {"lr_schedule": "cosine", "lr_min": 0.001},
}


@pytest.mark.parametrize("schedule", sorted(SCHEDULED))
def test_interrupted_training_resumes_bit_for_bit(schedule, tmp_path):
    config = CONFIG.replace(**SCHEDULED[schedule])
    train_data, valid = small_problem()
    straight, straight_history = fit_from_config(
        config, train_data, valid, n_outputs=3, rng=np.random.default_rng(9)
    )
    stop = StopSignals()
    path = tmp_path / "state.npz"
    with pytest.raises(TrainingInterrupted) as interrupted:
        fit_from_config(
            config,
            train_data,
            valid,
            n_outputs=3,
            rng=np.random.default_rng(9),
            callbacks=[StopAt(stop, 6)],
            checkpointer=Checkpointer(path, stop),
        )
    assert interrupted.value.epoch == 7 and load_state(path).epoch == 7
    # A fresh process would start from a fresh generator: the saved state replaces it.
    resumed, history = fit_from_config(
        config,
        train_data,
        valid,
        n_outputs=3,
        rng=np.random.default_rng(12345),
        checkpointer=Checkpointer(path, StopSignals()),
    )
    assert history.to_dict() == straight_history.to_dict()
    for key, value in straight.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value)


def test_state_file_is_plain_arrays_and_json(tmp_path):
    train_data, _ = small_problem()
    rng = np.random.default_rng(0)
    config = CONFIG.replace(epochs=2)
    model, history = fit_from_config(config, train_data, None, n_outputs=3, rng=rng)
    from glassnet.training.config import build

    _, _, optimizer = build(CONFIG, 6, 3, np.random.default_rng(1))
    state = TrainingState.capture(model, optimizer, rng, history, {"note": "x"})
    path = save_state(state, tmp_path / "state.npz")
    with np.load(path, allow_pickle=False) as archive:
        assert all(archive[name].dtype != object for name in archive.files)
        header = json.loads(archive["__state__"].tobytes())
    assert header["rng_state"] == rng.bit_generator.state
    loaded = load_state(path)
    assert loaded.epoch == 2 and loaded.info == {"note": "x"}
    assert loaded.history.to_dict() == history.to_dict()


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04junk"])
def test_damaged_state_file_is_refused(content, tmp_path):
    path = tmp_path / "state.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError):
        load_state(path)


def test_state_of_another_training_is_refused(tmp_path):
    train_data, valid = small_problem()
    stop = StopSignals()
    path = tmp_path / "state.npz"
    saver = Checkpointer(path, stop, {"a": 1})
    with pytest.raises(TrainingInterrupted):
        fit_from_config(
            CONFIG,
            train_data,
            valid,
            n_outputs=3,
            rng=np.random.default_rng(0),
            callbacks=[StopAt(stop, 1)],
            checkpointer=saver,
        )
    with pytest.raises(ConfigError, match="different training"):
        fit_from_config(
            CONFIG,
            train_data,
            valid,
            n_outputs=3,
            rng=np.random.default_rng(0),
            checkpointer=Checkpointer(path, StopSignals(), {"a": 2}),
        )


def test_signals_are_deferred_or_raised_and_handlers_restored():
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals() as stop:
        stop.deferred = True
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)
        assert stop.requested
        with pytest.raises(KeyboardInterrupt):  # a second signal stops at once
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
    assert signal.getsignal(signal.SIGTERM) is before
    with pytest.raises(KeyboardInterrupt), StopSignals():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)


def final_weights(model):
    return {k: v for net in model.networks for k, v in net.state_dict().items()}


def interrupt_then_resume(command, out, epochs):
    """Run ``glassnet COMMAND`` in a real process, SIGINT it during the final training, check
    the saved state, then ``glassnet COMMAND --resume`` it to the end."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    cli = [sys.executable, "-m", "glassnet.cli"]
    process = subprocess.Popen(
        [*cli, *command, "--out", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The sweep has one trial, as long as the final training (0.2 s or more); the final
    # training starts once that trial's record is written and synced (the short wait).
    deadline = time.monotonic() + 120
    while not (out / TRIALS_FOLDER / "trial-00000.json").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.002)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert f"glassnet {command[0]} --resume {out}" in err and "Traceback" not in err
    saved = load_state(out / STATE_FILE)
    assert 0 < saved.epoch < epochs, "the signal should land inside the final training"

    resumed = subprocess.run(
        [*cli, command[0], "--resume", str(out), "--jobs", "1", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert not (out / STATE_FILE).exists()
    return checkpoint.load(out / "model.npz"), json.loads((out / "metrics.json").read_text())


def test_sigint_during_a_real_run_then_resume_matches_an_uninterrupted_run(tmp_path):
    # Refit on train+valid: a final network on train alone would be the sweep's winner itself.
    preset_path = tiny_preset(tmp_path, top='refit = "train+valid"')
    out = tmp_path / "run"
    command = ["run", "--preset", str(preset_path), "--jobs", "1", "--quiet"]
    model, metrics = interrupt_then_resume(command, out, epochs=300)

    # The uninterrupted reference reuses the (identical) sweep record and trains only the final
    # model, without pause.
    preset = presets.load(str(preset_path))
    reference_dir = start_run(preset, 0, tmp_path / "reference")
    (reference_dir / TRIALS_FOLDER).mkdir()
    shutil.copy(out / TRIALS_FOLDER / "trial-00000.json", reference_dir / TRIALS_FOLDER)
    reference = run_experiment(preset, seed=0, n_jobs=1, run_dir=reference_dir)
    for key, value in final_weights(reference.model).items():
        np.testing.assert_array_equal(final_weights(model)[key], value)
    assert metrics["history"] == reference.history.to_dict()
    assert metrics["test_accuracy"] == reference.test_accuracy


def test_sigint_during_glassnet_train_then_resume_matches_an_uninterrupted_run(tmp_path):
    values = np.random.default_rng(1).standard_normal((60, 3))
    rows = "".join(
        f"{a:.4f},{b:.4f},{c:.4f},{'up' if a + b > 0 else 'down'}\n" for a, b, c in values
    )
    (tmp_path / "points.csv").write_text("a,b,c,direction\n" + rows)
    (tmp_path / "train.toml").write_text(
        'target = "direction"\nrefit = "train+valid"\n'
        '[train]\nhidden_layer_sizes = [8]\nactivation = "tanh"\n'
        'optimizer = "adam"\nlr = 0.01\nepochs = 600\nbatch_size = 4\n[sweep]\nl2 = [0.01]\n'
    )
    command = [
        "train",
        "--config",
        str(tmp_path / "train.toml"),
        "--data",
        str(tmp_path / "points.csv"),
        "--seed",
        "3",
        "--patience",
        "none",  # a table's default early stopping would end the final training too soon
        "--jobs",
        "1",
        "--quiet",
    ]
    model, metrics = interrupt_then_resume(command, tmp_path / "run", epochs=600)
    assert main([*command, "--out", str(tmp_path / "reference")]) == 0
    reference = checkpoint.load(tmp_path / "reference" / "model.npz")
    for key, value in final_weights(reference).items():
        np.testing.assert_array_equal(final_weights(model)[key], value)
    reference_metrics = json.loads((tmp_path / "reference" / "metrics.json").read_text())
    assert metrics["history"] == reference_metrics["history"]


def test_sweep_resumes_with_only_the_missing_trials(tmp_path):
    sweep = "[sweep]\nl2 = [0.1, 1.0, 10.0]"
    preset = presets.load(str(tiny_preset(tmp_path, epochs=3, sweep=sweep)))
    full = run_experiment(preset, seed=4, n_jobs=1, run_dir=start_run(preset, 4, tmp_path / "a"))
    out = start_run(preset, 4, tmp_path / "b")
    ran = []
    run_experiment(preset, seed=4, n_jobs=1, run_dir=out, on_trial=ran.append)
    (out / TRIALS_FOLDER / "trial-00001.json").unlink()  # as if killed before trial 1 finished
    ran.clear()
    resumed = run_experiment(preset, seed=4, n_jobs=1, run_dir=out, on_trial=ran.append)
    assert [r.index for r in ran] == [1]
    assert [t.record() for t in resumed.trials] == [t.record() for t in full.trials]
    for key, value in final_weights(full.model).items():
        np.testing.assert_array_equal(final_weights(resumed.model)[key], value)


def test_a_run_folder_is_never_overwritten(tmp_path):
    preset = presets.load(str(tiny_preset(tmp_path, epochs=2)))
    out = start_run(preset, 0, tmp_path / "run")
    start_run(preset, 0, out)  # nothing done yet: nothing to lose
    run_experiment(preset, seed=0, n_jobs=1, run_dir=out)
    with pytest.raises(ConfigError, match="--resume"):
        start_run(preset, 0, out)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_every_trial_diverging_is_a_clear_error(tmp_path):
    sweep = "[sweep]\nl2 = [0.01, 0.1]"
    text = TINY_PRESET.format(epochs=5, sweep=sweep, top="").replace("lr = 0.01", "lr = 1e300")
    preset = presets.from_dict("diverges", tomllib.loads(text))
    with pytest.raises(DivergenceError, match="every trial .* smaller learning rate"):
        run_experiment(preset, seed=0, n_jobs=1, run_dir=start_run(preset, 0, tmp_path / "run"))
    record = json.loads((tmp_path / "run" / TRIALS_FOLDER / "trial-00000.json").read_text())
    assert "smaller learning rate" in record["diverged"]


def sweep_plan(grid="l2=0.1,1,10"):
    from glassnet.experiments.plan import plan_from_flags

    return plan_from_flags(
        settings=["epochs=3", "hidden_layer_sizes=[8]"], grid=[grid], seeds="0,1"
    )


def test_glassnet_sweep_killed_part_way_runs_only_the_missing_trials(tmp_path):
    from glassnet.experiments.sweep import run_sweep

    full = run_sweep(sweep_plan(), out=tmp_path / "full", n_jobs=1)
    out = tmp_path / "killed"
    run_sweep(sweep_plan(), out=out, n_jobs=1)
    lines = (out / "trials.jsonl").read_text().splitlines()
    # As if killed after four of the six trials: only those four records were written.
    (out / "trials.jsonl").write_text("".join(line + "\n" for line in lines[:4]))
    ran = []
    resumed = run_sweep(sweep_plan(), out=out, n_jobs=1, on_record=ran.append)
    assert [record["trial"] for record in ran] == [4, 5]
    assert resumed.records == full.records and resumed.summary == full.summary
    assert (out / "trials.jsonl").read_text() == (tmp_path / "full" / "trials.jsonl").read_text()


def test_glassnet_sweep_refuses_a_folder_of_another_sweep(tmp_path):
    from glassnet.experiments.sweep import run_sweep

    run_sweep(sweep_plan(), out=tmp_path, n_jobs=1)
    with pytest.raises(ConfigError, match="different sweep"):
        run_sweep(sweep_plan("l2=0.5,5"), out=tmp_path, n_jobs=1)


def test_sweep_records_are_written_atomically_in_trial_order(tmp_path):
    from glassnet.experiments.sweep import run_sweep

    run_sweep(sweep_plan(), out=tmp_path, n_jobs=2)
    records = [json.loads(line) for line in (tmp_path / "trials.jsonl").read_text().splitlines()]
    assert [record["trial"] for record in records] == list(range(6))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def signal_at(epoch_number):
    """An ``on_epoch`` hook that sends this process SIGINT after epoch ``epoch_number``."""

    def on_epoch(epoch, epochs, history):
        if epoch == epoch_number:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)  # let the handler run here, inside the run's StopSignals

    return on_epoch


@pytest.mark.parametrize(
    "extra",
    [
        "",
        # Callbacks with a state of their own: it is saved and restored with the training's.
        'lr_schedule = "plateau"\nlr_patience = 2\nlr_decay = 0.5',
        "early_stopping_patience = 4",
    ],
)
def test_sigint_in_the_final_training_then_rerun_gives_the_same_result(extra, tmp_path):
    # No sweep, so the final network is trained here rather than taken from a sweep trial.
    text = TINY_PRESET.format(epochs=12, sweep="", top="").replace(
        "batch_size = 64", "batch_size = 64\n" + extra
    )
    preset = presets.from_dict("tiny", tomllib.loads(text))
    reference = run_experiment(preset, seed=2, n_jobs=1)
    out = start_run(preset, 2, tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        run_experiment(preset, seed=2, n_jobs=1, run_dir=out, on_epoch=signal_at(5))
    assert load_state(out / STATE_FILE).epoch == 5
    resumed = run_experiment(preset, seed=2, n_jobs=1, run_dir=out)
    assert resumed.history.to_dict() == reference.history.to_dict()
    for key, value in final_weights(reference.model).items():
        np.testing.assert_array_equal(final_weights(resumed.model)[key], value)
