"""Divergence: training stops at once with advice, keeping (and saving) the best weights."""

import numpy as np
import pytest

import glassnet.experiments.experiment
from glassnet import SGD, DivergenceError, SoftmaxCrossEntropy, fit, mlp
from glassnet.experiments import presets
from glassnet.experiments.experiment import run_experiment, start_run
from glassnet.models import checkpoint
from glassnet.training.config import fit_from_config

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def problem():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((50, 4))
    y = (x[:, 0] > 0).astype(int)
    return (x[:30], y[:30]), (x[30:], y[30:])


class BlowUpAt:
    """Records each epoch's weights, and sets them to infinity at ``epoch``, as a runaway
    learning rate would."""

    def __init__(self, epoch):
        self.epoch, self.weights = epoch, []

    def __call__(self, epoch, history, model):
        self.weights.append({k: v.copy() for k, v in model.state_dict().items()})
        if epoch == self.epoch:
            for param in model.parameters():
                param.value[...] = np.inf


def test_divergence_keeps_the_best_epochs_weights():
    train_data, valid = problem()
    model = mlp([4, 6, 2], activation_name="tanh", rng=np.random.default_rng(0))
    blow_up = BlowUpAt(5)
    with pytest.raises(DivergenceError, match="smaller learning rate") as error:
        fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(model.parameters(), lr=0.1),
            train_data,
            valid,
            epochs=20,
            callbacks=[blow_up],
        )
    history = error.value.history
    assert len(history.train_loss) == 6  # epochs 0..5 finished; epoch 6 diverged
    best = int(np.argmin(history.validation_loss))
    assert error.value.best_epoch == best and f"epoch {best + 1}" in str(error.value)
    assert error.value.model is model
    for key, value in blow_up.weights[best].items():
        np.testing.assert_array_equal(model.state_dict()[key], value)


class SpoilAt(BlowUpAt):
    """Records each epoch's weights; after ``epoch`` scrambles them (a bad step) so the later
    epochs are worse than the earlier ones, then sets them to infinity at ``blow_up``."""

    def __init__(self, epoch, blow_up):
        super().__init__(blow_up)
        self.spoil = epoch

    def __call__(self, epoch, history, model):
        super().__call__(epoch, history, model)
        if epoch == self.spoil:
            for param in model.parameters():
                param.value[...] = 5.0 * np.random.default_rng(0).standard_normal(param.value.shape)


@pytest.mark.parametrize("with_validation", [True, False])
def test_divergence_keeps_the_best_epoch_not_the_last_one(with_validation):
    train_data, valid = problem()
    model = mlp([4, 6, 2], activation_name="tanh", rng=np.random.default_rng(0))
    spoil = SpoilAt(2, blow_up=6)
    with pytest.raises(DivergenceError) as error:
        fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(model.parameters(), lr=0.1),
            train_data,
            valid if with_validation else None,
            epochs=20,
            callbacks=[spoil],
        )
    history = error.value.history
    watched = history.validation_loss if with_validation else history.train_loss
    assert len(watched) == 7
    best = int(np.argmin(watched))
    assert best < 6 and watched[best] < min(watched[3:])  # the last epochs are worse
    assert error.value.best_epoch == best and f"weights of epoch {best + 1}" in str(error.value)
    for key, value in spoil.weights[best].items():
        np.testing.assert_array_equal(model.state_dict()[key], value)


def test_divergence_in_the_first_epoch_keeps_the_initial_weights():
    train_data, _ = problem()
    model = mlp([4, 2], rng=np.random.default_rng(0))
    initial = {k: v.copy() for k, v in model.state_dict().items()}
    x, y = train_data
    x = np.where(x > 0, 1e308, -1e308)  # logits overflow to +-inf at once
    with pytest.raises(
        DivergenceError, match="The model keeps its initial weights, the best so far$"
    ) as error:
        fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), (x, y), epochs=3)
    assert error.value.best_epoch == -1 and len(error.value.history.train_loss) == 0
    for key, value in initial.items():
        np.testing.assert_array_equal(model.state_dict()[key], value)


