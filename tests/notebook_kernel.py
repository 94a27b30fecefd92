"""A Jupyter kernel that runs this very interpreter, for the notebook tests: a kernelspec
written into a temporary JUPYTER_PATH, which Jupyter searches first, so a notebook imports
the glassnet under test whatever other kernels the machine has."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

KERNEL = "glassnet-notebook-test"


def this_interpreter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Install the kernelspec under ``tmp_path``; returns its name."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    # Keep the kernel's connection files and IPython's history out of the home folder.
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    return KERNEL
