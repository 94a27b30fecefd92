"""Run a sweep plan on local processes or on Dask; write each trial's record as it finishes,
then a summary (mean and spread over seeds per configuration) as a table and a plot.

Outputs in the sweep folder: ``trials.jsonl`` (one JSON record per finished trial, in trial
order, rewritten atomically as each trial finishes), ``summary.md`` and ``sweep.png``. Run
again into the same folder, a sweep that was killed part-way runs only its missing trials.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.atomic import write_atomic
from glassnet.data.datasets import Splits
from glassnet.errors import ConfigError
from glassnet.experiments.plan import SweepPlan, inputs_of, load_inputs
from glassnet.experiments.trials import Trial, TrialResult, run_trials


@dataclass
class SweepResult:
    """The records of every trial (in trial order) and the per-configuration summary."""

    plan: SweepPlan
    records: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    seconds: float
    where: str

    def markdown(self) -> str:
        """The summary table (mean and spread over seeds per configuration) as Markdown."""
        return summary_markdown(self)


class RecordLog:
    """``trials.jsonl``: one JSON line per finished trial, in trial order. The whole file is
    rewritten atomically after each trial, so a killed sweep leaves every finished record
    intact and none half-written."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.records: dict[int, dict[str, Any]] = {}

    def load(self, trials: list[Trial]) -> dict[int, dict[str, Any]]:
        """The records already in the file, by trial index; each must be one of ``trials``
        with the same settings, or the folder holds another sweep (a ConfigError)."""
        if not self.path.is_file():
            return {}
        expected = {trial.index: _json_ready(trial.params) for trial in trials}
        try:
            lines = [json.loads(line) for line in self.path.read_text().splitlines() if line]
        except json.JSONDecodeError as exc:
            message = f"{self.path} is not JSON lines ({exc}); delete it to start over"
            raise ConfigError(message) from None
        for record in lines:
            params = expected.get(record.get("trial") if isinstance(record, dict) else None)
            if params is None or any(record.get(k) != v for k, v in params.items()):
                raise ConfigError(
                    f"{self.path} holds the records of a different sweep; choose another --out"
                )
            self.records[record["trial"]] = record
        return dict(self.records)

    def write(self, record: dict[str, Any]) -> None:
        self.records[record["trial"]] = record
        text = "".join(json.dumps(self.records[i]) + "\n" for i in sorted(self.records))
        write_atomic(self.path, lambda handle: handle.write(text), mode="w")


def _plain(value: Any) -> Any:
    """JSON for the numpy scalars and tuples a record may hold."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _json_ready(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_plain))


def record_of(result: TrialResult) -> dict[str, Any]:
    """A trial's JSON-ready record: its index, settings, seed and final metrics."""
    return _json_ready(result.record())


def run_sweep(
    plan: SweepPlan,
    *,
    out: str | Path | None = None,
    n_jobs: int | None = -1,
    client: Any = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    timeout: float | None = None,
    splits: Splits | None = None,
) -> SweepResult:
    """Run every trial of ``plan`` (on ``client``'s Dask workers when given, else on
    ``n_jobs`` local processes) and write the outputs into ``out`` when given.

    Trials already recorded in ``out/trials.jsonl`` (a sweep killed part-way) are not run
    again; ``on_record`` sees only the trials run now. ``splits`` replaces the preset's own
    data (a user's table); the sweep never touches its test split."""
    started = time.perf_counter()
    if splits is None:
        train_data, validation, n_outputs, inputs = load_inputs(plan.preset)
    else:
        train_data, validation, n_outputs, inputs = inputs_of(plan.preset, splits)
    trials = plan.trials()
    log = RecordLog(Path(out) / "trials.jsonl") if out is not None else None
    finished = log.load(trials) if log is not None else {}
    missing = [trial for trial in trials if trial.index not in finished]

    def on_result(result: TrialResult) -> None:
        record = record_of(result)
        if log is not None:
            log.write(record)
        if on_record is not None:
            on_record(record)

    if client is not None and missing:
        from glassnet.experiments.dask_trials import run_trials_on_dask

        results = run_trials_on_dask(
            client,
            missing,
            train_data,
            validation,
            n_outputs=n_outputs,
            on_result=on_result,
            timeout=timeout,
            # Only final scores are recorded: validation is scored after the last epoch.
            inputs={**inputs, "score_every_epoch": False},
        )
        where = f"Dask at {client.scheduler.address}"
    else:
        results = run_trials(
            missing,
            train_data,
            validation,
            n_outputs=n_outputs,
            n_jobs=n_jobs,
            on_result=on_result,
            score_every_epoch=False,
            **inputs,
        )
        where = "local processes"
    if finished:
        where += f" ({len(finished)} trial(s) recorded by an earlier run)"
    new = {result.index: record_of(result) for result in results}
    records = [finished.get(trial.index) or new[trial.index] for trial in trials]
    result = SweepResult(plan, records, summarize(records, plan.keys), 0.0, where)
    result.seconds = time.perf_counter() - started
    if out is not None:
        write_summary(result, Path(out))
    return result


