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
from glassnet.data.preprocessing import Scaler, TablePreprocessor
from glassnet.errors import ConfigError, DivergenceError
from glassnet.experiments import presets
from glassnet.experiments.presets import Preset, check_refit
from glassnet.experiments.trajectories import complete_curves
from glassnet.experiments.trials import (
    Trial,
    TrialResult,
    load_trials,
    resolve_n_jobs,
    run_trial,
    run_trials,
    save_trial,
)
from glassnet.models import checkpoint
from glassnet.models.evaluation import Evaluation, RegressionEvaluation, evaluate_model
from glassnet.models.model import Model
from glassnet.nn.layers import Sequential
from glassnet.report import html as html_report
from glassnet.report import run_folder
from glassnet.report.run_folder import RUN as RUN_FILE
from glassnet.training.config import TrainConfig, fit_from_config, shaped_network
from glassnet.training.history import History
from glassnet.training.resume import Checkpointer, StopSignals

# Inside a run folder, beside run.json (RUN_FILE: what was asked for): each finished sweep
# trial, and (only while interrupted) the final training's state.
TRIALS_FOLDER, STATE_FILE = "trials", "training_state.npz"

# on_epoch(epoch, epochs, history): epochs done of the total, and the history so far.
EpochCallback = Callable[[int, int, History], None]


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
    test_accuracy: float | None  # None for a regression, whose evaluation holds R^2 etc.
    history: History  # the first ensemble member's
    model: Model
    seconds: float
    member_histories: list[History] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    evaluation: Evaluation | RegressionEvaluation | None = None  # the model on the test set
    test_set: Dataset | None = None
    validation_r2: float | None = None  # a regression's validation R^2 (refit on train only)
    # A table's columns: name, role, missing share, distinct values, note (None: no table).
    columns: list[dict[str, Any]] | None = None

    @property
    def best_l2(self) -> float:
        return float(self.best_params.get("l2", self.preset.train.l2))

    def metrics(self) -> dict[str, Any]:
        columns = self.model.info.get("columns") or self.columns
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
            "task": self.model.task,
            **self.regression_metrics(),
            "warnings": [] if self.evaluation is None else self.evaluation.warnings(),
            # The model's record adds what the preprocessing learned of each column.
            **({} if columns is None else {"columns": columns}),
        }

    def regression_metrics(self) -> dict[str, Any]:
        """test_r2, test_rmse, test_mae (and validation_r2) of a regression; {} otherwise."""
        if not isinstance(self.evaluation, RegressionEvaluation):
            return {}
        scores = {f"test_{key}": value for key, value in self.evaluation.scores().items()}
        return {**scores, "validation_r2": self.validation_r2}

    def data_info(self) -> dict[str, Any]:
        info = self.model.info
        return {
            "name": info.get("data", self.preset.data),
            "target": info.get("target"),
            "image_shape": info.get("image_shape"),
            "n_features": self.model.n_features,
            # A user's own split: the tables the validation and test rows came from.
            **{key: info[key] for key in ("validation_data", "test_data") if key in info},
        }


def load_splits(preset: Preset) -> Splits:
    if preset.data != "digits":
        raise ConfigError(f"preset data {preset.data!r} is not available; use 'digits'")
    if preset.split != "seed":
        raise ConfigError(f"preset split {preset.split!r} is not known; use 'seed'")
    return seed_split(load_digits())


@dataclass
class RunData:
    """A run's splits and what training takes from them: the classes, the scaler fitted on
    the training split, and the training and validation arrays it scaled."""

    splits: Splits
    classes: np.ndarray | None  # None for a regression
    target_scaler: Scaler | None  # a regression's target standardisation, else None
    scaler: Scaler | None
    train: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray]

    @property
    def image_shape(self) -> tuple[int, int] | None:
        return self.splits.train.image_shape

    @property
    def task(self) -> str:
        return "classification" if self.classes is not None else "regression"

    @property
    def n_outputs(self) -> int:
        return 1 if self.classes is None else len(self.classes)

    def facts(self) -> dict[str, Any]:
        """What the model file keeps about the training rows for honest reports: the rows of
        each class (the majority-class baseline) and a table's column records."""
        facts: dict[str, Any] = {}
        if self.classes is not None:
            counts = np.bincount(self.train[1].astype(np.intp), minlength=len(self.classes))
            facts["train_class_counts"] = counts.tolist()
        if self.splits.columns is not None:
            facts["columns"] = self.splits.columns
        return facts

    def arrays(self, scaler: Scaler | None, *parts: Dataset) -> tuple[np.ndarray, np.ndarray]:
        """The parts' features stacked and scaled, with targets as the network learns them:
        class indices, or the standardised target of a regression."""
        if self.classes is not None:
            return prepare(scaler, self.classes, *parts)
        x = stacked([p.x for p in parts])
        y = np.concatenate([p.y for p in parts]).reshape(-1, 1)
        return (x if scaler is None else scaler.transform(x)), self.target_scaler.transform(y)[:, 0]  # type: ignore[union-attr]


