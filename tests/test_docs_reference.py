"""The documentation site builds in strict mode, and its API reference has an entry for every
public name: everything in the ``__all__`` of ``glassnet`` and of each public module under it
that declares one (docs/hooks/reference.py generates the pages from ``__all__``, so a new name
needs no page edit; this test fails if one is missing). The examples run during the build
(docs/hooks/examples.py) and their pages carry their figures."""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import glassnet

pytest.importorskip("mkdocs", reason="the docs extra: pip install '.[docs]'")
pytest.importorskip("mkdocstrings")

ROOT = Path(__file__).resolve().parents[1]


def public_names() -> dict[str, list[str]]:
    modules = {"glassnet": list(glassnet.__all__)}
    for info in pkgutil.iter_modules(glassnet.__path__, "glassnet."):
        if not info.name.rsplit(".", 1)[1].startswith("_"):
            module = importlib.import_module(info.name)
            if hasattr(module, "__all__"):
                modules[info.name] = list(module.__all__)
    return modules


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", OPENBLAS_NUM_THREADS="1")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    return out


def test_every_public_name_has_a_reference_entry(site):
    modules = public_names()
    assert {"glassnet", "glassnet.data", "glassnet.export", "glassnet.sklearn"} <= set(modules)
    missing = []
    for module, names in modules.items():
        page = site / "reference" / module / "index.html"
        assert page.exists(), f"no reference page for {module}"
        anchors = set(re.findall(r'id="([\w.]+)"', page.read_text()))
        missing += [f"{module}.{name}" for name in names if f"{module}.{name}" not in anchors]
    assert not missing, f"no rendered entry for {missing}"


def test_reference_entries_show_signatures_and_docstrings(site):
    page = (site / "reference" / "glassnet" / "index.html").read_text()
    # fit's signature (its keyword-only epochs) and the first line of its docstring
    assert "epochs" in page and "Train" in page and "return its History" in page


def test_every_example_ran_and_shows_its_figures(site):
    scripts = sorted((ROOT / "docs" / "examples").glob("*.py"))
    assert scripts
    for script in scripts:
        page = site / "examples" / script.stem / "index.html"
        assert page.exists(), f"no page for docs/examples/{script.name}"
        figures = re.findall(r'<img [^>]*src="([^"]+\.png)"', page.read_text())
        assert figures, f"docs/examples/{script.name} shows no figure"
        for figure in figures:
            assert (page.parent / figure).exists(), figure
