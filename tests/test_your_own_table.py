"""docs/your_own_table.ipynb, the workflow API's notebook: the committed file is what
tools/make_table_notebook.py writes (cells and all), it shows its results, and it runs from
top to bottom against the glassnet under test."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

from notebook_kernel import this_interpreter

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("palmerpenguins")


def maker():
    spec = importlib.util.spec_from_file_location("make", ROOT / "tools" / "make_table_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def outputs(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", output
            parts.append(output.get("text", "") + output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def check(notebook: nbformat.NotebookNode) -> None:
    """Its outputs: a trained classifier that tests well, the files of a run folder, the ten
    new rows predicted, and a regression on the same table."""
    text = outputs(notebook)
    accuracy = float(text.split("test accuracy ")[1].split(",")[0])
    assert accuracy > 0.9
    for name in ("report.html", "model.npz", "metrics.json", "predictions.npz"):
        assert name in text
    assert "predicted" in text and text.count("Gentoo") >= 2
    assert "regression {'validation_r2'" in text
    page = "".join(
        output.get("data", {}).get("text/html", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )
    assert "data:image/png;base64," in page  # the run's repr shows its curves


def test_the_committed_notebook_is_the_generated_one_with_its_outputs():
    committed = nbformat.read(ROOT / "docs" / "your_own_table.ipynb", as_version=4)
    built = maker().build()
    assert [c.source for c in committed.cells] == [c.source for c in built.cells]
    check(committed)


def test_the_notebook_runs(tmp_path, monkeypatch):
    make = maker()
    notebook = make.build()
    make.run(notebook, tmp_path, kernel=this_interpreter(tmp_path, monkeypatch))
    check(notebook)
    assert (tmp_path / "runs" / "penguins-notebook" / "report.html").is_file()


def test_progress_bars_draw_in_a_notebook(tmp_path, monkeypatch):
    """In Jupyter the bars are a live widget below the cell (rich, through ipywidgets), not
    text written into the cell's output stream."""
    pytest.importorskip("ipywidgets")
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            "import glassnet\n"
            "from sklearn.datasets import load_iris\n"
            "x, y = load_iris(return_X_y=True)\n"
            "run = glassnet.train(x, target=y, epochs=20, hidden_layer_sizes=[8])"
        )
    )
    kernel = this_interpreter(tmp_path, monkeypatch)
    NotebookClient(notebook, timeout=120, kernel_name=kernel).execute()
    shown = [output for output in notebook.cells[0].outputs]
    assert all(output.output_type != "error" for output in shown), shown
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in shown)
    assert not any(o.output_type == "stream" and "Traceback" in o.text for o in shown)
