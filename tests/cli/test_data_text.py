"""Issue 23 item 4: text from data (column names, labels, cells) never reaches the terminal
or a figure raw: escape sequences are shown escaped, rich markup prints literally, and
labels with ``$`` draw as they are."""

import json

import numpy as np
import pytest

from glassnet.cli import main
from glassnet.cli.app import one_line
from glassnet.text import for_console, for_figure, plain

ESC_TITLE = "\x1b]0;owned\x07\x1b[2J"


def test_plain_shows_control_characters_as_escapes():
    assert plain(f"a{ESC_TITLE}b") == "a\\e]0;owned\\x07\\e[2Jb"
    assert plain("tab\there\nnext\x00\x9b\u2028") == "tab\\there\\nnext\\x00\\x9b\\x2028"
    assert plain("Zoë, 日本, flow [/min]") == "Zoë, 日本, flow [/min]"


def test_for_console_prints_markup_literally():
    from rich.console import Console

    console = Console(record=True, width=200, color_system=None)
    for text in ("flow [/min]", "[bold]x[/bold]", "[red", "a\\", "price [$]"):
        console.print(for_console(text))
    assert console.export_text().splitlines() == [
        "flow [/min]",
        "[bold]x[/bold]",
        "[red",
        "a\\",
        "price [$]",
    ]


@pytest.mark.parametrize("label", ["$5", "a$b$c", "$\\frac{1}{0}$", "C:\\path", "$x^2$"])
def test_for_figure_labels_draw_as_written(label, tmp_path):
    from glassnet.report.figures import pyplot

    plt = pyplot()
    fig, ax = plt.subplots()
    ax.set_xticks([0], [for_figure(label)])
    fig.savefig(tmp_path / "f.png")  # mathtext would raise on "$\frac{1}{0}$"-like input
    text = ax.get_xticklabels()[0]
    assert text._preprocess_math(text.get_text()) == (label, False)
    plt.close(fig)


def test_one_line_escapes_what_a_terminal_would_act_on():
    assert one_line(f"column {ESC_TITLE!s} is bad\n  wrapped") == (
        "column \\e]0;owned\\x07\\e[2J is bad wrapped"
    )


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """A table whose header holds an escape sequence and markup and whose labels hold $."""
    folder = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 2))
    labels = np.array(["$5", "a$^$c", "[bold]x"])[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)]
    rows = [f"{a:.3f},{b:.3f},{c}" for (a, b), c in zip(x, labels, strict=True)]
    path = folder / "t.csv"
    path.write_text(f"flow [/min],w{ESC_TITLE},label\n" + "\n".join(rows) + "\n")
    return folder, path


def test_train_on_a_hostile_table_escapes_everything_and_writes_the_whole_run(hostile_run, capsys):
    folder, path = hostile_run
    out = folder / "run"
    args = ["train", "--data", str(path), "--target", "label", "--epochs", "5"]
    assert main([*args, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err
    assert "flow [/min]" in captured.out and "w\\e]0;owned\\x07\\e[2J" in captured.out
    for name in ("model.npz", "metrics.json", "report.html", "confusion.png"):
        assert (out / name).is_file(), name
    assert main(["evaluate", str(out / "model.npz"), "--data", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "[bold]x" in shown and "$5" in shown and "a$^$c" in shown
    assert main(["summary", str(out / "model.npz")]) == 0
    shown = capsys.readouterr().out
    assert "flow [/min]" in shown and "\x1b" not in shown


def test_warnings_and_errors_naming_hostile_columns_are_escaped(hostile_run, capsys):
    folder, path = hostile_run
    assert main(["train", "--data", str(path), "--target", f"w{ESC_TITLE}x", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "\\e]0;owned" in err
    json.dumps(err)
