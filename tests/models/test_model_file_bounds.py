"""Issue 23: model files are read within bounds (the zip directory is checked before anything
is inflated), header fields of the wrong type are refused by name, a path that is no regular
file never blocks, and a content digest detects deliberate edits that keep the CRCs valid."""

import io
import json
import os
import threading
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

from glassnet import Model, ModelFileError, mlp
from glassnet.cli import main
from glassnet.models import checkpoint

X = np.random.default_rng(7).standard_normal((6, 4))


def saved_model(tmp_path, name="model.npz"):
    net = mlp([4, 5, 3], activation_name="tanh", rng=np.random.default_rng(3))
    model = Model([net], classes=np.array([1, 2, 5]), info={"target": "y"})
    return model, checkpoint.save(model, tmp_path / name)


def members(path):
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write_members(path, contents, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def header_of(path):
    return json.loads(np.load(io.BytesIO(members(path)["__glassnet__.npy"])).tobytes())


def with_header(path, header):
    contents = members(path)
    raw = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    contents["__glassnet__.npy"] = npy_bytes(raw)
    write_members(path, contents)


def test_a_zip_bomb_is_refused_in_milliseconds_without_inflating(tmp_path):
    """A deflated member of 256 MiB of zeros behind a valid header (a few hundred KiB on
    disk): refused from the zip directory alone, allocating next to nothing."""
    _, path = saved_model(tmp_path)
    contents = members(path)
    weight = np.lib.format.header_data_from_array_1_0(np.zeros((4, 5)))
    weight["shape"] = (1 << 15, 1 << 10)
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, weight)
    contents["net0.0.weight.npy"] = buffer.getvalue() + bytes(1 << 28)
    bomb = tmp_path / "bomb.npz"
    write_members(bomb, contents, compression=zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 2 << 20
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ModelFileError, match="'net0.0.weight' is compressed"):
        checkpoint.load(bomb)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert seconds < 0.5 and peak < 1 << 20


def test_members_declaring_more_than_the_file_holds_are_refused(tmp_path):
    """Stored members whose declared sizes add up past the file (overlapping members, or
    edited sizes) are refused before any is read."""
    _, path = saved_model(tmp_path)
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")
    for offset in (20, 24):  # compressed and uncompressed size of the first entry
        data[entry + offset : entry + offset + 4] = (50 << 20).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="declare .* bytes but the file holds"):
        checkpoint.load(path)


def test_too_many_members_are_refused(tmp_path):
    path = tmp_path / "many.npz"
    write_members(path, {f"a{i}.npy": b"" for i in range(checkpoint.MAX_MEMBERS + 1)})
    with pytest.raises(ModelFileError, match="members; refusing"):
        checkpoint.load(path)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("info.target", ["y", "z"]),
        ("info.target", 3),
        ("info.feature_names", "abc"),
        ("info.feature_names", [1, 2]),
        ("info.image_shape", "8x8"),
        ("info.image_shape", [8, -8]),
        ("info.channels", "1"),
        ("info.data", {"a": 1}),
        ("info.train_config", [1]),
        ("scaler", 3),
        ("target_scaler", "yes"),
        ("table", [1]),
    ],
)
def test_header_fields_of_the_wrong_type_are_refused_by_name(field, value, tmp_path):
    _, path = saved_model(tmp_path)
    header = header_of(path)
    if field.startswith("info."):
        header["info"][field.removeprefix("info.")] = value
    else:
        header[field] = value
    with_header(path, header)
    with pytest.raises(ModelFileError, match=f"the header's {field} is"):
        checkpoint.load(path)


