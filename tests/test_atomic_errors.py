"""Issue 23: a write that fails (a full disk) names the file being written, and leaves no
temporary file behind."""

import errno

import numpy as np
import pytest

from glassnet.atomic import write_atomic
from glassnet.cli import main


def full_disk(handle):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_names_the_file_being_written(tmp_path):
    target = tmp_path / "model.npz"
    with pytest.raises(OSError, match="No space left on device") as caught:
        write_atomic(target, full_disk)
    assert caught.value.filename == str(target) and caught.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_the_cli_says_which_file_could_not_be_written(tmp_path, capsys, monkeypatch):
    path = tmp_path / "t.csv"
    rng = np.random.default_rng(0)
    path.write_text(
        "a,b,label\n" + "".join(f"{a},{b},{int(a > 0)}\n" for a, b in rng.normal(size=(40, 2)))
    )
    monkeypatch.setattr(np, "savez", lambda handle, **arrays: full_disk(handle))
    out = tmp_path / "run"
    args = ["train", "--data", str(path), "--target", "label", "--epochs", "2", "--quiet"]
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("glassnet: error: No space left on device: ") and str(out) in err
