"""A preset run end to end: split, sweep, select on validation, retrain (one network or an
ensemble, on train or train+valid), test once, write outputs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from glassnet import __version__, checkpoint
from glassnet.data import Dataset, Scaler, Splits, load_digits, seed_split
from glassnet.errors import ConfigError
from glassnet.evaluation import Evaluation, evaluate_model
from glassnet.layers import Sequential
from glassnet.model import Model
from glassnet.presets import Preset, check_refit
from glassnet.sweep import Trial, TrialResult, run_trials
from glassnet.train import History, TrainConfig, build, fit_from_config

EpochCallback = Callable[[int, int], None]


@dataclass
class ExperimentResult:
    """Everything a preset run produced, as plain data plus the final model."""

    preset: Preset
    seed: int
    splits: dict[str, int]
    trials: list[TrialResult]
    best_params: dict[str, Any]
    selection_accuracy: float | None  # the chosen trial's validation accuracy (None: no sweep)
    refit: str
    validation_accuracy: float | None  # the final model's; None when it trained on validation
    test_accuracy: float
    history: History  # the first ensemble member's
    model: Model
    seconds: float
    member_histories: list[History] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    evaluation: Evaluation | None = None  # the final model on the test set
    test_set: Dataset | None = None

    @property
    def best_l2(self) -> float:
        return float(self.best_params.get("l2", self.preset.train.l2))

    def metrics(self) -> dict[str, Any]:
        return {
            "glassnet_version": __version__,
            "preset": self.preset.name,
            "seed": self.seed,
            "best_l2": self.best_l2,
            "best_params": self.best_params,
            "selection_accuracy": self.selection_accuracy,
            "refit": self.refit,
            "ensemble": len(self.model.networks),
            "validation_accuracy": self.validation_accuracy,
            "test_accuracy": self.test_accuracy,
            "split_sizes": self.splits,
            "sweep": [trial.record() for trial in self.trials],
            "history": self.history.to_dict(),
            "config": self.preset.to_dict(),
            "seconds": self.seconds,
            "outputs": self.outputs,
            "data": self.data_info(),
            "evaluation": None if self.evaluation is None else self.evaluation.to_dict(),
        }

    def data_info(self) -> dict[str, Any]:
        info = self.model.info
        return {"name": info.get("data", self.preset.data), "target": info.get("target"),
                "image_shape": info.get("image_shape"), "n_features": self.model.n_features}


def load_splits(preset: Preset) -> Splits:
    if preset.data != "digits":
        raise ConfigError(f"preset data {preset.data!r} is not available; use 'digits'")
    if preset.split != "seed":
        raise ConfigError(f"preset split {preset.split!r} is not known; use 'seed'")
    return seed_split(load_digits())


def run_experiment(
    preset: Preset,
    *,
    seed: int = 0,
    n_jobs: int | None = -1,
    refit: str | None = None,
    on_trial: Callable[[TrialResult], None] | None = None,
    on_epoch: EpochCallback | None = None,
    on_member: Callable[[TrialResult], None] | None = None,
    splits: Splits | None = None,
    info: dict[str, Any] | None = None,
) -> ExperimentResult:
    """Run ``preset``: each grid point is scored by its validation accuracy (after its last
    epoch, or at its restored best epoch); the best (first on ties) is retrained from fresh
    inits as ``preset.ensemble`` networks, on train or on train+valid (``refit``, default
    ``preset.refit``), and tested once.

    ``splits`` replaces the preset's own data (the ``train`` command's user data); ``info``
    is stored in the model file. Without a sweep the one configuration is trained once.
    ``on_epoch`` follows a single final network; ``on_member`` each ensemble member."""
    started = time.perf_counter()
    refit = check_refit(refit if refit is not None else preset.refit)
    splits = splits if splits is not None else load_splits(preset)
    train_set, valid_set, test_set = splits.train, splits.validation, splits.test
    classes = np.unique(train_set.y)
    image_shape = train_set.image_shape

    def prepared(scaler: Scaler | None, *parts: Dataset) -> tuple[np.ndarray, np.ndarray]:
        x, y = np.vstack([p.x for p in parts]), np.concatenate([p.y for p in parts])
        return (x if scaler is None else scaler.transform(x)), np.searchsorted(classes, y)

    # Scaling is fitted on exactly the data the model is trained on.
    scaler = fit_scaler(preset, train_set)
    train_xy, valid_xy = prepared(scaler, train_set), prepared(scaler, valid_set)
    grid = preset.grid() or [{}]
    # One seed feeds everything: each trial and each final member get their own child stream.
    streams = np.random.default_rng(seed).spawn(len(grid) + preset.ensemble)
    trials = [Trial(i, preset.train.replace(**params), streams[i], params)
              for i, params in enumerate(grid)]
    # A refit with early stopping learns its epoch count from a validation run, sweep or not.
    needs_epochs = refit == "train+valid" and preset.train.early_stopping_patience is not None
    results: list[TrialResult] = []
    best: TrialResult | None = None
    if preset.sweep or needs_epochs:
        results = run_trials(
            trials, train_xy, valid_xy, n_outputs=len(classes), n_jobs=n_jobs,
            on_result=on_trial, image_shape=image_shape, scaler=scaler,
        )
        best = results[int(np.argmax([r.score for r in results]))]  # argmax: first of ties
    best_params = best.params if best is not None else {}

    final_config = preset.train.replace(**best_params)
    monitor_xy: tuple[np.ndarray, np.ndarray] | None = valid_xy
    if refit == "train+valid":
        scaler = fit_scaler(preset, train_set, valid_set)
        train_xy, monitor_xy = prepared(scaler, train_set, valid_set), None
        if best is not None and final_config.early_stopping_patience is not None:
            # No validation data is left to stop on: train as long as the chosen trial's best.
            best_epoch = best.history.best_epoch
            epochs = len(best.history.train_loss) if best_epoch is None else best_epoch + 1
            final_config = final_config.replace(epochs=epochs, early_stopping_patience=None)
    members = [Trial(k, final_config, streams[len(grid) + k], best_params)
               for k in range(preset.ensemble)]
    networks, histories = train_members(
        members, train_xy, monitor_xy, n_outputs=len(classes), n_jobs=n_jobs,
        image_shape=image_shape, scaler=scaler, on_epoch=on_epoch, on_member=on_member,
    )
    model_info = {
        "preset": preset.name, "seed": seed, "train_config": final_config.to_dict(),
        "refit": refit, "ensemble": preset.ensemble,
        "data": train_set.name.split(":")[0], "feature_names": train_set.feature_names,
        "image_shape": None if train_set.image_shape is None else list(train_set.image_shape),
        "scaling": preset.scaling, **(info or {}),
    }
    model = Model(
        networks, task="classification", classes=classes, scaler=scaler, info=model_info
    )
    evaluation = evaluate_model(model, test_set)
    validation_accuracy = None
    if refit == "train":
        validation_accuracy = float(np.mean(model.predict(valid_set.x) == valid_set.y))
    return ExperimentResult(
        preset=preset,
        seed=seed,
        splits=splits.sizes(),
        trials=results,
        best_params=best_params,
        selection_accuracy=None if best is None else best.score,
        refit=refit,
        validation_accuracy=validation_accuracy,
        test_accuracy=evaluation.accuracy,
        history=histories[0],
        member_histories=histories,
        model=model,
        seconds=time.perf_counter() - started,
        evaluation=evaluation,
        test_set=test_set,
    )


def train_members(
    members: list[Trial],
    train_data: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    *,
    n_outputs: int,
    n_jobs: int | None,
    image_shape: tuple[int, int] | None,
    scaler: Scaler | None,
    on_epoch: EpochCallback | None,
    on_member: Callable[[TrialResult], None] | None,
) -> tuple[list[Sequential], list[History]]:
    """Train the final network(s): one in this process (so ``on_epoch`` can follow it), an
    ensemble's members in parallel processes; returns the networks and their histories."""
    if len(members) == 1:
        member = members[0]
        callbacks = []
        if on_epoch is not None:
            epochs = member.config.epochs
            callbacks.append(lambda epoch, history, network: on_epoch(epoch + 1, epochs))
        with threadpool_limits(limits=1, user_api="blas"):
            network, history = fit_from_config(
                member.config, train_data, validation, n_outputs=n_outputs, rng=member.rng,
                callbacks=callbacks, image_shape=image_shape, scaler=scaler,
            )
        if on_member is not None:
            on_member(TrialResult(member.index, member.params, history))
        return [network], [history]
    trained = run_trials(
        members, train_data, validation, n_outputs=n_outputs, n_jobs=n_jobs,
        on_result=on_member, keep_state=True, image_shape=image_shape, scaler=scaler,
    )
    n_features = train_data[0].shape[1]
    networks = [network_from_state(m.config, n_features, n_outputs, r.state)
                for m, r in zip(members, trained, strict=True)]
    return networks, [r.history for r in trained]


