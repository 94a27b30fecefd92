"""Screenshots of the built site, as a reader sees it: a desktop window (1280 px wide) and a
phone (390 px wide), taken with headless Chromium.

    mkdocs build --strict && python docs/screenshots/take.py [SITE_DIR]

writes docs/screenshots/home-desktop.png and docs/screenshots/tables-phone.png (the two kept
in the repository); `--all` also writes every main page at both widths into /tmp/glassnet-shots
for a look before a release. Needs a `chromium` (or `chromium-browser`, `google-chrome`) on PATH.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
KEPT = [("", "home", "desktop"), ("guide/tables", "tables", "phone")]
PAGES = [
    "",
    "start",
    "tutorial",
    "guide/seed-experiment",
    "guide/tables",
    "guide/config-and-sweeps",
    "guide/cnn",
    "guide/onnx",
    "guide/performance",
    "examples/l2_sweep",
    "reference",
    "reference/glassnet",
    "changelog",
]


def browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return name
    sys.exit("no chromium on PATH (apt-get install chromium)")


def shoot(site: Path, page: str, width: int, height: int, out: Path) -> None:
    url = (site / page / "index.html").resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={out}",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def main(argv: list[str]) -> None:
    site = Path(next((a for a in argv if not a.startswith("--")), "site"))
    if not (site / "index.html").exists():
        sys.exit(f"{site}/index.html not found: run mkdocs build first")
    for page, name, kind in KEPT:
        shoot(site, page, *WIDTHS[kind], HERE / f"{name}-{kind}.png")
    if "--all" in argv:
        folder = Path(tempfile.gettempdir()) / "glassnet-shots"
        folder.mkdir(exist_ok=True)
        for page in PAGES:
            for kind, size in WIDTHS.items():
                shoot(site, page, *size, folder / f"{page.replace('/', '_') or 'home'}-{kind}.png")
        print(f"wrote {folder}")


if __name__ == "__main__":
    main(sys.argv[1:])