def summarize(records: list[dict[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    """Per configuration (the swept settings): number of seeds and mean / std of each
    metric over them; best mean validation accuracy first (first configuration on ties)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(json.dumps([record[key] for key in keys]), []).append(record)
    rows = []
    for members in groups.values():
        row: dict[str, Any] = {key: members[0][key] for key in keys}
        row["n_seeds"] = len(members)
        for metric in ("validation_accuracy", "validation_loss", "train_loss"):
            values = [m[metric] for m in members if metric in m]
            if values:
                row[f"{metric}_mean"] = float(np.mean(values))
                row[f"{metric}_std"] = float(np.std(values))
        rows.append(row)
    # A configuration whose every seed diverged has no scores: it goes last. The sort is
    # stable: ties keep grid order.
    if any("validation_accuracy_mean" in row for row in rows):
        rows.sort(key=lambda row: -row.get("validation_accuracy_mean", -np.inf))
    elif any("validation_loss_mean" in row for row in rows):  # a regression: lowest loss first
        rows.sort(key=lambda row: row.get("validation_loss_mean", np.inf))
    return rows


def summary_markdown(result: SweepResult) -> str:
    """The summary as a Markdown table, best configuration first."""
    keys = result.plan.keys
    # A regression has no accuracy: its column would be empty.
    metrics = [
        metric
        for metric in ("validation_accuracy", "validation_loss")
        if any(f"{metric}_mean" in row for row in result.summary)
    ]
    header = [*keys, "seeds", *(metric.replace("_", " ") for metric in metrics)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in result.summary:
        cells = [_cell(row[key]) for key in keys] + [str(row["n_seeds"])]
        for metric in metrics:
            mean, std = row.get(f"{metric}_mean"), row.get(f"{metric}_std")
            cells.append("" if mean is None else f"{mean:.4f} ± {std:.4f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def write_summary(result: SweepResult, out: Path) -> None:
    """``summary.md`` (the table and how the sweep ran) and ``sweep.png``."""
    from glassnet.atomic import write_atomic

    plan = result.plan
    text = (
        f"# sweep {plan.preset.name}\n\n{len(result.records)} trials "
        f"({plan.search} search, seeds {plan.seeds}) on {result.where}, "
        f"{result.seconds:.1f} s\n\n" + summary_markdown(result)
    )
    write_atomic(out / "summary.md", lambda handle: handle.write(text), mode="w")
    plot_summary(result, out / "sweep.png")


def plot_summary(result: SweepResult, path: Path) -> Path:
    """Mean validation accuracy (bars: std over seeds) against the first swept setting;
    one line per combination of the other swept settings."""
    from glassnet.report.figures import pyplot, save_figure

    keys = result.plan.keys
    fig, ax = pyplot().subplots(figsize=(6, 4), dpi=100)
    # A regression has no accuracy: its mean validation loss is drawn instead.
    metric = "validation_accuracy"
    if not any("validation_accuracy_mean" in row for row in result.summary):
        metric = "validation_loss"
    rows = [row for row in result.summary if f"{metric}_mean" in row]
    x_key = keys[0] if keys else None
    numeric = x_key is not None and all(isinstance(r[x_key], (int, float)) for r in rows)
    lines: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        label = ", ".join(f"{key}={_cell(row[key])}" for key in keys[1:])
        lines.setdefault(label, []).append(row)
    for label, members in lines.items():
        if numeric:
            members = sorted(members, key=lambda r: r[x_key])
            xs: list[Any] = [r[x_key] for r in members]
        else:
            xs = [_cell(r[x_key]) if x_key else "base" for r in members]
        ax.errorbar(
            xs,
            [r[f"{metric}_mean"] for r in members],
            yerr=[r[f"{metric}_std"] for r in members],
            fmt="o-" if numeric else "o",
            capsize=3,
            label=label or None,
        )
    if numeric and rows:
        values = [r[x_key] for r in rows]
        if min(values) > 0 and max(values) / min(values) > 20:
            ax.set_xscale("log")
    ax.set_xlabel(x_key or "configuration")
    label = metric.replace("_", " ")
    ax.set_ylabel(f"{label} (mean ± std, {len(result.plan.seeds)} seed(s))")
    ax.set_title(f"sweep {result.plan.preset.name}: {len(result.records)} trials")
    ax.grid(True, alpha=0.3)
    if len(lines) > 1:
        ax.legend(fontsize="small")
    return save_figure(fig, path)