def fit_scaler(preset: Preset, *parts: Dataset) -> Scaler | None:
    """The preset's input scaling, fitted on the given parts together (None for no scaling)."""
    if preset.scaling == "none":
        return None
    return Scaler.fit(preset.scaling, np.vstack([part.x for part in parts]))


def network_from_state(
    config: TrainConfig, n_features: int, n_outputs: int, state: dict[str, np.ndarray] | None
) -> Sequential:
    """The network ``config`` describes, holding the learned ``state``."""
    # The generator only fills weights that load_state_dict overwrites at once.
    network = build(config, n_features, n_outputs, np.random.default_rng(0))[0]
    network.load_state_dict(state or {})
    return network.eval()


def write_run(result: ExperimentResult, out: str | Path) -> dict[str, str]:
    """Write model.npz, predictions.npz, the PNG figures, metrics.json and report.html into
    ``out``; returns their paths."""
    from glassnet import html_report, run_folder

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    outputs = {"model": str(checkpoint.save(result.model, out / "model.npz"))}
    if result.evaluation is not None:
        outputs["predictions"] = str(run_folder.write_predictions(
            out / run_folder.PREDICTIONS, result.evaluation, result.test_set
        ))
    metrics = result.metrics()
    outputs.update(run_folder.draw_figures(metrics, run_folder.read_predictions(out), out))
    outputs["metrics"] = str(out / "metrics.json")
    outputs["report"] = str(out / html_report.REPORT)
    result.outputs = outputs
    metrics["outputs"] = outputs
    text = json.dumps(metrics, indent=2)
    checkpoint.write_atomic(out / "metrics.json", lambda handle: handle.write(text), mode="w")
    html_report.write_report(out, figures=outputs)
    return outputs
