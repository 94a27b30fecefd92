"""What `glassnet run` pays for before its first training: the libraries it does not need at
start are not imported (each costs start-up time on every run, see docs/guide/performance.md)."""

import subprocess
import sys

NOT_AT_START = ("sklearn", "joblib", "matplotlib", "scipy", "pandas", "dask", "onnx")


def test_the_run_command_imports_no_heavy_library_at_start():
    code = (
        "import sys; import glassnet.cli.app, glassnet.experiments.experiment; "
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "glassnet" in loaded
    assert [name for name in NOT_AT_START if name in loaded] == []
