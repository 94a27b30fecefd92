"""The workflow in Python, the one path every command takes: settings (a config file, a
preset, keywords) -> data read, split and preprocessed -> sweep, train, test once -> a
``Run`` (saved as a run folder when ``out`` is given).

``prepare`` does everything up to the training and returns a ``Job`` whose ``columns`` and
``task`` can be looked at first (the command line prints them); ``Job.run`` trains.
``train`` is both in one call. ``run_preset`` is ``glassnet run`` (the seed experiment by
default), ``sweep`` is ``glassnet sweep``, ``resume`` continues an interrupted run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.errors import ConfigError
from glassnet.experiments import config_file
from glassnet.experiments.claim import claim_folder
from glassnet.experiments.config_file import DataSettings
from glassnet.experiments.experiment import resume_run, run_experiment, start_run, write_run
from glassnet.experiments.presets import Preset
from glassnet.experiments.trials import resolve_n_jobs
from glassnet.workflow.inputs import RunInputs, read_inputs, source_kind, source_name
from glassnet.workflow.progress import Display
from glassnet.workflow.run import Run, columns_record

if TYPE_CHECKING:
    from glassnet.experiments.sweep import SweepResult


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped a run saved in ``folder``: its finished work is there,
    and ``glassnet.resume(folder)`` (``glassnet COMMAND --resume FOLDER``) goes on from it."""

    def __init__(self, folder: Path, command: str, best_model: Path | None) -> None:
        self.folder, self.command, self.best_model = folder, command, best_model
        super().__init__(self.message(f"glassnet.resume({str(folder)!r})"))

    def message(self, how: str) -> str:
        """What was kept and how to go on (``how``: the call or command that resumes)."""
        best = f", the best model so far in {self.best_model}" if self.best_model else ""
        return f"finished work is saved in {self.folder}{best}; continue with: {how}"


@dataclass
class Job:
    """A run ready to train: its recipe (``preset``), data settings, seed, and, for data of
    the user's, the splits read (``inputs``: a table's columns and preprocessing, the task).
    ``run`` trains it."""

    command: str  # "train" or "run": what run.json records, and how to resume it
    preset: Preset
    data: DataSettings
    seed: int
    refit: str | None
    inputs: RunInputs | None  # None: the preset's own data (the digits' seed split)
    display: Display
    # Data given in Python (a DataFrame, arrays) leave only this in run.json, so a resume
    # can tell whether it was given the same data again.
    data_digest: str | None = None

    @property
    def columns(self) -> list[dict[str, Any]]:
        """A table's columns and their roles (empty for other data)."""
        return columns_record(self.inputs.columns if self.inputs else None) or []

    @property
    def task(self) -> str:
        if self.inputs is not None:
            return self.inputs.task
        return "regression" if self.preset.train.loss == "mse" else "classification"

    def record(self) -> dict[str, Any]:
        """What run.json keeps for ``resume``: the command, and the data settings of a
        user's data (a run of the preset's own data needs none)."""
        record: dict[str, Any] = {"name": self.command}
        if self.command == "run":
            record["refit"] = self.refit
        if self.inputs is not None:
            record.update(self.data.to_dict())
        if self.data_digest is not None:
            record["data_digest"] = self.data_digest
        return record

    def check_memory(self, n_jobs: int | None) -> None:
        """Refuse, with the estimate, settings whose trainings (as many at once as the
        sweep runs in parallel) would not fit in the memory this machine has left."""
        if self.inputs is None:  # the presets' own data: the digits
            return
        from glassnet.training.memory import check_config_memory

        train = self.inputs.splits.train
        n_outputs = 1 if self.task == "regression" else len(np.unique(train.y))
        configs = [self.preset.train.replace(**params) for params in self.preset.grid() or [{}]]
        parallel = resolve_n_jobs(n_jobs, len(configs))
        for config in configs:
            check_config_memory(
                config,
                n_features=train.x.shape[1],
                n_outputs=n_outputs,
                n_rows=len(train),
                parallel=parallel,
            )

    def model_info(self) -> dict[str, Any]:
        """What the model file records of the user's data: its label column, and the tables
        of a user's own split."""
        info: dict[str, Any] = {"target": self.data.target}
        if self.inputs is not None and self.inputs.table_defaults is not None:
            info["table_defaults"] = self.inputs.table_defaults  # shown to the user
        for key in ("validation_data", "test_data"):
            if getattr(self.data, key) is not None:
                info[key] = getattr(self.data, key)
        return info

    def run(self, out: str | Path | None = None, *, n_jobs: int | None = -1) -> Run:
        """Sweep, train, test once; with ``out`` the run is saved there as it goes (a folder
        that already holds a run is refused), survives Ctrl-C, and resumes."""
        self.check_memory(n_jobs)  # before a folder is claimed: a refusal leaves none
        if out is None:
            return self.train_into(None, n_jobs=n_jobs)
        with claim_folder(out, self.command):
            folder = start_run(self.preset, self.seed, out, self.record())
            return self.train_into(folder, n_jobs=n_jobs)

    def train_into(self, folder: Path | None, *, n_jobs: int | None = -1) -> Run:
        """``run`` into a folder already claimed (``claim_folder``) and started (``None``: in
        memory only)."""
        preset, inputs = self.preset, self.inputs
        n_trials = len(preset.grid()) if preset.sweep else 0
        patience = preset.train.early_stopping_patience
        with self.display.training(
            n_trials, preset.train.epochs, preset.ensemble, patience
        ) as callbacks:
            if folder is not None and resolve_n_jobs(n_jobs, n_trials) > 1:
                # This process only waits for the sweep's workers: load the figures' library.
                callbacks["on_trial"] = preload_figures_after(callbacks["on_trial"])
            try:
                result = run_experiment(
                    preset,
                    seed=self.seed,
                    n_jobs=n_jobs,
                    refit=self.refit,
                    run_dir=folder,
                    splits=None if inputs is None else inputs.splits,
                    info=None if inputs is None else self.model_info(),
                    table=None if inputs is None else inputs.table,
                    **callbacks,
                )
            except KeyboardInterrupt as exc:
                if folder is None:
                    raise
                kept = getattr(exc, "model", None) is not None
                raise RunInterrupted(
                    Path(folder), self.command, Path(folder) / "model.npz" if kept else None
                ) from None
        result.columns = columns_record(None if inputs is None else inputs.columns)
        started = (preset, self.seed, self.record())
        if folder is None:
            return Run(result.metrics(), result.model, result=result, started=started)
        try:
            with self.display.status("writing the run folder and report.html ..."):
                write_run(result, folder)
        except KeyboardInterrupt:  # metrics.json is written last: --resume finishes it
            raise RunInterrupted(Path(folder), self.command, None) from None
        # Saved: the run keeps its metrics, weights and preprocessing, not the test rows.
        return Run(result.metrics(), result.model, folder=Path(folder))


