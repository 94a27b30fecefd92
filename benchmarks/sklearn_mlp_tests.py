"""Run scikit-learn's own MLP test file against glassnet's drop-in and print passed/failed.

The file ships inside the installed scikit-learn (sklearn/neural_network/tests/test_mlp.py);
it is copied into a temporary folder with only its import line changed to
``from glassnet.sklearn import MLPClassifier, MLPRegressor`` and run with pytest.

    python benchmarks/sklearn_mlp_tests.py [-v]
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import sklearn

ORIGINAL = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
SWAPPED = "from glassnet.sklearn import MLPClassifier, MLPRegressor"


def main() -> int:
    source = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
    text = source.read_text()
    if text.count(ORIGINAL) != 1:
        print(f"cannot find the import line {ORIGINAL!r} in {source}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "test_mlp_glassnet.py"
        target.write_text(text.replace(ORIGINAL, SWAPPED))
        # scikit-learn's conftest parametrizes the global_random_seed fixture the file uses.
        (Path(folder) / "conftest.py").write_text(
            "from sklearn.conftest import pytest_generate_tests  # noqa: F401\n"
        )
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(target),
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "--rootdir",
            folder,
            *sys.argv[1:],
        ]
        run = subprocess.run(command, capture_output=True, text=True, cwd=folder)
    output = run.stdout + run.stderr
    print(output[-6000:])
    passed = sum(int(n) for n in re.findall(r"(\d+) passed", output))
    failed = sum(int(n) for n in re.findall(r"(\d+) failed", output))
    errors = sum(int(n) for n in re.findall(r"(\d+) errors?\b", output))
    print(
        f"scikit-learn {sklearn.__version__} test_mlp.py against glassnet: "
        f"passed {passed}, failed {failed + errors}, of {passed + failed + errors}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
