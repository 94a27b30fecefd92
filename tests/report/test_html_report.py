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