def test_a_list_target_is_refused_by_predict_with_one_line(tmp_path, capsys):
    _, path = saved_model(tmp_path)
    header = header_of(path)
    header["info"]["target"] = ["y"]
    with_header(path, header)
    table = tmp_path / "rows.csv"
    table.write_text("a,b,c,d\n1,2,3,4\n")
    assert main(["predict", str(path), "--data", str(table)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "info.target" in err


@pytest.mark.parametrize("kind", ["fifo", "folder", "device"])
def test_a_path_that_is_no_regular_file_is_refused_without_blocking(kind, tmp_path):
    path = {"fifo": tmp_path / "pipe.npz", "folder": tmp_path, "device": "/dev/zero"}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    outcome = []
    worker = threading.Thread(
        target=lambda: outcome.append(pytest.raises(ModelFileError, checkpoint.load, path)),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=5)
    assert outcome, "loading blocked"
    assert "not a regular file" in str(outcome[0].value)


def test_the_digest_is_the_contents_not_the_zip_layout(tmp_path):
    model, path = saved_model(tmp_path)
    found = checkpoint.digest(path)
    assert len(found) == 64 and found == checkpoint.model_digest(model)
    # The same arrays in another member order: the same content, the same digest.
    contents = members(path)
    write_members(tmp_path / "reordered.npz", dict(reversed(list(contents.items()))))
    assert checkpoint.digest(tmp_path / "reordered.npz") == found
    # Loaded and saved again: the same model, the same digest.
    again = checkpoint.save(checkpoint.load(path), tmp_path / "again.npz")
    assert checkpoint.digest(again) == found


def test_an_edit_with_valid_crcs_loads_but_changes_the_digest(tmp_path):
    """What a CRC cannot catch (the issue's tampered file): a weight changed and the zip
    written anew loads, predicts differently, and fails expect_digest."""
    model, path = saved_model(tmp_path)
    trusted = checkpoint.digest(path)
    contents = members(path)
    weight = model.network.state_dict()["0.weight"].copy()
    weight[0, 0] += 1.0
    contents["net0.0.weight.npy"] = npy_bytes(weight)
    write_members(path, contents)
    edited = checkpoint.load(path)
    assert not np.array_equal(edited.predict_proba(X), model.predict_proba(X))
    refusal = f"content digest is [0-9a-f]{{64}}, not the expected {trusted}"
    with pytest.raises(ModelFileError, match=refusal):
        checkpoint.load(path, expect_digest=trusted)
    assert checkpoint.load_with_digest(path)[1] != trusted


def test_expect_digest_accepts_the_digest_as_printed_and_refuses_nonsense(tmp_path):
    model, path = saved_model(tmp_path)
    trusted = checkpoint.digest(path)
    loaded = checkpoint.load(path, expect_digest=f"sha256:{trusted.upper()}")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    with pytest.raises(ModelFileError, match="not 64 hex digits"):
        checkpoint.load(path, expect_digest="abc")


def test_summary_prints_the_digest_and_predict_requires_it(tmp_path, capsys):
    _, path = saved_model(tmp_path)
    table = tmp_path / "rows.csv"
    table.write_text("a,b,c,d\n1,2,3,4\n")
    assert main(["summary", str(path), "--json"]) == 0
    trusted = json.loads(capsys.readouterr().out)["digest"]
    assert trusted == checkpoint.digest(path)
    assert main(["summary", str(path)]) == 0
    assert trusted in capsys.readouterr().out.replace("\n", "").replace(" ", "").replace("│", "")
    for command in ("predict", "evaluate"):
        wrong = "0" * 64
        args = [command, str(path), "--data", str(table), "--expect-digest", wrong]
        assert main(args + (["--target", "d"] if command == "evaluate" else [])) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"not the expected {wrong}" in err
    assert main(["predict", str(path), "--data", str(table), "--expect-digest", trusted]) == 0


@pytest.mark.parametrize("replacement", [b"#", b"(", b"\\", b"\n"])
def test_an_npy_header_edited_into_bad_python_is_refused(replacement, tmp_path):
    """Found by tests/fuzz: one byte of a .npy header's dict changed to "#" made NumPy's
    header parser raise tokenize.TokenError, a traceback instead of a ModelFileError. (The
    member must be larger than zipfile's first read, 4 KiB, or its CRC is checked first.)"""
    net = mlp([4, 200, 3], activation_name="tanh", rng=np.random.default_rng(3))
    path = checkpoint.save(Model([net], classes=np.array([1, 2, 5])), tmp_path / "model.npz")
    data = bytearray(path.read_bytes())
    at = data.index(b"'descr'") + len(b"'descr'")  # the colon after the key
    data[at : at + 1] = replacement
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        checkpoint.load(path)