@dataclass
class FinalRecipe:
    """How the final network(s) train: the chosen settings, on which arrays, watching which."""

    config: TrainConfig
    params: dict[str, Any]  # the chosen sweep values ({} without a sweep)
    train: tuple[np.ndarray, np.ndarray]
    monitor: tuple[np.ndarray, np.ndarray] | None  # None when validation is trained on
    scaler: Scaler | None


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
    table: TablePreprocessor | None = None,
) -> ExperimentResult:
    """Run ``preset``: prepare the data, sweep, select on validation, train the final
    network(s), test once. ``write_run`` then writes the run folder.

    Each grid point is scored by its validation accuracy (after its last epoch, or at its
    restored best epoch); the best (first on ties) is retrained as ``preset.ensemble``
    networks, on train or on train+valid (``refit``, default ``preset.refit``). ``splits``
    replaces the preset's own data (the ``train`` command's user data); ``info`` is stored in
    the model file, and ``table`` (the preprocessing of a table's columns into ``splits``)
    in the model, which leaves here complete. ``on_epoch`` follows a single final network;
    ``on_member`` each ensemble member; ``on_trial`` each trial run now. With ``run_dir``
    (see ``start_run``) the run survives interruption (``RunFolder``).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    started = time.perf_counter()
    refit = check_refit(refit if refit is not None else preset.refit)
    data = prepare_data(preset, splits if splits is not None else load_splits(preset))
    grid = preset.grid() or [{}]
    folder = RunFolder(None if run_dir is None else Path(run_dir))
    trials = [
        Trial(i, preset.train.replace(**params), stream, params)
        for i, (params, stream) in enumerate(zip(grid, streams(seed, grid, preset), strict=False))
    ]
    with folder.stop_signals() as stop:
        results = sweep(preset, data, trials, refit, folder, n_jobs=n_jobs, on_trial=on_trial)
        best = select(results, preset)
        recipe = final_recipe(preset, refit, best, data)
        members = ensemble_members(recipe, best, streams(seed, grid, preset), len(grid), preset)
        replayed = replay_winner(best, members[0], refit, data, n_jobs)
        info = model_info(
            preset, seed, refit, recipe.config, data.splits.train, {**data.facts(), **(info or {})}
        )
        try:
            networks, histories = train_members(
                members,
                recipe.train,
                recipe.monitor,
                n_outputs=data.n_outputs,
                n_jobs=n_jobs,
                image_shape=data.image_shape,
                scaler=recipe.scaler,
                on_epoch=on_epoch,
                on_member=on_member,
                checkpointer=folder.checkpointer(stop, preset, seed, refit, recipe, replayed),
                replayed=replayed,
            )
        except (DivergenceError, KeyboardInterrupt) as exc:
            folder.keep_best(exc, lambda network: final_model([network], data, recipe, info, table))
            raise
    model = final_model(networks, data, recipe, info, table)
    evaluation = evaluate_model(model, data.splits.test)
    validation = data.splits.validation
    validation_score = None if refit != "train" else evaluate_model(model, validation)
    return ExperimentResult(
        preset=preset,
        seed=seed,
        splits=data.splits.sizes(),
        trials=results,
        best_params=recipe.params,
        selection_accuracy=None if best is None else best.score,
        refit=refit,
        # The final model's own validation score exists only when it did not train on it.
        validation_accuracy=getattr(validation_score, "accuracy", None),
        validation_r2=getattr(validation_score, "r2", None),
        test_accuracy=getattr(evaluation, "accuracy", None),
        history=histories[0],
        member_histories=histories,
        model=model,
        seconds=time.perf_counter() - started,
        evaluation=evaluation,
        test_set=data.splits.test,
    )


def prepare_data(preset: Preset, splits: Splits) -> RunData:
    """Step 1: scale on the training split alone, and check every label before any training."""
    data = run_data(preset, splits)
    # The test set is only touched at the end, but a label it cannot be scored on must stop
    # the run now, not after all the training is done.
    if splits.test.y is not None and data.classes is not None:
        check_known_labels(splits.test.y, data.classes, what="labels of test")
    return data


def run_data(preset: Preset, splits: Splits) -> RunData:
    """The training and validation arrays of ``splits`` as ``preset`` trains on them, scaled on
    the training split. A squared-error loss makes the run a regression: one output, trained
    on the target standardised on the training split, scored by validation loss."""
    regression = preset.train.loss == "mse"
    classes = None if regression else np.unique(splits.train.y)
    target_scaler = Scaler.fit("standard", splits.train.y.reshape(-1, 1)) if regression else None
    data = RunData(splits, classes, target_scaler, fit_scaler(preset, splits.train), None, None)  # type: ignore[arg-type]
    data.train = data.arrays(data.scaler, splits.train)
    data.validation = data.arrays(data.scaler, splits.validation)
    return data


def streams(seed: int, grid: list[dict[str, Any]], preset: Preset) -> list[np.random.Generator]:
    """One seed feeds everything: a child stream per grid point, then one per extra ensemble
    member (the one after the grid is left unused). Each call gives fresh copies."""
    return np.random.default_rng(seed).spawn(len(grid) + preset.ensemble)


def sweep(
    preset: Preset,
    data: RunData,
    trials: list[Trial],
    refit: str,
    folder: RunFolder,
    *,
    n_jobs: int | None,
    on_trial: Callable[[TrialResult], None] | None,
) -> list[TrialResult]:
    """Step 2: train every trial on train and score it on validation (none without a sweep);
    trials already recorded in the run folder are taken from there."""
    # A refit with early stopping learns its epoch count from a validation run, sweep or not.
    needs_epochs = refit == "train+valid" and preset.train.early_stopping_patience is not None
    if not (preset.sweep or needs_epochs):
        return []
    finished = folder.finished_trials(trials)
    new = run_trials(
        [trial for trial in trials if trial.index not in finished],
        data.train,
        data.validation,
        n_outputs=data.n_outputs,
        n_jobs=n_jobs,
        on_result=folder.recorder(on_trial),
        keep_state=refit == "train",  # the winner's weights may be the final network
        image_shape=data.image_shape,
        scaler=data.scaler,
        # Validation is scored after each trial's last epoch; only the winner's curves are
        # shown, and it keeps the weights of its epochs to score them (replay_winner).
        score_every_epoch=False,
        scratch=folder.path,  # the weights pass through the run folder the user chose
    )
    return sorted([*finished.values(), *new], key=lambda result: result.index)


def select(results: list[TrialResult], preset: Preset) -> TrialResult | None:
    """Step 3: the best trial (None without a sweep); only its weights are kept from here."""
    if not results:
        return None
    best = select_best(results, preset)
    for result in results:
        if result is not best:
            result.state = result.trajectory = None
    return best


def final_recipe(
    preset: Preset, refit: str, best: TrialResult | None, data: RunData
) -> FinalRecipe:
    """Step 4a: the chosen settings, on train (watching validation) or on train+valid
    (scaled afresh on both, watching nothing)."""
    params = best.params if best is not None else {}
    config = preset.train.replace(**params)
    if refit == "train":
        return FinalRecipe(config, params, data.train, data.validation, data.scaler)
    parts = (data.splits.train, data.splits.validation)
    scaler = fit_scaler(preset, *parts)
    if best is not None and config.early_stopping_patience is not None:
        # No validation data is left to stop on: train as long as the chosen trial's best epoch.
        best_epoch = best.history.best_epoch
        epochs = len(best.history.train_loss) if best_epoch is None else best_epoch + 1
        config = config.replace(epochs=epochs, early_stopping_patience=None)
    return FinalRecipe(config, params, data.arrays(scaler, *parts), None, scaler)


def ensemble_members(
    recipe: FinalRecipe,
    best: TrialResult | None,
    fresh: list[np.random.Generator],
    n_grid: int,
    preset: Preset,
) -> list[Trial]:
    """Step 4b: the final networks. The first retrains the winner from its own initial stream:
    on the same data it is the network that was scored on validation, not a new draw that was
    not (a fresh draw can saturate a class and score far lower: docs/guide/seed-experiment.md).
    The others start from streams of their own."""
    winner = best.index if best is not None else 0
    return [
        Trial(k, recipe.config, fresh[winner] if k == 0 else fresh[n_grid + k], recipe.params)
        for k in range(preset.ensemble)
    ]


def replay_winner(
    best: TrialResult | None, first: Trial, refit: str, data: RunData, n_jobs: int | None = 1
) -> TrialResult | None:
    """Step 4c: on train alone, retraining the winner would repeat it bit for bit (same
    stream, settings and data), so the trial stands for the first member; a trial scored
    only after its last epoch gets its curves from its trajectory (in two processes unless
    ``n_jobs`` is 1). A trial a resumed run found on disk (no weights), or one whose
    trajectory could not be saved (no curves), is retrained exactly as the sweep trained
    it, scoring every epoch."""
    if best is None or refit != "train":
        return None
    assert data.validation is not None  # a refit on train has it
    if best.trajectory is not None:
        # Scored on validation after its last epoch only: its curves, from its trajectory.
        fork = resolve_n_jobs(n_jobs, 2) > 1
        return complete_curves(best, first.config, data.validation, data.n_outputs, fork=fork)
    if best.state is not None and best.history.validation_loss:
        return best
    # Found on disk without weights, or without curves (its trajectory could not be saved).
    return run_trial(
        first,
        data.train,
        data.validation,
        data.n_outputs,
        keep_state=True,
        image_shape=data.image_shape,
        scaler=data.scaler,
    )


def model_info(
    preset: Preset,
    seed: int,
    refit: str,
    config: TrainConfig,
    train_set: Dataset,
    extra: dict[str, Any] | None,
) -> dict[str, Any]:
    """Step 4d: what the model file records about how the model was made."""
    return {
        "preset": preset.name,
        "seed": seed,
        "train_config": config.to_dict(),
        "refit": refit,
        "ensemble": preset.ensemble,
        "data": train_set.name.split(":")[0],
        "feature_names": train_set.feature_names,
        "image_shape": None if train_set.image_shape is None else list(train_set.image_shape),
        "channels": train_set.channels,  # rows hold them one after the other (data.images)
        "scaling": preset.scaling,
        **(extra or {}),
    }


class RunFolder:
    """Everything that lets a run survive interruption, in one place: finished trials are
    recorded in the run folder and skipped when the run is repeated; SIGINT/SIGTERM during a
    single final network's training save its state to continue from; the best weights of a
    final training that diverged are saved. Without a folder, all of it is off."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.trials = None if path is None else path / TRIALS_FOLDER

    def finished_trials(self, trials: list[Trial]) -> dict[int, TrialResult]:
        return {} if self.trials is None else load_trials(self.trials, trials)

    def recorder(
        self, on_trial: Callable[[TrialResult], None] | None
    ) -> Callable[[TrialResult], None]:
        def record(result: TrialResult) -> None:
            if self.trials is not None:
                save_trial(self.trials, result)
            if on_trial is not None:
                on_trial(result)

        return record

    def stop_signals(self) -> contextlib.AbstractContextManager[StopSignals | None]:
        return StopSignals() if self.path is not None else contextlib.nullcontext()

    def checkpointer(
        self,
        stop: StopSignals | None,
        preset: Preset,
        seed: int,
        refit: str,
        recipe: FinalRecipe,
        replayed: TrialResult | None,
    ) -> Checkpointer | None:
        """A checkpointer for the final training, when it can be resumed: a single network,
        not replayed (early stopping and a plateau schedule save their state with it).
        Otherwise a resumed run retrains it, which gives the same result."""
        if stop is None or preset.ensemble != 1 or replayed is not None:
            return None
        stop.deferred = True  # from here a signal saves the state at the end of an epoch
        training = {
            "preset": preset.name,
            "seed": seed,
            "refit": refit,
            "train_config": recipe.config.to_dict(),
        }
        return Checkpointer(self.path / STATE_FILE, stop, training)  # type: ignore[operator]

    def keep_best(self, error: BaseException, make_model: Callable[[Sequential], Model]) -> None:
        """Save the best weights of a final training that diverged or was interrupted (both
        errors carry them as ``.model``) as a usable model file, and say where."""
        network = getattr(error, "model", None)
        if self.path is None or network is None:
            return
        kept = make_model(network)
        why = "diverged" if isinstance(error, DivergenceError) else "interrupted"
        kept.info = {**kept.info, why: str(error) or "Ctrl-C"}
        path = checkpoint.save(kept, self.path / "model.npz")
        error.args = (f"{error or 'interrupted'}; the best weights so far are saved in {path}",)


