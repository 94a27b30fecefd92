"""report.html: every section present, every embedded image decodes, nothing fetched from the
network; rendered headless by Chromium when it is installed."""

import base64
import io
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

from glassnet.cli.app import main
from glassnet.report.html import SECTIONS


class Page(HTMLParser):
    """Section ids, image sources and every linked URL of a page."""

    def __init__(self):
        super().__init__()
        self.sections, self.images, self.links, self.titles = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs.get("id"))
        if tag == "img":
            self.images.append(attrs["src"])
        self.links += [attrs[key] for key in ("src", "href") if key in attrs]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A small real run on image data with a sweep, so every section has content."""
    folder = tmp_path_factory.mktemp("digits")
    config = folder / "run.toml"
    config.write_text(
        'data = "digits"\n[train]\nhidden_layer_sizes = [16]\nepochs = 15\n'
        "[sweep]\nl2 = [0.01, 1.0]\n"
    )
    out = folder / "run"
    argv = ["train", "--config", str(config), "--jobs", "1", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    return out


def parse(path):
    page = Page()
    page.feed(path.read_text())
    return page


def decode(src):
    import matplotlib.image

    prefix = "data:image/png;base64,"
    assert src.startswith(prefix)
    return matplotlib.image.imread(io.BytesIO(base64.b64decode(src[len(prefix) :])), format="png")


def test_every_section_is_present_in_order(digits_run):
    assert parse(digits_run / "report.html").sections == list(SECTIONS)


def test_every_embedded_image_decodes_and_is_not_blank(digits_run):
    page = parse(digits_run / "report.html")
    # sweep, losses, accuracy, confusion matrix, gallery
    assert len(page.images) == 5
    for src in page.images:
        image = decode(src)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
        assert np.ptp(image[..., :3]) > 0.5  # something is drawn on the white background


def test_the_page_is_self_contained(digits_run):
    page = parse(digits_run / "report.html")
    assert all(link.startswith("data:") for link in page.links)
    text = (digits_run / "report.html").read_text()
    assert "http://" not in text and "https://" not in text


def test_the_page_shows_the_numbers_of_metrics_json(digits_run):
    import json

    metrics = json.loads((digits_run / "metrics.json").read_text())
    text = (digits_run / "report.html").read_text()
    assert f"{metrics['test_accuracy']:.4g}" in text
    assert "precision" in text and "hidden_layer_sizes" in text


def test_image_free_data_has_no_gallery_section(tmp_path):
    data = tmp_path / "t.csv"
    rng = np.random.default_rng(0)
    rows = ["a,b,y"] + [f"{x:.3f},{x + rng.normal():.3f},{int(x > 0)}" for x in rng.normal(size=60)]
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--data",
                str(data),
                "--target",
                "y",
                "--epochs",
                "10",
                "--hidden",
                "4",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    sections = parse(out / "report.html").sections
    assert "gallery" not in sections and sections == [s for s in SECTIONS if s != "gallery"]


def test_glassnet_run_writes_the_report_too(tmp_path, capsys):
    import json

    preset = tmp_path / "tiny.toml"
    preset.write_text("[train]\nhidden_layer_sizes = [8]\nepochs = 5\n[sweep]\nl2 = [0.1, 1.0]\n")
    out = tmp_path / "run"
    assert main(["run", "--preset", str(preset), "--jobs", "1", "--json", "--out", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["outputs"]["report"] == str(out / "report.html")
    assert result["best_params"]["l2"] in (0.1, 1.0)
    # The chosen l2 is the trial with the best validation accuracy (the first on ties).
    records = json.loads((out / "metrics.json").read_text())["sweep"]
    scores = [record["validation_accuracy"] for record in records]
    assert result["best_params"]["l2"] == records[scores.index(max(scores))]["l2"]
    assert parse(out / "report.html").sections == list(SECTIONS)


CHROMIUM = next(
    (
        shutil.which(name)
        for name in ("chromium", "chromium-browser", "google-chrome")
        if shutil.which(name)
    ),
    None,
)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_chromium_renders_the_report(digits_run, tmp_path):
    import matplotlib.image

    screenshot = tmp_path / "page.png"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={screenshot}",
        "--window-size=1100,1800",
        (digits_run / "report.html").as_uri(),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    image = matplotlib.image.imread(screenshot)
    assert image.shape[:2] == (1800, 1100)
    pixels = image[..., :3].reshape(-1, 3)
    assert np.ptp(pixels) > 0.5  # not one flat colour
    assert len(np.unique(np.round(pixels[::7] * 255), axis=0)) > 50  # text, plots, colours


def page_text(path):
    """The page's visible text, tags removed."""

    class Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts, self.hidden = [], 0

        def handle_starttag(self, tag, attrs):
            self.hidden += tag in ("style", "title")

        def handle_endtag(self, tag):
            self.hidden -= tag in ("style", "title")

        def handle_data(self, data):
            if not self.hidden:
                self.parts.append(data)

    text = Text()
    text.feed(path.read_text() if hasattr(path, "read_text") else path)
    return " ".join(" ".join(text.parts).split())


