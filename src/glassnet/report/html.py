"""report.html: one self-contained page per run folder (figures embedded as base64 PNG).

The page is built only from the run folder's files (metrics.json, predictions.npz and the
figures), so ``glassnet report RUN_DIR`` can rebuild it at any time, without the data.
"""

from __future__ import annotations

import base64
import html
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from glassnet.atomic import write_atomic
from glassnet.report import run_folder
from glassnet.report.format import format_params, format_value

REPORT = "report.html"
# Section ids, in page order; tests check that each one is present.
SECTIONS = (
    "summary",
    "scores",
    "config",
    "columns",
    "sweep",
    "curves",
    "confusion",
    "per-class",
    "gallery",
    "files",
)

# A setting whose name and value are longer than this takes a whole row of the grid.
LONG_SETTING = 30

STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
       color: #1d2330; background: #f5f6f8; }
main { max-width: 980px; margin: 0 auto; padding: 24px; }
h1 { font-size: 26px; margin: 8px 0 4px; } h2 { font-size: 19px; margin: 0 0 12px; }
section { background: white; border-radius: 8px; padding: 18px 22px; margin: 16px 0;
          box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.headline { display: flex; gap: 14px; flex-wrap: wrap; }
.number { background: #eef3fb; border-radius: 6px; padding: 10px 16px; min-width: 140px; }
.number b { display: block; font-size: 24px; color: #1f4e99; }
table { border-collapse: collapse; font-size: 14px; margin: 6px 0; }
th, td { padding: 4px 12px; border-bottom: 1px solid #e3e6eb; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.chosen td { background: #e6f4ea; font-weight: 600; }
img { max-width: 100%; height: auto; }
.figures { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.figures img { width: 430px; } .figures img.wide { width: 100%; }
.figures img.natural { width: auto; }
.scroll { max-width: 100%; overflow-x: auto; }
/* As many 240 px columns as the window holds (3 at full width, 1 on a phone); a long
   value (a sweep's list) takes a row of its own and wraps instead of widening the page. */
.settings { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr));
            gap: 6px 18px; }
.settings div { display: flex; justify-content: space-between; gap: 8px; min-width: 0;
                border-bottom: 1px solid #e3e6eb; padding: 2px 0; font-size: 14px; }
.settings div.long { grid-column: 1 / -1; }
.settings span { color: #667085; white-space: nowrap; }
.settings b { text-align: right; overflow-wrap: anywhere; }
.number small { display: block; max-width: 260px; font-size: 12px; color: #667085; }
.muted { color: #667085; } code { background: #f0f1f3; padding: 1px 4px; border-radius: 3px; }
.warning { background: #fff4e5; border-left: 5px solid #e8590c; border-radius: 6px;
           padding: 10px 16px; margin: 14px 0 0; color: #7a2e0b; }
.warning ul { margin: 4px 0 0; padding-left: 20px; }
tr.dropped td { color: #98a2b3; }
"""


def write_report(folder: str | Path, figures: dict[str, str] | None = None) -> Path:
    """Write ``folder/report.html`` from the run folder's files; draws the figures first unless
    ``figures`` (name -> PNG path, as ``run_folder.draw_figures`` returns) is given."""
    folder = Path(folder)
    metrics = run_folder.read_metrics(folder)
    predictions = run_folder.read_predictions(folder)
    if figures is None:
        figures = run_folder.draw_figures(metrics, predictions, folder)
    page = render(metrics, predictions, figures, folder)
    path = folder / REPORT
    write_atomic(path, lambda handle: handle.write(page), mode="w")
    return path


def render(metrics: dict[str, Any], predictions: Any, figures: dict[str, str], folder: Path) -> str:
    """The whole page as a string."""
    evaluation = run_folder.evaluation_of(predictions)
    data = metrics.get("data") or {}
    has_images = bool(data.get("image_shape"))
    name = run_name(metrics, run_folder.read_command(folder))
    if metrics.get("task") == "regression":
        return _page(name, metrics, [*_regression_sections(metrics, figures, name), _files(folder)])
    sections = [
        _summary(metrics, name),
        _scores(metrics, figures),
        _config(metrics),
        _columns(metrics),
        _sweep(metrics, figures),
        _section(
            "curves",
            "Training curves",
            _figures(figures, "loss_plot", "accuracy_plot")
            or "<p class=muted>No per-epoch history in this run.</p>",
        ),
        _section(
            "confusion",
            "Confusion matrix (test set)",
            _figures(figures, "confusion_plot", natural=True)
            or "<p class=muted>No test predictions in this run folder.</p>",
        ),
        _per_class(evaluation),
    ]
    if has_images:
        sections.append(_gallery(evaluation, figures, metrics))
    if "filters_plot" in figures:
        sections.append(
            _section(
                "filters",
                "What the first convolution layer learned",
                "<p class=muted>Its filters (red positive, blue negative weights), and their "
                "feature maps of the first test image after the layer's activation.</p>"
                + _figures(figures, "filters_plot", "feature_maps_plot"),
            )
        )
    sections.append(_files(folder))
    return _page(name, metrics, sections)


def _page(name: str, metrics: dict[str, Any], sections: list[str]) -> str:
    title = f"glassnet report: {name}"
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{STYLE}</style></head>\n<body><main>\n"
        + "\n".join(sections)
        + f"\n<p class=muted>Written by glassnet {_e(metrics.get('glassnet_version', ''))} on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.</p>\n</main></body></html>\n"
    )


def _e(value: Any) -> str:
    return html.escape(str(value))


def _section(name: str, title: str, body: str) -> str:
    return f"<section id={name}><h2>{_e(title)}</h2>\n{body}\n</section>"


def _table(
    header: list[str],
    rows: list[list[Any]],
    chosen: set[int] = frozenset(),  # type: ignore[assignment]
    mark: str = "chosen",
) -> str:
    """An HTML table; the rows numbered in ``chosen`` get the class ``mark``."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        f"<tr{f' class={mark}' if i in chosen else ''}>"
        + "".join(f"<td>{_e(format_value(cell))}</td>" for cell in row)
        + "</tr>"
        for i, row in enumerate(rows)
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<div class=scroll>{table}</div>"  # a wide table scrolls, the page does not


def _image(path: str, alt: str, wide: bool = False, natural: bool = False) -> str:
    encoded = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    # wide: the column's width; natural: the figure's own pixel size (at most the column's),
    # for a figure whose text is sized for that (the confusion matrix).
    style = " class=wide" if wide else " class=natural" if natural else ""
    return f"<img{style} alt='{_e(alt)}' src='data:image/png;base64,{encoded}'>"


def _figures(
    figures: dict[str, str],
    *names: str,
    wide: bool = False,
    natural: bool = False,
    extra: str = "",
) -> str:
    images = [_image(figures[n], n.replace("_", " "), wide, natural) for n in names if n in figures]
    return f"<div class=figures>{''.join(images)}{extra}</div>" if images or extra else ""


def _regression_sections(metrics: dict[str, Any], figures: dict[str, str], name: str) -> list[str]:
    """A regression's page: R^2/RMSE/MAE instead of accuracy, and the predicted-against-true
    and residual plots instead of a confusion matrix."""
    baseline = (metrics.get("evaluation") or {}).get("baseline") or {}
    rows = [
        [name, _accuracy(metrics.get(f"test_{key}")), _accuracy(baseline.get(key))]
        for name, key in (("R²", "r2"), ("RMSE", "rmse"), ("MAE", "mae"))
    ]
    mean = baseline.get("value")
    rule = (
        f"baseline: always the training mean ({format_value(mean)})"
        if mean is not None
        else ("baseline (not recorded in this run)")
    )
    return [
        _summary(metrics, name),
        _config(metrics),
        _columns(metrics),
        _sweep(metrics, figures),
        _section(
            "curves",
            "Training curves (loss on the standardised target)",
            _figures(figures, "loss_plot") or "<p class=muted>No per-epoch history.</p>",
        ),
        _section(
            "predictions",
            "Predictions (test set)",
            _table(["metric", "test set", rule], rows)
            + (_figures(figures, "regression_plot", wide=True) or ""),
        ),
    ]


def _summary(metrics: dict[str, Any], name: str) -> str:
    data = metrics.get("data") or {}
    baseline = (metrics.get("evaluation") or {}).get("baseline") or {}

    def beside(key: str) -> str:
        value = baseline.get(key)
        return f"baseline {value:.4f}" if isinstance(value, (int, float)) else ""

    numbers = [
        ("test accuracy", _accuracy(metrics.get("test_accuracy")), beside("accuracy")),
        ("validation accuracy", *_validation(metrics)),
        ("run time", f"{metrics.get('seconds', 0):.1f} s", ""),
    ]
    if metrics.get("task") == "regression":
        numbers[:2] = [
            ("test R²", _accuracy(metrics.get("test_r2")), beside("r2")),
            ("test RMSE", _accuracy(metrics.get("test_rmse")), beside("rmse")),
        ]
    cards = "".join(
        f"<div class=number>{_e(label)}<b>{_e(format_value(value))}</b>"
        f"{f'<small>{_e(note)}</small>' if note else ''}</div>"
        for label, value, note in numbers
    )
    sizes = metrics.get("split_sizes", {})
    split = ", ".join(f"{n} {part}" for part, n in sizes.items())
    chosen = metrics.get("best_params") or {}
    chosen_text = format_params(chosen) or "no sweep"
    return (
        f"<section id=summary><h1>{_e(name)}</h1>"
        f"<p class=muted>data <code>{_e(data.get('name', '?'))}</code>"
        f"{' target <code>' + _e(data['target']) + '</code>' if data.get('target') else ''}; "
        f"seed {_e(metrics.get('seed'))}; split {_e(split)}; chosen: {_e(chosen_text)}</p>"
        f"<div class=headline>{cards}</div>{_warnings(metrics)}</section>"
    )


def _warnings(metrics: dict[str, Any]) -> str:
    """A box listing what ``metrics.json`` warns about the model (below its baseline, a
    single predicted class, imbalanced classes); empty when there is nothing to say."""
    found = metrics.get("warnings")
    if not found or not isinstance(found, list):
        return ""
    items = "".join(f"<li>{_e(text)}</li>" for text in found)
    return f"<div class=warning role=alert><b>Warning</b><ul>{items}</ul></div>"


# Scores of a classifier shown beside its baseline's, in this order, with their labels.
SCORES = (
    ("accuracy", "accuracy"),
    ("balanced_accuracy", "balanced accuracy"),
    ("macro_f1", "macro-F1"),
    ("roc_auc", "ROC AUC"),
    ("average_precision", "average precision"),
)


def _scores(metrics: dict[str, Any], figures: dict[str, str]) -> str:
    """The test scores beside the baseline's (always the training majority class), and for
    two classes the precision-recall and threshold view."""
    evaluation = metrics.get("evaluation")
    if not isinstance(evaluation, dict):
        return _section("scores", "Scores (test set)", "<p class=muted>No test evaluation.</p>")
    baseline = evaluation.get("baseline") or {}
    rule = baseline.get("rule")
    header = ["metric", "model", f"baseline: {rule}" if rule else "baseline (not recorded)"]
    rows = [
        [label, _accuracy(evaluation.get(key)), _accuracy(baseline.get(key))]
        for key, label in SCORES
        if key in evaluation
    ]
    note = (
        "<p class=muted>Balanced accuracy is the mean recall over classes and macro-F1 the "
        "mean F1: neither rewards always answering the majority class. ROC AUC and average "
        "precision rank the test rows by the predicted probability of the second class.</p>"
    )
    threshold = _figures(figures, "threshold_plot", wide=True)
    return _section(
        "scores", "Scores (test set) beside the baseline", note + _table(header, rows) + threshold
    )


def _columns(metrics: dict[str, Any]) -> str:
    """Each table column: role, missing cells, distinct values, what the preprocessing
    learned from the training rows, and why a column was dropped."""
    records = metrics.get("columns")
    if not isinstance(records, list) or not records:
        n_features = (metrics.get("data") or {}).get("n_features")
        what = f"{n_features} numeric inputs" if n_features else "numeric inputs"
        return _section("columns", "Columns", f"<p class=muted>Not a table: {_e(what)}.</p>")
    rows, dropped = [], set()
    for record in records:
        if not isinstance(record, dict):
            continue
        missing = record.get("missing")
        learned = record.get("learned") or {}
        rows.append(
            [
                record.get("name"),
                record.get("role"),
                f"{100 * missing:.1f}%" if isinstance(missing, (int, float)) else "?",
                record.get("distinct"),
                _learned(learned),
                record.get("note") or "",
            ]
        )
        if record.get("role") == "dropped":
            dropped.add(len(rows) - 1)
    header = ["column", "role", "missing", "distinct", "learned on the training rows", "note"]
    return _section("columns", "Columns", _table(header, rows, dropped, mark="dropped"))


def _learned(learned: dict[str, Any]) -> str:
    """What the preprocessing keeps of one column, as short text."""
    if "categories" in learned:
        return f"{learned['categories']} categories"
    if "parts" in learned:
        return "parts " + ", ".join(str(part).rsplit(".", 1)[-1] for part in learned["parts"])
    shown = [
        f"{key} {format_value(learned[key])}"
        for key in ("median", "mean", "scale")
        if key in learned
    ]
    if learned.get("missing_indicator"):
        shown.append("+ missing flag")
    return ", ".join(shown)


def _validation(metrics: dict[str, Any]) -> tuple[str, str]:
    """The final model's validation accuracy, and a note when a refit on train+valid left no
    unseen validation rows to score it (the sweep's score of the chosen setting, if any, is
    shown instead)."""
    value = metrics.get("validation_accuracy")
    if isinstance(value, (int, float)) or metrics.get("refit") != "train+valid":
        return _accuracy(value), ""
    chosen = metrics.get("selection_accuracy")
    if isinstance(chosen, (int, float)):
        return _accuracy(chosen), (
            "the chosen setting's score in the sweep, before the refit on train+valid "
            "(the refitted model has no unseen validation rows left)"
        )
    return "n/a", "the final model was trained on train+valid: no unseen validation rows are left"


def _accuracy(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "n/a"


def run_name(metrics: dict[str, Any], command: str | None = None) -> str:
    """The command and the data: ``glassnet train: flowers.csv``, ``glassnet run: seed preset
    on digits``. ``command`` is the run folder's (run.json); without it, a guess."""
    preset = metrics.get("config", {}).get("name", "run")
    data = (metrics.get("data") or {}).get("name") or metrics.get("config", {}).get("data")
    command = command or ("train" if preset == "train" else "run")
    if command == "run":
        return f"glassnet run: {preset} preset" + (f" on {data}" if data else "")
    return f"glassnet {command}: {data or preset}"


def _config(metrics: dict[str, Any]) -> str:
    config = metrics.get("config", {})
    train = dict(config.get("train", {}))
    train.update(metrics.get("best_params") or {})
    rows = [(key, value) for key, value in train.items()]
    rows += [(key, config[key]) for key in ("scaling", "split", "select") if key in config]
    rows += [(f"sweep over {key}", values) for key, values in config.get("sweep", {}).items()]
    cells = "".join(
        f"<div{' class=long' if len(key) + len(text) > LONG_SETTING else ''}>"
        f"<span>{_e(key)}</span><b>{_e(text)}</b></div>"
        for key, text in ((key, format_value(value)) for key, value in rows)
    )
    return _section(
        "config", "Configuration (of the final model)", f"<div class=settings>{cells}</div>"
    )


def _sweep(metrics: dict[str, Any], figures: dict[str, str]) -> str:
    records = metrics.get("sweep") or []
    if not records:
        return _section(
            "sweep",
            "Sweep",
            "<p class=muted>No sweep: this run trained one "
            "configuration (give a config file with a [sweep] table to run one).</p>",
        )
    keys = list(metrics.get("config", {}).get("sweep", {}))
    best = metrics.get("best_params") or {}
    columns = ["trial", *keys, "validation_accuracy", "validation_loss", "train_loss"]
    rows = [[r.get(c) for c in columns] for r in records]
    chosen = run_folder.chosen_rows(records, best, keys)
    body = _figures(figures, "sweep_plot", extra=_table(columns, rows, chosen))
    return _section("sweep", "Sweep", body)


def _per_class(evaluation: Any) -> str:
    if evaluation is None:
        return _section(
            "per-class",
            "Per-class metrics (test set)",
            "<p class=muted>No test predictions in this run folder.</p>",
        )
    rows = [
        [r["class"], f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}", r["support"]]
        for r in evaluation.per_class()
    ]
    return _section(
        "per-class",
        "Per-class metrics (test set)",
        f"<p>accuracy {evaluation.accuracy:.4f} on {len(evaluation.y_true)} test "
        "samples</p>" + _table(["class", "precision", "recall", "F1", "support"], rows),
    )


def _gallery(evaluation: Any, figures: dict[str, str], metrics: dict[str, Any]) -> str:
    if evaluation is not None and evaluation.accuracy == 1.0:
        return _section(
            "gallery",
            "Worst-misclassified test images",
            "<p>Every test image was classified correctly.</p>",
        )
    note = ""
    train = metrics.get("config", {}).get("train", {})
    squashed = train.get("output_activation") == "sigmoid"
    if squashed and train.get("loss", "cross_entropy") == "cross_entropy" and evaluation:
        n_classes = len(evaluation.classes)
        note = (
            f" This network applies softmax to sigmoid outputs (the seed recipe's quirk). "
            f"Each sigmoid lies in (0, 1), so no probability can exceed e / (e + "
            f"{n_classes - 1}) = {probability_cap(n_classes):.3f} with {n_classes} classes: "
            "a p near that is as sure as this model can be."
        )
    body = (
        "<p class=muted>The misclassified test images the model was most sure about; "
        f"each title gives the true and predicted class and the predicted probability.{note}"
        "</p>" + _figures(figures, "gallery_plot", wide=True)
    )
    return _section("gallery", "Worst-misclassified test images", body)


def probability_cap(n_classes: int) -> float:
    """The largest probability softmax can give over ``n_classes`` sigmoid outputs.

    Softmax is largest for one class when its input is highest (sigmoid -> 1) and every other
    input lowest (sigmoid -> 0): e**1 / (e**1 + (n_classes - 1) * e**0), approached, never
    reached."""
    return math.e / (math.e + n_classes - 1)


def _files(folder: Path) -> str:
    # metrics.json is written just after the report (it marks the run finished).
    names = {p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}
    names = sorted(names | {run_folder.METRICS})
    items = "".join(f"<li><code>{_e(n)}</code></li>" for n in names if n != REPORT)
    return _section("files", "Files in this run folder", f"<ul>{items}</ul>")
