"""A preset run end to end: split, sweep, select on validation, retrain (one network or an
ensemble, on train or train+valid), test once, write outputs."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glassnet._version import __version__
from glassnet.atomic import write_atomic
from glassnet.data.checks import check_known_labels
from glassnet.data.datasets import Dataset, Splits, load_digits, seed_split
from glassnet.data.preprocessing import Scaler
from glassnet.errors import ConfigError, DivergenceError
from glassnet.experiments import presets
from glassnet.experiments.presets import Preset, check_refit
from glassnet.experiments.trials import (
    Trial,
    TrialResult,
    load_trials,
    run_trial,
    run_trials,
    save_trial,
)
from glassnet.models import checkpoint
from glassnet.models.evaluation import Evaluation, evaluate_model
from glassnet.models.model import Model
from glassnet.nn.layers import Sequential
from glassnet.training.config import TrainConfig, build, fit_from_config
from glassnet.training.history import History
from glassnet.training.resume import Checkpointer, StopSignals

# Inside a run folder: what was asked for, each finished sweep trial, and (only while
# interrupted) the final training's state.
RUN_FILE, TRIALS_FOLDER, STATE_FILE = "run.json", "trials", "training_state.npz"

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
        return {
            "name": info.get("data", self.preset.data),
            "target": info.get("target"),
            "image_shape": info.get("image_shape"),
            "n_features": self.model.n_features,
        }


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
    run_dir: str | Path | None = None,
) -> ExperimentResult:
    """Run ``preset``: each grid point is scored by its validation accuracy (after its last
    epoch, or at its restored best epoch); the best (first on ties) is retrained as
    ``preset.ensemble`` networks, on train or on train+valid (``refit``, default
    ``preset.refit``), and tested once. The first network starts from the winning trial's own
    generator, the others from generators of their own; on train alone the first one is
    therefore the winning trial itself, whose weights are kept rather than trained twice.

    ``splits`` replaces the preset's own data (the ``train`` command's user data); ``info``
    is stored in the model file. Without a sweep the one configuration is trained once.
    ``on_epoch`` follows a single final network; ``on_member`` each ensemble member.

    With ``run_dir`` (see ``start_run``) the run survives interruption: each finished trial is
    recorded there and skipped when the run is repeated, and SIGINT/SIGTERM during a single
    final network's training save its state there to continue from. ``on_trial`` sees only
    trials run now.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    started = time.perf_counter()
    refit = check_refit(refit if refit is not None else preset.refit)
    splits = splits if splits is not None else load_splits(preset)
    train_set, valid_set, test_set = splits.train, splits.validation, splits.test
    classes = np.unique(train_set.y)
    image_shape = train_set.image_shape

    def prepared(scaler: Scaler | None, *parts: Dataset) -> tuple[np.ndarray, np.ndarray]:
        return prepare(scaler, classes, *parts)

    # Scaling is fitted on exactly the data the model is trained on.
    scaler = fit_scaler(preset, train_set)
    train_xy, valid_xy = prepared(scaler, train_set), prepared(scaler, valid_set)
    # The test set is only touched at the end, but a label it cannot be scored on must stop
    # the run now, not after all the training is done.
    if test_set.y is not None:
        check_known_labels(test_set.y, classes, what="labels of test")
    grid = preset.grid() or [{}]

    # One seed feeds everything: each trial and each extra ensemble member get their own child
    # stream. The first final network starts from a fresh copy of the winning trial's stream.
    def streams() -> list[np.random.Generator]:
        return np.random.default_rng(seed).spawn(len(grid) + preset.ensemble)

    trial_streams = streams()
    trials = [
        Trial(i, preset.train.replace(**params), trial_streams[i], params)
        for i, params in enumerate(grid)
    ]
    trials_dir = None if run_dir is None else Path(run_dir) / TRIALS_FOLDER
    finished = {} if trials_dir is None else load_trials(trials_dir, trials)

    def on_result(result: TrialResult) -> None:
        if trials_dir is not None:
            save_trial(trials_dir, result)
        if on_trial is not None:
            on_trial(result)

    # A refit with early stopping learns its epoch count from a validation run, sweep or not.
    needs_epochs = refit == "train+valid" and preset.train.early_stopping_patience is not None
    with StopSignals() if run_dir is not None else contextlib.nullcontext() as stop:
        results: list[TrialResult] = []
        best: TrialResult | None = None
        if preset.sweep or needs_epochs:
            missing = [trial for trial in trials if trial.index not in finished]
            new = run_trials(
                missing,
                train_xy,
                valid_xy,
                n_outputs=len(classes),
                n_jobs=n_jobs,
                on_result=on_result,
                keep_state=refit == "train",  # the winner's weights may be the final network
                image_shape=image_shape,
                scaler=scaler,
            )
            results = sorted([*finished.values(), *new], key=lambda r: r.index)
            best = select_best(results, preset)
            for result in results:  # only the winner's weights can be needed from here on
                if result is not best:
                    result.state = None
        best_params = best.params if best is not None else {}

        final_config = preset.train.replace(**best_params)
        monitor_xy: tuple[np.ndarray, np.ndarray] | None = valid_xy
        if refit == "train+valid":
            scaler = fit_scaler(preset, train_set, valid_set)
            train_xy, monitor_xy = prepared(scaler, train_set, valid_set), None
            if best is not None and final_config.early_stopping_patience is not None:
                # No validation data is left to stop on: train as long as the chosen trial's
                # best epoch.
                best_epoch = best.history.best_epoch
                epochs = len(best.history.train_loss) if best_epoch is None else best_epoch + 1
                final_config = final_config.replace(epochs=epochs, early_stopping_patience=None)
        # The first network retrains the winner from its own initial stream: on the same data
        # it is the network that was scored on validation, not a new draw that was not (a
        # fresh draw can saturate a class and score far lower, see README).
        # (Stream len(grid) is left unused, so the other members keep their streams.)
        fresh = streams()
        winner = best.index if best is not None else 0
        members = [
            Trial(k, final_config, fresh[winner] if k == 0 else fresh[len(grid) + k], best_params)
            for k in range(preset.ensemble)
        ]
        # On train alone that retraining would repeat the winning trial bit for bit (same
        # stream, settings and data), so the trial's weights are taken instead. A resumed run
        # found the trial on disk, without weights: it retrains it exactly as the sweep did.
        replayed = None
        if best is not None and refit == "train":
            replayed = best
            if best.state is None:
                replayed = run_trial(
                    members[0],
                    train_xy,
                    valid_xy,
                    len(classes),
                    keep_state=True,
                    image_shape=image_shape,
                    scaler=scaler,
                )
        model_info = {
            "preset": preset.name,
            "seed": seed,
            "train_config": final_config.to_dict(),
            "refit": refit,
            "ensemble": preset.ensemble,
            "data": train_set.name.split(":")[0],
            "feature_names": train_set.feature_names,
            "image_shape": None if train_set.image_shape is None else list(train_set.image_shape),
            "scaling": preset.scaling,
            **(info or {}),
        }
        checkpointer = None
        # Only a single network whose callbacks keep no state of their own (plateau schedules
        # and early stopping do) is checkpointed; otherwise a resumed run retrains it from
        # scratch, which gives the same result.
        stateless = (
            final_config.lr_schedule != "plateau" and final_config.early_stopping_patience is None
        )
        if stop is not None and preset.ensemble == 1 and stateless and replayed is None:
            stop.deferred = True  # from here a signal saves the state at the end of an epoch
            training = {
                "preset": preset.name,
                "seed": seed,
                "refit": refit,
                "train_config": final_config.to_dict(),
            }
            checkpointer = Checkpointer(Path(run_dir) / STATE_FILE, stop, training)  # type: ignore[arg-type]
        try:
            networks, histories = train_members(
                members,
                train_xy,
                monitor_xy,
                n_outputs=len(classes),
                n_jobs=n_jobs,
                image_shape=image_shape,
                scaler=scaler,
                on_epoch=on_epoch,
                on_member=on_member,
                checkpointer=checkpointer,
                replayed=replayed,
            )
        except DivergenceError as exc:
            if run_dir is not None and getattr(exc, "model", None) is not None:
                kept_info = {**model_info, "diverged": str(exc)}
                kept = Model([exc.model], classes=classes, scaler=scaler, info=kept_info)
                path = checkpoint.save(kept, Path(run_dir) / "model.npz")
                exc.args = (f"{exc}; those weights are saved in {path}",)
            raise
    model = Model(networks, task="classification", classes=classes, scaler=scaler, info=model_info)
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
    checkpointer: Checkpointer | None = None,
    replayed: TrialResult | None = None,
) -> tuple[list[Sequential], list[History]]:
    """Train the final network(s): a single one in this process (so ``on_epoch`` can follow
    it, and a ``checkpointer`` can save and resume it), several in parallel processes;
    returns the networks and their histories. A ``replayed`` trial result stands for the
    first member, which would repeat it exactly."""
    n_features = train_data[0].shape[1]
    if replayed is not None:
        first = network_from_state(members[0].config, n_features, n_outputs, replayed.state)
        if len(members) == 1 and on_epoch is not None:
            on_epoch(len(replayed.history.train_loss), members[0].config.epochs)
        if on_member is not None:
            on_member(TrialResult(members[0].index, members[0].params, replayed.history))
        others = members[1:]
        if not others:
            return [first], [replayed.history]
        networks, histories = train_members(
            others,
            train_data,
            validation,
            n_outputs=n_outputs,
            n_jobs=n_jobs,
            image_shape=image_shape,
            scaler=scaler,
            on_epoch=None,
            on_member=on_member,
        )
        return [first, *networks], [replayed.history, *histories]
    if len(members) == 1:
        member = members[0]
        callbacks = []
        if on_epoch is not None:
            epochs = member.config.epochs
            callbacks.append(lambda epoch, history, network: on_epoch(epoch + 1, epochs))
        # fit_from_config picks the BLAS threads for the matrix sizes; this is the only
        # training running now, so it may use every core.
        network, history = fit_from_config(
            member.config,
            train_data,
            validation,
            n_outputs=n_outputs,
            rng=member.rng,
            callbacks=callbacks,
            image_shape=image_shape,
            scaler=scaler,
            checkpointer=checkpointer,
        )
        if on_member is not None:
            on_member(TrialResult(member.index, member.params, history))
        return [network], [history]
    trained = run_trials(
        members,
        train_data,
        validation,
        n_outputs=n_outputs,
        n_jobs=n_jobs,
        on_result=on_member,
        keep_state=True,
        image_shape=image_shape,
        scaler=scaler,
    )
    diverged = [r for r in trained if r.diverged is not None]
    if diverged:
        raise DivergenceError(f"ensemble member {diverged[0].index}: {diverged[0].diverged}")
    networks = [
        network_from_state(m.config, n_features, n_outputs, r.state)
        for m, r in zip(members, trained, strict=True)
    ]
    return networks, [r.history for r in trained]