def final_model(
    networks: list[Sequential],
    data: RunData,
    recipe: FinalRecipe,
    info: dict[str, Any],
    table: TablePreprocessor | None = None,
) -> Model:
    """Step 6: the trained network(s) with the preprocessing and labels they need."""
    return Model(
        networks,
        task=data.task,
        classes=data.classes,
        scaler=recipe.scaler,
        info=info,
        target_scaler=data.target_scaler,
        table=table,
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
    """Step 5: train the final network(s): a single one in this process (so ``on_epoch`` can follow
    it, and a ``checkpointer`` can save and resume it), several in parallel processes;
    returns the networks and their histories. A ``replayed`` trial result stands for the
    first member, which would repeat it exactly."""
    n_features = train_data[0].shape[1]
    if replayed is not None:
        first = network_from_state(members[0].config, n_features, n_outputs, replayed.state)
        if len(members) == 1 and on_epoch is not None:
            history = replayed.history
            on_epoch(len(history.train_loss), members[0].config.epochs, history)
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
            callbacks.append(lambda epoch, history, network: on_epoch(epoch + 1, epochs, history))
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
    x, y = stacked([p.x for p in parts]), np.concatenate([p.y for p in parts])
    names = " and ".join(p.name.split(":")[-1] for p in parts)
    indices = check_known_labels(y, classes, what=f"labels of {names}")
    return (x if scaler is None else scaler.transform(x)), indices


def stacked(arrays: list[np.ndarray]) -> np.ndarray:
    """The arrays' rows one after the other; one array as it is (not a copy of a large
    table's training rows)."""
    return arrays[0] if len(arrays) == 1 else np.vstack(arrays)


def fit_scaler(preset: Preset, *parts: Dataset) -> Scaler | None:
    """The preset's input scaling, fitted on the given parts together (None for no scaling)."""
    if preset.scaling == "none":
        return None
    return Scaler.fit(preset.scaling, np.vstack([part.x for part in parts]))


def network_from_state(
    config: TrainConfig, n_features: int, n_outputs: int, state: dict[str, np.ndarray] | None
) -> Sequential:
    """The network ``config`` describes, holding the learned ``state``."""
    network = shaped_network(config, n_features, n_outputs)
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


def holds_run(run_dir: Path) -> bool:
    """True when ``run_dir`` holds a run's work or results, which a new run must not
    overwrite; a run.json alone (a run that failed before any work) holds nothing to lose."""
    has_work = any((run_dir / TRIALS_FOLDER).glob("*")) or (run_dir / STATE_FILE).exists()
    return has_work or (run_dir / "metrics.json").exists()


def start_run(
    preset: Preset, seed: int, run_dir: str | Path, command: dict[str, Any] | None = None
) -> Path:
    """Claim ``run_dir`` for a new run of ``preset`` with ``seed``, recording both in run.json
    with ``command`` (what else the command needs to resume: ``{"name": "train", ...}``).

    A folder that already holds a run's results is refused, so nothing is overwritten.
    """
    run_dir = Path(run_dir)
    command = command or {"name": "run"}
    if holds_run(run_dir):
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


def resume_run(run_dir: str | Path, name: str | None = "run") -> tuple[Preset, int, dict[str, Any]]:
    """The preset, seed and command settings recorded in ``run_dir`` by ``start_run`` for the
    command called ``name`` (None: whichever command started it)."""
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
    if name is not None and command.get("name") != name:
        raise ConfigError(
            f"{run_dir} was started by 'glassnet {command.get('name')}'; resume it with "
            f"'glassnet {command.get('name')} --resume {run_dir}'"
        )
    return preset, seed, command


def write_run(result: ExperimentResult, out: str | Path) -> dict[str, str]:
    """Write model.npz, predictions.npz, the PNG figures, report.html and, last,
    metrics.json into ``out``; returns their paths. metrics.json marks a finished run, so a
    run that fails while writing (a full disk) is one that ``--resume`` finishes."""
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
    predictions = run_folder.read_predictions(out)
    outputs.update(run_folder.draw_figures(metrics, predictions, out))
    outputs["metrics"] = str(out / "metrics.json")
    outputs["report"] = str(out / html_report.REPORT)
    result.outputs = outputs
    metrics["outputs"] = outputs
    page = html_report.render(metrics, predictions, outputs, out)
    write_atomic(out / html_report.REPORT, lambda handle: handle.write(page), mode="w")
    text = json.dumps(metrics, indent=2)
    write_atomic(out / "metrics.json", lambda handle: handle.write(text), mode="w")
    (out / STATE_FILE).unlink(missing_ok=True)  # the run is complete: nothing left to resume
    return outputs
