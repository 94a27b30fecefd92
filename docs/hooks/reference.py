"""The API reference, generated: one page per glassnet module that declares ``__all__``.

Each page renders exactly the names in that module's ``__all__`` with mkdocstrings, so a name
added to ``__all__`` (of ``glassnet`` or of a public subpackage such as ``glassnet.data``) gets
its entry at the next build without editing any page, and a name removed loses it.
tests/test_docs_reference.py builds the site and checks that every name has one.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from mkdocs.structure.files import File
from nav import replace

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = "reference/"


def public_modules() -> dict[str, list[str]]:
    """``{module name: its __all__}`` for glassnet and each public module under it that has one."""
    source = ROOT / "src"
    if source.is_dir() and str(source) not in sys.path:
        sys.path.insert(0, str(source))  # document the tree being built, not another install
    package = importlib.import_module("glassnet")
    modules = {"glassnet": list(package.__all__)}
    for info in pkgutil.iter_modules(package.__path__, "glassnet."):
        if info.name.rsplit(".", 1)[1].startswith("_"):
            continue
        module = importlib.import_module(info.name)
        if hasattr(module, "__all__"):
            modules[info.name] = list(module.__all__)
    return modules


def page(name: str, names: list[str]) -> str:
    members = "\n".join(f"        - {member}" for member in names)
    return (
        f"# `{name}`\n\n"
        f"::: {name}\n"
        "    options:\n"
        "      show_root_heading: false\n"
        "      show_root_toc_entry: false\n"
        "      show_submodules: true\n"
        f"      members:\n{members}\n"
    )


def index(modules: dict[str, list[str]]) -> str:
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings: every name in the `__all__` of `glassnet` and of its",
        "public subpackages, with signatures and array shapes. Arrays are batch-first:",
        "`x` has shape `(n_samples, n_features)` unless a docstring says otherwise.",
        "",
    ]
    for name, names in modules.items():
        summary = (importlib.import_module(name).__doc__ or "").strip().split("\n\n")[0]
        listed = ", ".join(f"[`{member}`]({name}.md#{name}.{member})" for member in names)
        lines += [f"## [`{name}`]({name}.md)", "", summary, "", listed, ""]
    return "\n".join(lines)


def on_config(config):
    modules = public_modules()
    config["extra"]["reference_modules"] = modules
    entries = [{"Overview": "reference/index.md"}]
    entries += [{name: f"reference/{name}.md"} for name in modules]
    replace(config["nav"], PLACEHOLDER, entries)
    return config


def on_files(files, config):
    modules = config["extra"]["reference_modules"]
    files.append(File.generated(config, "reference/index.md", content=index(modules)))
    for name, names in modules.items():
        files.append(File.generated(config, f"reference/{name}.md", content=page(name, names)))
    return files
