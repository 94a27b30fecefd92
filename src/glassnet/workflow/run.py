"""A finished run as a Python object: its scores, curves, columns and model, saved as a run
folder (model.npz, metrics.json, predictions.npz, figures, report.html) and loaded back.

A ``Run`` holds plain data: ``metrics`` is what metrics.json holds, so a run just trained and
one loaded from its folder answer the same questions the same way.
"""

from __future__ import annotations

import base64
import html
import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glassnet.atomic import write_atomic
from glassnet.errors import ConfigError, DataError
from glassnet.experiments.claim import claim_folder
from glassnet.experiments.experiment import holds_run, start_run, write_run
from glassnet.models import checkpoint
from glassnet.report import html as html_report
from glassnet.report import run_folder
from glassnet.report.format import format_params
from glassnet.training.history import History

if TYPE_CHECKING:
    from glassnet.experiments.experiment import ExperimentResult
    from glassnet.experiments.presets import Preset
    from glassnet.models.model import Model

# The files that make a run folder, as write_run writes them (figures are *.png).
RUN_FILES = ("run.json", "metrics.json", "model.npz", "predictions.npz", "report.html")


class Run:
    """A finished run: ``test_accuracy`` (or ``test_r2``), ``history``, ``columns``,
    ``model`` (preprocessing inside: ``run.model.predict(rows)``), and ``folder`` once saved.

    ``glassnet.train`` returns one; ``glassnet.load_run(folder)`` reads one back."""

    def __init__(
        self,
        metrics: dict[str, Any],
        model: Model,
        *,
        folder: Path | None = None,
        result: ExperimentResult | None = None,
        started: tuple[Preset, int, dict[str, Any]] | None = None,
    ) -> None:
        self.metrics = metrics
        self.model = model
        self.folder = folder
        # A run trained in this process can still be written out (run.json, predictions):
        self._result = result
        self._started = started  # (preset, seed, command record) that run.json keeps

    @property
    def task(self) -> str:
        """``classification`` or ``regression``."""
        return str(self.metrics.get("task", self.model.task))

    @property
    def test_accuracy(self) -> float | None:
        """The final model's accuracy on the test rows (None for a regression)."""
        return self.metrics.get("test_accuracy")

    @property
    def validation_accuracy(self) -> float | None:
        """The final model's accuracy on the validation rows (None when it trained on them,
        or for a regression)."""
        return self.metrics.get("validation_accuracy")

    @property
    def test_r2(self) -> float | None:
        """A regression's R² on the test rows (None for a classification)."""
        return self.metrics.get("test_r2")

    @property
    def scores(self) -> dict[str, float]:
        """The headline numbers: test and validation accuracy, or a regression's R², RMSE
        and MAE, without the ones that do not apply."""
        names = (
            ("validation_accuracy", "test_accuracy")
            if self.task == "classification"
            else ("validation_r2", "test_r2", "test_rmse", "test_mae")
        )
        return {name: self.metrics[name] for name in names if self.metrics.get(name) is not None}

    @property
    def warnings(self) -> list[str]:
        """What the test scores say the model misses: not beating the trivial baseline (the
        majority class, or the training mean), a class it mostly fails to find; empty when
        none applies."""
        return [str(item) for item in self.metrics.get("warnings") or []]

    @property
    def history(self) -> History:
        """The final training's losses (and validation accuracy) per epoch."""
        return History(**self.metrics.get("history", {}))

    @property
    def columns(self) -> list[dict[str, Any]]:
        """A table's columns: name, role, share of missing cells, distinct values and a note
        (why a column was dropped); empty for data that are not a table."""
        return list(self.metrics.get("columns") or [])

    @property
    def best_params(self) -> dict[str, Any]:
        """The settings the sweep chose ({} without a sweep)."""
        return dict(self.metrics.get("best_params") or {})

    @property
    def split_sizes(self) -> dict[str, int]:
        return dict(self.metrics.get("split_sizes") or {})

    @property
    def seconds(self) -> float:
        return float(self.metrics.get("seconds", 0.0))

    @property
    def result(self) -> ExperimentResult | None:
        """Everything the training produced (trials, member histories, the test rows), for
        a run trained in this process and not yet saved; None once it is saved (a saved run
        keeps no data, only what its folder holds) and for one loaded from its folder."""
        return self._result

    def save(self, folder: str | Path) -> Path:
        """Write the run folder: model.npz, metrics.json, predictions.npz, the figures and
        report.html (a folder that already holds a run is refused). Returns the folder."""
        folder = Path(folder)
        if self.folder is not None and folder.resolve() == self.folder.resolve():
            return folder
        if self._result is None or self._started is None:
            if self.folder is None:
                raise ConfigError("this run has no folder to copy from; train it again")
            self.metrics = copy_run_folder(self.folder, folder)
        else:
            preset, seed, command = self._started
            with claim_folder(folder, command["name"]):
                start_run(preset, seed, folder, command)
                write_run(self._result, folder)
            self.metrics = run_folder.read_metrics(folder)
            # Written: from here the run holds metrics, weights and preprocessing, not data.
            self._result = self._started = None
        self.folder = folder
        return folder

    def report(self, folder: str | Path | None = None) -> Report:
        """Write report.html (saving the run into ``folder`` first, or into a temporary
        folder when it was never saved) and return it; a notebook shows it inline."""
        if folder is not None:
            self.save(folder)
        elif self.folder is None:
            self.save(Path(tempfile.mkdtemp(prefix="glassnet-run-")))
        assert self.folder is not None
        path = self.folder / html_report.REPORT
        if not path.is_file():
            html_report.write_report(self.folder)
        return Report(path)

    def _repr_html_(self) -> str:
        return run_html(self)

    def __repr__(self) -> str:
        scores = ", ".join(f"{name}={value:.4f}" for name, value in self.scores.items())
        where = f", folder={str(self.folder)!r}" if self.folder is not None else ""
        return f"Run({self.task}, {scores}{where})"