def test_on_a_tie_the_earliest_epoch_stays_the_best():
    """An optimizer that never moves the weights gives every epoch the same validation loss:
    the first of them, epoch 0, is the best, and the message counts it as epoch 1."""
    train_data, valid = problem()
    model = mlp([4, 6, 2], activation_name="tanh", rng=np.random.default_rng(0))

    class Still:
        lr = 0.1

        def step(self):
            pass

    with pytest.raises(DivergenceError, match="keeps the weights of epoch 1, the best") as error:
        fit(
            model,
            SoftmaxCrossEntropy(),
            Still(),  # type: ignore[arg-type]
            train_data,
            valid,
            epochs=10,
            callbacks=[BlowUpAt(3)],
        )
    assert len(set(error.value.history.validation_loss)) == 1
    assert error.value.best_epoch == 0


def test_divergence_in_a_run_saves_the_best_weights_in_the_run_folder(tmp_path, monkeypatch):
    text = '[train]\nhidden_layer_sizes = [8]\nepochs = 8\nlr = 0.1\nactivation = "tanh"\n'
    (tmp_path / "small.toml").write_text(text)
    preset = presets.load(str(tmp_path / "small.toml"))
    blow_up = BlowUpAt(4)

    def final_training_blows_up(*args, checkpointer=None, callbacks=(), **kwargs):
        if checkpointer is not None:  # only the final training has one
            callbacks = [*callbacks, blow_up]
        return fit_from_config(*args, checkpointer=checkpointer, callbacks=callbacks, **kwargs)

    monkeypatch.setattr(glassnet.experiments.experiment, "fit_from_config", final_training_blows_up)
    out = start_run(preset, 0, tmp_path / "run")
    with pytest.raises(DivergenceError, match=f"saved in {out / 'model.npz'}") as error:
        run_experiment(preset, seed=0, n_jobs=1, run_dir=out)
    saved = checkpoint.load(out / "model.npz")
    assert "smaller learning rate" in saved.info["diverged"]
    best = error.value.best_epoch
    for key, value in blow_up.weights[best].items():
        np.testing.assert_array_equal(saved.network.state_dict()[key], value)


def test_a_diverging_ensemble_member_is_a_divergence_error(tmp_path):
    text = (
        "ensemble = 2\n[train]\nhidden_layer_sizes = [8]\nepochs = 3\nlr = 1e300\n"
        'activation = "relu"\n'
    )
    (tmp_path / "wild.toml").write_text(text)
    preset = presets.load(str(tmp_path / "wild.toml"))
    with pytest.raises(DivergenceError, match="ensemble member .* smaller learning rate"):
        run_experiment(preset, seed=0, n_jobs=1, run_dir=start_run(preset, 0, tmp_path / "run"))


def test_with_validation_data_the_best_epoch_is_by_validation_loss():
    """Overfitting noisy labels: the training loss falls every epoch while the validation loss
    turns up, so the best epoch by validation comes well before the last."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((80, 10))
    y = np.where(rng.random(80) < 0.3, 1 - (x[:, 0] > 0), x[:, 0] > 0).astype(int)
    model = mlp([10, 64, 2], activation_name="tanh", rng=np.random.default_rng(0))
    blow_up = BlowUpAt(40)
    with pytest.raises(DivergenceError) as error:
        fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(model.parameters(), lr=0.3, momentum=0.9),
            (x[:40], y[:40]),
            (x[40:], y[40:]),
            epochs=100,
            callbacks=[blow_up],
        )
    history = error.value.history
    best = int(np.argmin(history.validation_loss))
    assert int(np.argmin(history.train_loss)) > best + 5
    assert error.value.best_epoch == best
    for key, value in blow_up.weights[best].items():
        np.testing.assert_array_equal(model.state_dict()[key], value)