def prepare(
    scaler: Scaler | None, classes: np.ndarray, *parts: Dataset
) -> tuple[np.ndarray, np.ndarray]:
    """The parts' features stacked and scaled, and their labels as indices into ``classes``;
    a label outside ``classes`` (absent from the training split) is a DataError."""
    x, y = np.vstack([p.x for p in parts]), np.concatenate([p.y for p in parts])
    names = " and ".join(p.name.split(":")[-1] for p in parts)
    indices = check_known_labels(y, classes, what=f"labels of {names}")
    return (x if scaler is None else scaler.transform(x)), indices


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


def select_best(results: list[TrialResult], preset: Preset) -> TrialResult:
    """The trial with the best validation score, the first of equal ones; diverged trials
    never win, and a sweep where all diverged is a DivergenceError."""
    scores = [r.score for r in results]
    if not np.isfinite(max(scores)):
        raise DivergenceError(
            "every trial of the sweep diverged; try a smaller learning rate "
            f"(now {preset.train.lr:g})"
        )
    return results[int(np.argmax(scores))]  # argmax takes the first of equal scores


def start_run(
    preset: Preset, seed: int, run_dir: str | Path, command: dict[str, Any] | None = None
) -> Path:
    """Claim ``run_dir`` for a new run of ``preset`` with ``seed``, recording both in run.json
    with ``command`` (what else the command needs to resume: ``{"name": "train", ...}``).

    A folder that already holds a run's results is refused, so nothing is overwritten.
    """
    run_dir = Path(run_dir)
    command = command or {"name": "run"}
    # A run.json alone (a run that failed before any work) holds nothing to lose.
    has_work = any((run_dir / TRIALS_FOLDER).glob("*")) or (run_dir / STATE_FILE).exists()
    if has_work or (run_dir / "metrics.json").exists():
        raise ConfigError(
            f"{run_dir} already holds a run; continue it with 'glassnet {command['name']} "
            f"--resume {run_dir}' or choose another --out folder"
        )
    record = {
        "glassnet_version": __version__,
        "preset": preset.to_dict(),
        "seed": seed,
        "command": command,
    }
    text = json.dumps(record, indent=2)
    write_atomic(run_dir / RUN_FILE, lambda handle: handle.write(text), mode="w")
    return run_dir