def preload_figures_after(on_trial: Any) -> Any:
    """``on_trial`` that, when the first trial is in, imports matplotlib in the background:
    the sweep's workers keep the cores busy, and this process only waits for them."""
    started = False

    def first_preloads(result: object) -> None:
        nonlocal started
        if not started:
            from glassnet.report.figures import preload

            preload()
            started = True
        if on_trial is not None:
            on_trial(result)

    return first_preloads


def prepare(
    data: Any = None,
    target: Any = None,
    *,
    command: str = "train",
    config: str | Path | dict[str, Any] | None = None,
    preset: str | None = None,
    task: str | None = None,
    drop: list[str] | None = None,
    features: list[str] | None = None,
    categorical: list[str] | None = None,
    numeric: list[str] | None = None,
    image_shape: tuple[int, ...] | None = None,
    validation_fraction: float | None = None,
    test_fraction: float | None = None,
    validation_data: Any = None,
    test_data: Any = None,
    scaling: str | None = None,
    ensemble: int | None = None,
    refit: str | None = None,
    seed: int = 0,
    data_home: str | None = None,
    progress: bool | Display = True,
    origin: str = "keywords",
    **training: Any,
) -> Job:
    """Resolve the settings, read and split the data, fit a table's preprocessing: a ``Job``
    to look at (``columns``, ``task``) and ``run``. Arguments as ``train`` takes them;
    ``origin`` is what messages call the settings given here (the CLI's are "flags")."""
    if command not in ("train", "run"):
        raise ConfigError(f"command must be 'train' or 'run', got {command!r}")
    check_seed(seed)
    display = display_of(progress)
    kind = None if data is None else source_kind(data)
    target = column_name(target, kind)
    frames = own_split_frames(validation_data, test_data)
    changes: dict[str, Any] = {
        **data_changes(data, target, task, preset, drop, features, categorical, numeric),
        **own_split_changes(validation_data, test_data),
        "train": training or None,
        "validation_fraction": validation_fraction,
        "test_fraction": test_fraction,
        "image_shape": list(image_shape) if image_shape else None,
        "scaling": scaling,
        "ensemble": ensemble,
    }
    if command == "train" and refit is not None:
        changes["refit"] = refit
    resolved = resolve_settings(config, command, changes, kind, origin)
    settings = dataclasses.replace(resolved.data, data_home=data_home)
    inputs = None
    if command == "train" or resolved.user_data:
        source, labels = source_and_labels(data, target, settings)
        inputs = read_inputs(
            source, labels, settings, resolved.preset, seed, display.status, frames
        )
    return Job(
        command,
        resolved.preset,
        settings,
        seed,
        refit if command == "run" else None,
        inputs,
        display,
        data_digest(data, target),
    )


