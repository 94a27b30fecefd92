"""Write docs/your_own_table.ipynb (the cells below) and run it, keeping its outputs, so the
page in the repository and in the docs shows what the code gives. Rerun after changing a
cell or the API: `python tools/make_table_notebook.py` (tests/test_notebooks.py runs it too)."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "your_own_table.ipynb"

CELLS = [
    (
        "markdown",
        """# Your own table, from a DataFrame to a deployed model

This notebook takes a real table (the Palmer penguins, shipped by `pip install palmerpenguins`:
344 birds, numbers, categories and missing cells) through glassnet's workflow API: train, look
at the columns and the curves, save the run with its report, load it back and predict new
rows. The same steps are `glassnet train --data penguins.csv --target species` on the command
line; both go through the same code.""",
    ),
    (
        "code",
        """import shutil
from pathlib import Path

import pandas as pd
from palmerpenguins import load_penguins

import glassnet

frame = load_penguins()
frame.head()""",
    ),
    (
        "markdown",
        """Ten birds are kept aside as "new rows" to predict at the end; glassnet splits the rest
into training, validation and test rows itself (60/20/20, stratified by species).""",
    ),
    (
        "code",
        """new_rows = frame.sample(10, random_state=1)
known = frame.drop(new_rows.index)
run = glassnet.train(known, target="species", seed=0, progress=False)
run""",
    ),
    (
        "markdown",
        """Each column got a role from its contents: numbers are imputed with the training median
and standardised, text becomes one-hot categories, and nothing is dropped silently.""",
    ),
    ("code", """pd.DataFrame(run.columns)"""),
    (
        "code",
        """print(f"test accuracy {run.test_accuracy:.4f}, validation {run.validation_accuracy:.4f}")
print(f"{len(run.history.train_loss)} epochs, kept epoch {run.history.best_epoch}")""",
    ),
    (
        "markdown",
        """`save` writes the run folder that `glassnet train --out` writes: the model file (with its
preprocessing), metrics.json, the test predictions, the figures and a self-contained
report.html. `run.report()` writes the report and shows it in the notebook.""",
    ),
    (
        "code",
        """folder = Path("runs") / "penguins-notebook"
shutil.rmtree(folder, ignore_errors=True)  # a fresh folder each time the notebook runs
run.save(folder)
report = run.report()
sorted(path.name for path in folder.iterdir())""",
    ),
    (
        "markdown",
        """Loaded back, the run answers the same questions, and its model takes raw rows: the
preprocessing learned on the training rows is inside it.""",
    ),
    (
        "code",
        """loaded = glassnet.load_run(folder)
predicted = loaded.model.predict(new_rows.drop(columns="species"))
pd.DataFrame({"species": new_rows["species"], "predicted": predicted})""",
    ),
    (
        "markdown",
        """The same table answers another question: a numeric target makes a regression, read from
the column itself (many distinct numbers); its report shows R², RMSE and MAE instead.""",
    ),
    (
        "code",
        """mass = glassnet.train(known, target="body_mass_g", seed=0, progress=False)
print(mass.task, {name: round(value, 4) for name, value in mass.scores.items()})""",
    ),
]


def build() -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    for kind, text in CELLS:
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        notebook.cells.append(make(text))
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


def run(notebook: nbformat.NotebookNode, folder: Path, kernel: str = "python3") -> None:
    """Execute ``notebook`` in ``folder`` (where its runs/ folder is written)."""
    NotebookClient(
        notebook, timeout=300, kernel_name=kernel, resources={"metadata": {"path": str(folder)}}
    ).execute()


if __name__ == "__main__":
    import tempfile

    notebook = build()
    with tempfile.TemporaryDirectory() as scratch:
        run(notebook, Path(scratch))
    nbformat.write(notebook, NOTEBOOK)
    print(f"wrote {NOTEBOOK}")
