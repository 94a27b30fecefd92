"""Nothing lost on a crash: every file glassnet writes goes through ``write_atomic``."""

import re
from pathlib import Path

import pytest

import glassnet
from glassnet.atomic import write_atomic

SOURCE = Path(glassnet.__file__).parent
# Ways to write a file in place; allowed only inside a write_atomic callback (``lambda handle``).
RAW_WRITES = re.compile(
    r"\.write_text\(|\.write_bytes\(|\bopen\([^)]*['\"][wax]b?\+?['\"]|\.open\(\s*['\"][wax]"
    r"|np\.save(z|z_compressed|txt)?\(|\.savefig\(|\.to_csv\(|\.to_html\(|json\.dump\("
)


def raw_writes():
    for path in sorted(SOURCE.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if RAW_WRITES.search(line) and "lambda handle" not in line:
                yield f"{path.relative_to(SOURCE)}:{number}: {line.strip()}"


def test_every_writer_in_the_package_is_atomic():
    assert list(raw_writes()) == [], "write these through glassnet.atomic.write_atomic"


def test_the_check_would_catch_a_raw_write(tmp_path, monkeypatch):
    (tmp_path / "bad.py").write_text(
        'Path("x.json").write_text(text)\n'
        'self.handle = open(self.path, "w", encoding="utf-8")\n'
        'write_atomic(path, lambda handle: handle.write(text), mode="w")\n'
    )
    monkeypatch.setattr(f"{__name__}.SOURCE", tmp_path)
    assert len(list(raw_writes())) == 2


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("old")

    def half_then_crash(handle):
        handle.write("new, but only ha")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, half_then_crash, mode="w")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_keyboard_interrupt_mid_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"old")

    def interrupted(handle):
        handle.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, interrupted)
    assert path.read_bytes() == b"old" and len(list(tmp_path.iterdir())) == 1


def test_written_files_get_the_usual_permissions(tmp_path):
    import os
    import stat

    from glassnet.atomic import write_atomic

    path = tmp_path / "report.html"
    write_atomic(path, lambda handle: handle.write("<html></html>"), mode="w")
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_the_data_reach_the_disk_before_the_rename(tmp_path, monkeypatch):
    # A power cut after the rename but before the data are written back would leave an
    # empty file under the final name: the temporary file must be fsynced, full, first.
    import os
    import stat

    import glassnet.atomic

    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        mode, size = os.fstat(fd).st_mode, os.fstat(fd).st_size
        events.append(("fsync file", size) if stat.S_ISREG(mode) else ("fsync folder", None))
        real_fsync(fd)

    def replace(source, target):
        events.append(("rename", None))
        real_replace(source, target)

    monkeypatch.setattr(glassnet.atomic.os, "fsync", fsync)
    monkeypatch.setattr(glassnet.atomic.os, "replace", replace)
    write_atomic(tmp_path / "model.npz", lambda handle: handle.write(b"x" * 1000))
    assert events[:2] == [("fsync file", 1000), ("rename", None)]
    assert (tmp_path / "model.npz").read_bytes() == b"x" * 1000
