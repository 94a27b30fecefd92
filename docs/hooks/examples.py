"""The examples gallery: every docs/examples/*.py is run when the site is built.

Each script runs in a fresh Python process, in an empty temporary folder, with matplotlib's
Agg backend. Its page is generated: the script's docstring as the introduction, its code,
what it printed, and every PNG it wrote. A script that fails (or writes no figure and prints
nothing) fails the build, so an example cannot go stale unnoticed.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File
from nav import replace

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
PLACEHOLDER = "examples/"
TIMEOUT_S = 300


def scripts() -> list[Path]:
    return sorted(EXAMPLES.glob("*.py"))


def title_and_intro(script: Path) -> tuple[str, str]:
    doc = ast.get_docstring(ast.parse(script.read_text())) or script.stem
    title, _, intro = doc.partition("\n")
    return title.strip().rstrip("."), intro.strip()


def run(script: Path, folder: Path) -> str:
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1")
    source = ROOT / "src"
    if source.is_dir():
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    if done.returncode != 0:
        raise PluginError(f"docs/examples/{script.name} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def page(script: Path, output: str, figures: list[str]) -> str:
    title, intro = title_and_intro(script)
    code = script.read_text()
    # The page shows the code after its docstring: the docstring is the text above it.
    body = code[code.index('"""', code.index('"""') + 3) + 3 :].lstrip("\n")
    parts = [
        f"# {title}",
        "",
        intro,
        "",
        f"`docs/examples/{script.name}`, run when this site was built:",
        "",
        "```python",
        body.rstrip(),
        "```",
        "",
    ]
    if output.strip():
        parts += ["It printed:", "", "```text", output.rstrip(), "```", ""]
    for figure in figures:
        parts += [f"![{Path(figure).stem}]({figure})", ""]
    return "\n".join(parts)


def on_config(config):
    entries = [{title_and_intro(s)[0]: f"examples/{s.stem}.md"} for s in scripts()]
    replace(config["nav"], PLACEHOLDER, entries)
    return config


def on_files(files, config):
    for script in scripts():
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            output = run(script, folder)
            figures = []
            for png in sorted(folder.glob("*.png")):
                uri = f"examples/{script.stem}/{png.name}"
                files.append(File.generated(config, uri, content=png.read_bytes()))
                figures.append(f"{script.stem}/{png.name}")
        if not figures and not output.strip():
            raise PluginError(f"docs/examples/{script.name} printed nothing and drew nothing")
        files.append(
            File.generated(
                config, f"examples/{script.stem}.md", content=page(script, output, figures)
            )
        )
    return files