class Report:
    """A run's report.html: ``path`` on disk; a notebook shows the page inline."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"Report({str(self.path)!r})"

    def _repr_html_(self) -> str:
        page = html.escape(self.path.read_text(encoding="utf-8"), quote=True)
        return (
            f"<iframe srcdoc=\"{page}\" style='width:100%;height:640px;border:1px solid #ddd' "
            f"title='glassnet report'></iframe><p><code>{html.escape(str(self.path))}</code></p>"
        )


def load_run(folder: str | Path) -> Run:
    """The run saved in ``folder`` (by ``Run.save``, ``glassnet train`` or ``glassnet run``):
    its metrics, curves, columns and model, checked as ``glassnet evaluate`` checks them."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"run folder {str(folder)!r} does not exist")
    metrics = run_folder.read_metrics(folder)
    model = checkpoint.load(folder / "model.npz")
    return Run(metrics, model, folder=folder)


def copy_run_folder(source: Path, folder: Path) -> dict[str, Any]:
    """Copy a finished run's files into ``folder`` (claimed meanwhile; it must not hold a
    run), its metrics.json naming the copies; returns those metrics."""
    with claim_folder(folder, "copy"):
        if holds_run(folder):
            raise ConfigError(f"{folder} already holds a run; choose another folder")
        names = [
            path.name
            for path in sorted(source.iterdir())
            if path.is_file() and (path.name in RUN_FILES or path.suffix == ".png")
        ]
        for name in names:
            if name != run_folder.METRICS:
                shutil.copy2(source / name, folder / name)
        metrics = run_folder.read_metrics(source)
        metrics["outputs"] = {
            key: str(folder / Path(path).name) for key, path in metrics.get("outputs", {}).items()
        }
        text = json.dumps(metrics, indent=2)
        write_atomic(folder / run_folder.METRICS, lambda handle: handle.write(text), mode="w")
    return metrics


def run_html(run: Run) -> str:
    """A run as a notebook shows it: the headline scores, the chosen settings, the columns
    and their roles, and the loss curves."""
    e = html.escape
    scores = "".join(
        f"<td style='padding:4px 12px'><b>{value:.4f}</b><br><small>{e(name.replace('_', ' '))}"
        "</small></td>"
        for name, value in run.scores.items()
    )
    sizes = "/".join(str(n) for n in run.split_sizes.values())
    facts = [
        f"{e(run.task)}",
        f"split {sizes} (train/validation/test)" if sizes else "",
        f"chosen: {e(format_params(run.best_params))}" if run.best_params else "",
        f"{run.seconds:.1f} s",
        f"saved in <code>{e(str(run.folder))}</code>" if run.folder is not None else "not saved",
    ]
    parts = [
        "<div><b>glassnet run</b>: " + ", ".join(fact for fact in facts if fact) + "</div>",
        f"<table><tr>{scores}</tr></table>",
    ]
    if run.columns:
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td style='text-align:left;padding:1px 8px'>{e(str(value))}</td>"
                for value in (
                    column["name"],
                    column["role"],
                    f"{100 * column['missing']:.1f}%",
                    column["distinct"],
                    column.get("note", ""),
                )
            )
            + "</tr>"
            for column in run.columns
        )
        header = "".join(
            f"<th style='text-align:left;padding:1px 8px'>{name}</th>"
            for name in ("column", "role", "missing", "distinct", "note")
        )
        parts.append(
            f"<details><summary>columns</summary><table><tr>{header}</tr>{rows}</table></details>"
        )
    curves = loss_curve_png(run.history)
    if curves:
        source = f"data:image/png;base64,{curves}"
        parts.append(f"<img alt='loss per epoch' style='max-width:480px' src='{source}'>")
    return "\n".join(parts)


def loss_curve_png(history: History) -> str:
    """The loss curves as a base64 PNG (empty without any recorded epoch)."""
    if not history.train_loss:
        return ""
    from glassnet.report.figures import plot_losses

    with tempfile.TemporaryDirectory(prefix="glassnet-") as scratch:
        path = plot_losses(history, Path(scratch) / "losses.png")
        return base64.b64encode(path.read_bytes()).decode("ascii")


def columns_record(columns: list[Any] | None) -> list[dict[str, Any]] | None:
    """A table's ``ColumnInfo`` list as plain data for metrics.json (None for other data)."""
    if columns is None:
        return None
    return [
        {
            "name": info.name,
            "role": info.role,
            "used": info.used,
            "missing": float(info.missing),
            "distinct": int(info.distinct),
            "note": info.note,
        }
        for info in columns
    ]


def rewrite_report(folder: str | Path) -> Path:
    """Redraw a run folder's figures and rewrite its report.html from its files (no data
    needed); returns the report's path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"run folder {str(folder)!r} does not exist")
    return html_report.write_report(folder)
