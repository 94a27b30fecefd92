"""Docs cannot rot: every code block of README.md and of the site's pages (docs/**/*.md) runs
as written, in a fresh folder per page, or says why not.

A page is read as a reader would follow it, top to bottom, in one folder:

- ```python blocks run in one namespace per page (a later block may use an earlier one's names);
- ```bash blocks run line by line: a `glassnet ...` command through the CLI in this process
  (exit status 0 expected), a `pip install ...` only has the extras it names checked against
  pyproject.toml; any other command fails the test unless the block is marked;
- a ```toml block whose first line is a comment naming a file (`# penguins.toml ...`) is
  written to that file, so the commands after it find it;
- ```text and ```console blocks are output, and never run;
- `<!-- skip: REASON -->` on the line before a block skips it; the reason is required.

The data a page uses is made by the page itself (palmerpenguins ships the penguins table;
scikit-learn the digits), so what runs here is what a reader can run.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
# Pages waiting to be merged into others are not built (mkdocs.yml: exclude_docs).
PAGES = [README] + sorted(p for p in DOCS.rglob("*.md") if "_moved" not in p.parts)
BLOCK = re.compile(
    r"(?:<!--\s*skip:(?P<reason>[^>]*?)-->[ \t]*\n)?"  # an optional skip mark on the line before
    r"^```(?P<lang>[^\n`]*)\n(?P<code>.*?)^```[ \t]*$",
    re.S | re.M,
)
RUN, OUTPUT, FILES = {"python", "bash"}, {"text", "console"}, {"toml"}


def blocks(text: str) -> list[tuple[str, str, str | None]]:
    """(language, code, skip reason or None) of each fenced block, in order."""
    return [(m["lang"].strip(), m["code"], m["reason"]) for m in BLOCK.finditer(text)]


def commands(code: str) -> list[list[str]]:
    """The argument lists of a bash block: continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", code)
    return [argv for line in joined.splitlines() if (argv := shlex.split(line, comments=True))]


def extras() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["optional-dependencies"])


def check_pip(argv: list[str]) -> None:
    assert argv[:2] == ["pip", "install"], f"only `pip install` may run here: {argv}"
    for target in argv[2:]:
        if "[" in target:
            named = set(target[target.index("[") + 1 : target.index("]")].split(","))
            assert named <= extras(), f"{target}: no such extra in pyproject.toml"


def run_bash(code: str) -> None:
    from glassnet.cli.app import main

    for argv in commands(code):
        if "&&" in argv:
            raise AssertionError(f"mark this block <!-- skip: why -->: {shlex.join(argv)}")
        if argv[0] == "pip":
            check_pip(argv)
            continue
        assert argv[0] == "glassnet", (
            f"`{shlex.join(argv)}` is not a glassnet command: mark its block <!-- skip: why -->"
        )
        assert main(argv[1:]) == 0, shlex.join(argv)


def write_toml(code: str) -> None:
    first = code.splitlines()[0]
    match = re.match(r"#\s*([\w.-]+\.toml)\b", first)
    if match:
        Path(match.group(1)).write_text(code)


def test_blocks_are_found_marked_and_split_as_described():
    text = (
        "<!-- skip: slow -->\n```bash\nglassnet run --preset cnn\n```\n"
        "```python\nx = 1\n```\n```text\n$ out\n```\n"
        "```bash\nglassnet train --data a.csv \\\n   --target y  # a comment\n```\n"
    )
    found = blocks(text)
    assert [(lang, reason) for lang, _, reason in found] == [
        ("bash", " slow "),
        ("python", None),
        ("text", None),
        ("bash", None),
    ]
    assert commands(found[3][1]) == [["glassnet", "train", "--data", "a.csv", "--target", "y"]]
    with pytest.raises(AssertionError, match="not a glassnet command"):
        run_bash("mkdocs serve\n")
    with pytest.raises(AssertionError, match="no such extra"):
        check_pip(["pip", "install", ".[nonsense]"])


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_block_runs_or_is_marked(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # One BLAS thread, as glassnet picks for small products itself: the pages' networks are
    # small, and two threads on a shared 2-core machine make them many times slower.
    with threadpool_limits(1):
        run_page(page)


def run_page(page: Path) -> None:
    namespace: dict = {"__name__": "__docs__"}
    for lang, code, reason in blocks(page.read_text()):
        if reason is not None:
            assert reason.strip(), f"{page.name}: a skipped block must say why"
            continue
        assert lang in RUN | OUTPUT | FILES, (
            f"{page.name}: a ```{lang or '(no language)'} block: use python, bash, toml, "
            "text or console"
        )
        if lang == "python":
            exec(compile(code, f"{page.name}:python block", "exec"), namespace)
        elif lang == "bash":
            run_bash(code)
        elif lang == "toml":
            write_toml(code)


def nav_pages(nav) -> set[str]:
    found = set()
    for item in nav:
        values = item.values() if isinstance(item, dict) else [item]
        for value in values:
            found |= nav_pages(value) if isinstance(value, list) else {value}
    return found


def test_every_page_is_in_the_site_navigation():
    yaml = pytest.importorskip("yaml")

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    listed = nav_pages(config["nav"])
    pages = {str(p.relative_to(DOCS)) for p in PAGES if p != README}
    assert pages <= listed, f"add to mkdocs.yml's nav: {sorted(pages - listed)}"


def test_readme_starts_with_the_two_commands():
    """The first block installs and runs the seed experiment, the second line installs the
    test extras and runs the tests: .ci/run and the README's readers rely on both."""
    lang, code, _ = blocks(README.read_text())[0]
    assert lang == "bash"
    assert code.splitlines() == ["pip install . && glassnet run", 'pip install ".[test]" && pytest']


def test_readme_links_point_at_files_that_exist():
    text = README.read_text()
    links = re.findall(r"\]\((?!https?://|#)([^)#\s]+)", text)
    assert links
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, missing


def test_the_tutorial_says_where_it_comes_from():
    """The notebook and the seed-experiment page describe the original and its published
    result, and say plainly that its exact source is not recorded (no invented citation)."""
    import json

    notebook = json.loads((DOCS / "tutorial.ipynb").read_text())
    first = "".join(notebook["cells"][0]["source"])
    page = (DOCS / "guide" / "seed-experiment.md").read_text()
    for text in (first, page):
        assert "0.599" in text and "0.9647" in text and "0.9596" in text
        assert "not recorded" in text