def resume_run(run_dir: str | Path, name: str = "run") -> tuple[Preset, int, dict[str, Any]]:
    """The preset, seed and command settings recorded in ``run_dir`` by ``start_run`` for the
    command called ``name``."""
    run_dir = Path(run_dir)
    path = run_dir / RUN_FILE
    if not path.is_file():
        raise ConfigError(f"{run_dir} holds no {RUN_FILE}: it is not a glassnet run folder")
    if (run_dir / "metrics.json").exists():
        raise ConfigError(f"the run in {run_dir} has already finished; nothing to resume")
    try:
        record = json.loads(path.read_text())
        data, command = dict(record["preset"]), dict(record["command"])
        preset, seed = presets.from_dict(data.pop("name"), data), int(record["seed"])
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"{path} is damaged ({exc}); start a new run instead") from None
    if command.get("name") != name:
        raise ConfigError(
            f"{run_dir} was started by 'glassnet {command.get('name')}'; resume it with "
            f"'glassnet {command.get('name')} --resume {run_dir}'"
        )
    return preset, seed, command


def write_run(result: ExperimentResult, out: str | Path) -> dict[str, str]:
    """Write model.npz, predictions.npz, the PNG figures, metrics.json and report.html into
    ``out``; returns their paths."""
    from glassnet.report import html as html_report
    from glassnet.report import run_folder

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    outputs = {"model": str(checkpoint.save(result.model, out / "model.npz"))}
    if result.evaluation is not None:
        outputs["predictions"] = str(
            run_folder.write_predictions(
                out / run_folder.PREDICTIONS, result.evaluation, result.test_set, result.model
            )
        )
    metrics = result.metrics()
    outputs.update(run_folder.draw_figures(metrics, run_folder.read_predictions(out), out))
    outputs["metrics"] = str(out / "metrics.json")
    outputs["report"] = str(out / html_report.REPORT)
    result.outputs = outputs
    metrics["outputs"] = outputs
    text = json.dumps(metrics, indent=2)
    write_atomic(out / "metrics.json", lambda handle: handle.write(text), mode="w")
    html_report.write_report(out, figures=outputs)
    (out / STATE_FILE).unlink(missing_ok=True)  # the run is complete: nothing left to resume
    return outputs