def test_the_title_names_the_command_and_the_data(digits_run, tmp_path):
    # digits_run is `glassnet train --config run.toml` on digits: not "glassnet run: run".
    text = page_text(digits_run / "report.html")
    assert text.startswith("glassnet train: digits ")
    preset = tmp_path / "tiny.toml"
    preset.write_text("[train]\nhidden_layer_sizes = [4]\nepochs = 2\n")
    out = tmp_path / "run"
    assert main(["run", "--preset", str(preset), "--jobs", "1", "--quiet", "--out", str(out)]) == 0
    assert page_text(out / "report.html").startswith("glassnet run: tiny preset on digits ")


def refit_metrics(selection_accuracy):
    return {
        "config": {"name": "best", "train": {}},
        "data": {"name": "digits"},
        "refit": "train+valid",
        "validation_accuracy": None,
        "selection_accuracy": selection_accuracy,
        "test_accuracy": 0.98,
    }


def test_a_refit_says_why_validation_accuracy_is_missing(tmp_path):
    from glassnet.report.html import render

    text = page_text(render(refit_metrics(None), None, {}, tmp_path))
    assert "validation accuracy n/a the final model was trained on train+valid: no unseen" in text
    text = page_text(render(refit_metrics(0.9712), None, {}, tmp_path))
    assert "validation accuracy 0.9712 the chosen setting's score in the sweep, before" in text


def test_the_probability_cap_of_softmax_over_sigmoids():
    from glassnet.report.html import probability_cap

    rng = np.random.default_rng(0)
    for n_classes in (2, 10, 30):
        logits = rng.normal(scale=30, size=(20000, n_classes))
        logits[0] = -60
        logits[0, 0] = 60  # as close to the extreme as float64 gets
        squashed = 1 / (1 + np.exp(-logits))
        proba = np.exp(squashed) / np.exp(squashed).sum(axis=1, keepdims=True)
        assert proba.max() <= probability_cap(n_classes) * (1 + 1e-12)  # rounding only
        assert proba[0, 0] == pytest.approx(probability_cap(n_classes), rel=1e-12)
    assert probability_cap(10) == pytest.approx(0.2320, abs=1e-4)


def gallery_text(tmp_path, output_activation):
    from glassnet.report.html import render

    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(10), size=50)
    predictions = {"classes": np.arange(10), "y_true": rng.integers(0, 10, 50), "proba": proba}
    metrics = {
        "config": {"name": "seed", "train": {"output_activation": output_activation}},
        "data": {"name": "digits", "image_shape": [8, 8]},
    }
    return page_text(render(metrics, predictions, {}, tmp_path))


def test_the_gallery_explains_the_seed_recipes_probability_cap(tmp_path):
    assert "no probability can exceed e / (e + 9) = 0.232 with 10 classes" in gallery_text(
        tmp_path, "sigmoid"
    )
    assert "no probability can exceed" not in gallery_text(tmp_path, "identity")


def test_the_confusion_matrix_is_shown_at_its_own_size(digits_run):
    text = (digits_run / "report.html").read_text()
    assert "<img class=natural alt='confusion plot'" in text


def chromium(tmp_path, *flags):
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        *flags,
    ]
    return subprocess.run(command, check=True, capture_output=True, timeout=120, text=True)


# Written into a copy of the page: every element whose content is wider than its box (and
# that does not scroll on purpose), and the page's own width.
OVERFLOW_PROBE = """<script>
const wide = [...document.querySelectorAll("body *")]
  .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== "auto")
  .map(e => e.tagName + "." + e.className);
document.body.dataset.probe = JSON.stringify({page: document.documentElement.scrollWidth,
                                              wide: wide});
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
@pytest.mark.parametrize("width", [700, 1100])
def test_nothing_overflows_a_narrow_window(digits_run, tmp_path, width):
    import html
    import json
    import re

    probe = tmp_path / "probe.html"
    page = (digits_run / "report.html").read_text()
    probe.write_text(page.replace("</body>", OVERFLOW_PROBE + "</body>"))
    dom = chromium(tmp_path, f"--window-size={width},1000", "--dump-dom", probe.as_uri()).stdout
    found = json.loads(html.unescape(re.search(r'data-probe="([^"]*)"', dom).group(1)))
    assert found == {"page": width, "wide": []}