def data_digest(data: Any, target: Any) -> str | None:
    """A SHA-256 of data given in Python (a DataFrame's cells and column names, or arrays
    and their labels); None for a file or a name, which run.json names instead."""
    import hashlib

    if data is None or source_kind(data) == "name":
        return None
    digest = hashlib.sha256()
    if source_kind(data) == "table":
        import pandas as pd

        digest.update(repr([str(name) for name in data.columns]).encode())
        digest.update(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
    else:
        x = data[0] if isinstance(data, tuple) and target is None else data
        digest.update(np.ascontiguousarray(np.asarray(x)).tobytes())
    labels = data[1] if isinstance(data, tuple) and target is None else target
    if labels is not None and not isinstance(labels, str):
        digest.update(np.ascontiguousarray(np.asarray(labels)).astype(str).tobytes())
    return digest.hexdigest()


def display_of(progress: bool | Display) -> Display:
    """``progress`` as a Display: itself, bars on stderr (True) or nothing (False)."""
    return progress if isinstance(progress, Display) else Display.for_user(bool(progress))


def column_name(target: Any, kind: str | None) -> Any:
    """A table's label column as its name: ``3`` names the column ``"3"`` (column names are
    read as text); for arrays ``target`` holds the labels themselves."""
    if kind in ("table", "name") and target is not None and np.ndim(target) == 0:
        return str(target)
    return target


def source_and_labels(data: Any, target: Any, settings: DataSettings) -> tuple[Any, Any]:
    """What to read: the data given in Python, or the source the settings name (a file may
    come from a config file), and the labels given as an array (None: a column names them)."""
    source = settings.data if data is None or source_kind(data) == "name" else data
    return source, None if isinstance(target, str) else target


def part_name(part: Any) -> str | None:
    """A user's validation or test table as the settings name it (its path, or DataFrame)."""
    return None if part is None else source_name(part)


def is_frame(part: Any) -> bool:
    return part is not None and source_kind(part) == "table"


def data_changes(
    data: Any, target: Any, task: str | None, preset: str | None, *columns: list[str] | None
) -> dict[str, Any]:
    """The data keywords of ``prepare`` and ``sweep`` in the config file's layout: the data's
    name, a label column's name, the task, the base preset and, from the drop / features /
    categorical / numeric lists (``columns``), the ``[columns]`` table."""
    given = {
        key: list(names)
        for key, names in zip(config_file.COLUMN_KEYS, columns, strict=True)
        if names
    }
    return {
        "data": None if data is None else source_name(data),
        "target": target if isinstance(target, str) else None,
        "task": task,
        "columns": given or None,
        "base": preset,
    }


def own_split_changes(validation_data: Any, test_data: Any) -> dict[str, str | None]:
    """The config file's ``validation_data`` / ``test_data`` keys for a user's own split
    given as keywords: a file's path, or the stand-in name of a DataFrame."""
    return {"validation_data": part_name(validation_data), "test_data": part_name(test_data)}


def own_split_frames(validation_data: Any, test_data: Any) -> dict[str, Any]:
    """The DataFrames of a user's own split (files are read from the settings); arrays are
    refused, since their columns have no names to match the training table's."""
    parts = {"validation": validation_data, "test": test_data}
    for name, part in parts.items():
        if part is not None and source_kind(part) == "arrays":
            raise ConfigError(f"{name}_data takes a table file or a DataFrame, not arrays")
    return {name: part for name, part in parts.items() if is_frame(part)}


def is_table_kind(kind: str | None) -> bool | None:
    """Whether data given in Python (``source_kind``) are a table; None for a file or a name,
    whose suffix says it."""
    return None if kind in (None, "name") else kind == "table"


def resolve_settings(
    config: str | Path | dict[str, Any] | None,
    command: str,
    changes: dict[str, Any],
    kind: str | None,
    origin: str = "keywords",
) -> config_file.Settings:
    """A config file (a path, or its keys as a dict) with ``changes`` on top, as ``command``
    reads it; data given in Python (``kind``) is a table or arrays whatever its name;
    ``origin`` names the changes in messages."""
    changes = {key: value for key, value in changes.items() if value is not None}
    data = changes.get("data")
    default_base = None
    if command == "run" and config is None and data in (None, "digits"):
        default_base = "seed"  # glassnet run: the seed experiment on the digits
    return config_file.resolve(
        config,
        command,
        changes=changes,
        default_base=default_base,
        table=is_table_kind(kind),
        changes_where=origin,
    )


def check_seed(seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ConfigError(f"seed must be an integer in 0..4294967295, got {seed!r}")


def train(
    data: Any,
    target: Any = None,
    *,
    out: str | Path | None = None,
    n_jobs: int | None = -1,
    **settings: Any,
) -> Run:
    """Train on ``data`` and test once: the whole ``glassnet train`` in one call.

    ``data``: a table file (.csv, .tsv, .txt, .parquet, .npz), ``"digits"``, an OpenML name,
    a pandas DataFrame, or an array ``x`` (n_samples, n_features) with ``target=y``.
    ``target``: the label column of a table (or the labels of arrays). The other settings
    are those of a config file, by the same names: ``config`` (a file, or its keys as a
    dict), ``preset``, ``task``, ``drop`` / ``features`` / ``categorical`` / ``numeric``
    (column lists), ``image_shape``, ``validation_fraction``, ``test_fraction``, ``scaling``,
    ``ensemble``, ``refit``, ``seed``, and any ``TrainConfig`` setting (``epochs=50``,
    ``hidden_layer_sizes=[64]``, ...). ``progress=False`` hides the bars. With ``out`` the
    run folder is written as the training goes (and ``resume(out)`` continues it after
    Ctrl-C); without, ``Run.save`` writes it later.

    >>> run = glassnet.train("penguins.csv", target="species")  # doctest: +SKIP
    >>> run.test_accuracy  # doctest: +SKIP
    0.9710
    """
    return prepare(data, target, command="train", **settings).run(out, n_jobs=n_jobs)


def run_preset(
    preset: str | None = None,
    *,
    out: str | Path | None = None,
    n_jobs: int | None = -1,
    data: Any = None,
    target: Any = None,
    **settings: Any,
) -> Run:
    """``glassnet run``: a preset's experiment (default: the seed experiment, the tutorial
    reproduced on the digits): sweep on validation, retrain the best, test once. ``data``
    runs the recipe on other data, split as ``train`` splits it; ``refit`` and ``dtype``
    override the preset's."""
    job = prepare(data, target, command="run", preset=preset, **settings)
    return job.run(out, n_jobs=n_jobs)


def resume(
    folder: str | Path,
    *,
    data: Any = None,
    target: Any = None,
    command: str | None = None,
    n_jobs: int | None = -1,
    progress: bool | Display = True,
) -> Run:
    """Continue the run in ``folder`` that Ctrl-C or SIGTERM stopped, with the settings it
    recorded; finished trials are not trained again. A run on a DataFrame or arrays needs
    them again (``data=``, and ``target=`` for arrays). ``command`` ("train" or "run")
    refuses a folder that another command started."""
    if not Path(folder).is_dir():
        raise ConfigError(f"{folder} is not a glassnet run folder (it does not exist)")
    with claim_folder(folder, command or "run"):
        return resume_claimed(Path(folder), data, target, command, n_jobs, progress)


def resume_claimed(
    folder: Path,
    data: Any,
    target: Any,
    command: str | None,
    n_jobs: int | None,
    progress: bool | Display,
) -> Run:
    """``resume`` once ``folder`` is claimed."""
    preset, seed, record = resume_run(folder, command)
    display = display_of(progress)
    settings = DataSettings.from_dict(record)
    inputs = None
    if "data" in record:
        source: Any = settings.data
        if settings.data in ("DataFrame", "arrays"):
            if data is None:
                raise ConfigError(
                    f"the run in {folder} trained on {settings.data} given in Python; "
                    f"give them again: glassnet.resume({str(folder)!r}, data=...)"
                )
            source = data
            if data_digest(data, target) != record.get("data_digest"):
                raise ConfigError(
                    f"the data given differ from those the run in {folder} trained on; "
                    "give the same DataFrame or arrays (and target) to resume it"
                )
        labels = None if isinstance(target, str) else target
        inputs = read_inputs(source, labels, settings, preset, seed, display.status)
    name = str(record.get("name", "run"))
    job = Job(name, preset, settings, seed, record.get("refit"), inputs, display)
    job.data_digest = record.get("data_digest")
    return job.train_into(Path(folder), n_jobs=n_jobs)


def sweep(
    config: str | Path | dict[str, Any] | None = None,
    *,
    preset: str | None = None,
    data: Any = None,
    target: Any = None,
    grid: dict[str, Any] | list[str] | None = None,
    settings: dict[str, Any] | list[str] | None = None,
    seeds: list[int] | str | None = None,
    n_random: int | None = None,
    search_seed: int | None = None,
    out: str | Path | None = None,
    n_jobs: int | None = -1,
    scheduler: str | None = None,
    cluster: str | None = None,
    workers: int | None = None,
    progress: bool | Display = True,
    task: str | None = None,
    drop: list[str] | None = None,
    features: list[str] | None = None,
    categorical: list[str] | None = None,
    numeric: list[str] | None = None,
    validation_data: Any = None,
    test_data: Any = None,
    data_home: str | None = None,
    **training: Any,
) -> SweepResult:
    """``glassnet sweep``: every configuration of ``grid`` (``{"l2": [0.1, 1]}``, ``{"l2":
    {"logspace": [-2, 2, 10]}}``, or the command line's ``["l2=logspace(-2,2,10)"]``) under
    each of ``seeds``, or ``n_random`` draws of a random search, on local processes or a Dask
    cluster (``scheduler="tcp://..."`` or ``cluster="local"``). Training settings given as
    keywords (or ``settings``, a dict or the command line's ``["epochs=200"]``) change every
    configuration. ``validation_data`` (a file or a DataFrame) scores every training on those
    rows instead of a share of ``data``, as ``train`` does. With ``out``, the records are
    written as they come, and a sweep stopped part-way runs only its missing trials when run
    again."""
    from contextlib import nullcontext

    from glassnet.experiments.plan import plan_of_changes
    from glassnet.experiments.sweep import run_sweep
    from glassnet.training.resume import StopSignals

    display = display_of(progress)
    kind = None if data is None else source_kind(data)
    frames = own_split_frames(validation_data, test_data)
    changes = {
        **data_changes(data, target, task, preset, drop, features, categorical, numeric),
        **own_split_changes(validation_data, test_data),
    }
    plan = plan_of_changes(
        config,
        changes,
        settings=settings,
        training=training,
        grid=grid,
        seeds=seeds,
        n_random=n_random,
        search_seed=search_seed,
        table=is_table_kind(kind),
    )
    if workers is not None and cluster is None:
        raise ConfigError("workers sets the size of cluster='local' (--workers: --cluster local)")
    splits = None
    if plan.data is not None:
        # The user's data, split once (split seed 0) as train splits it; the sweep's seeds
        # vary the trainings, not the split.
        data_settings = dataclasses.replace(plan.data, data_home=data_home)
        source, labels = source_and_labels(data, column_name(target, kind), data_settings)
        status = display.status
        splits = read_inputs(source, labels, data_settings, plan.preset, 0, status, frames).splits
    if scheduler is not None or cluster is not None:
        from glassnet.experiments.dask_trials import dask_client, require_distributed

        require_distributed()  # before any work: says how to install Dask if it is missing
        where: Any = dask_client(scheduler, local_workers=workers)
    else:
        where = nullcontext(None)
    n_trials = len(plan.settings()) * len(plan.seeds)
    # One sweep writes a folder at a time; SIGTERM stops it as Ctrl-C does, and finished
    # trials stay recorded there.
    claim = nullcontext() if out is None else claim_folder(out, "sweep")
    with claim, StopSignals(), where as client, display.progress() as bars:
        task_id = bars.add_task(f"sweep ({n_trials} trainings)", total=n_trials)
        return run_sweep(
            plan,
            out=out,
            n_jobs=n_jobs,
            client=client,
            on_record=lambda _: bars.advance(task_id),
            splits=splits,
        )


def presets() -> list[tuple[str, str]]:
    """The built-in presets: (name, what it runs)."""
    from glassnet.experiments import presets as builtin

    return [(name, builtin.load(name).description) for name in builtin.names()]
