"""A preset run end to end: split, sweep, select on validation, retrain, test once, write
outputs."""

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
from glassnet.model import Model
from glassnet.presets import Preset
from glassnet.sweep import Trial, TrialResult, run_trials
from glassnet.train import History, fit_from_config

EpochCallback = Callable[[int, int], None]


@dataclass
class ExperimentResult:
    """Everything a preset run produced, as plain data plus the final model."""

    preset: Preset
    seed: int
    splits: dict[str, int]
    trials: list[TrialResult]
    best_params: dict[str, Any]
    validation_accuracy: float
    test_accuracy: float
    history: History
    model: Model
    seconds: float
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
    on_trial: Callable[[TrialResult], None] | None = None,
    on_epoch: EpochCallback | None = None,
    splits: Splits | None = None,
    info: dict[str, Any] | None = None,
) -> ExperimentResult:
    """Run ``preset``: each grid point is scored by validation ``select`` after its last
    epoch; the best (first on ties) is retrained from a fresh init and tested once.

    ``splits`` replaces the preset's own data (the ``train`` command's user data); ``info``
    is stored in the model file. Without a sweep the one configuration is trained once."""
    started = time.perf_counter()
    splits = splits if splits is not None else load_splits(preset)
    train_set, valid_set, test_set = splits.train, splits.validation, splits.test
    classes = np.unique(train_set.y)
    scaler = None if preset.scaling == "none" else Scaler.fit(preset.scaling, train_set.x)

    def arrays(part: Dataset) -> tuple[np.ndarray, np.ndarray]:
        x = part.x if scaler is None else scaler.transform(part.x)
        return x, np.searchsorted(classes, part.y)

    train_xy, valid_xy = arrays(train_set), arrays(valid_set)
    grid = preset.grid() or [{}]
    # One seed feeds everything: each trial and the final retrain get their own child stream.
    streams = np.random.default_rng(seed).spawn(len(grid) + 1)
    trials = [
        Trial(i, preset.train.replace(**params), streams[i], params)
        for i, params in enumerate(grid)
    ]
    results: list[TrialResult] = []
    best_params: dict[str, Any] = {}
    if preset.sweep:
        results = run_trials(
            trials, train_xy, valid_xy, n_outputs=len(classes), n_jobs=n_jobs, on_result=on_trial
        )
        scores = [r.history.validation_accuracy[-1] for r in results]
        best_params = results[int(np.argmax(scores))].params  # argmax: first of equal scores

    final_config = preset.train.replace(**best_params)
    callbacks = []
    if on_epoch is not None:
        callbacks.append(lambda epoch, history, network: on_epoch(epoch + 1, final_config.epochs))
    with threadpool_limits(limits=1, user_api="blas"):
        network, history = fit_from_config(
            final_config, train_xy, valid_xy, n_outputs=len(classes), rng=streams[-1],
            callbacks=callbacks,
        )
    model_info = {
        "preset": preset.name, "seed": seed, "train_config": final_config.to_dict(),
        "data": train_set.name.split(":")[0], "feature_names": train_set.feature_names,
        "image_shape": None if train_set.image_shape is None else list(train_set.image_shape),
        "scaling": preset.scaling, **(info or {}),
    }
    model = Model(
        [network], task="classification", classes=classes, scaler=scaler, info=model_info
    )
    evaluation = evaluate_model(model, test_set)
    return ExperimentResult(
        preset=preset,
        seed=seed,
        splits=splits.sizes(),
        trials=results,
        best_params=best_params,
        validation_accuracy=float(np.mean(model.predict(valid_set.x) == valid_set.y)),
        test_accuracy=evaluation.accuracy,
        history=history,
        model=model,
        seconds=time.perf_counter() - started,
        evaluation=evaluation,
        test_set=test_set,
    )


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
