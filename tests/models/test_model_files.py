"""Model files are safe: loading never runs code, and a damaged or tampered file is refused
with a ModelFileError or loads to exactly the model that was saved, never anything else."""

import io
import json
import re
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glassnet import Model, ModelFileError, mlp
from glassnet.data import Scaler
from glassnet.models import checkpoint

X = np.random.default_rng(7).standard_normal((6, 4))


def saved_model(tmp_path, dtype="float64"):
    rng = np.random.default_rng(3)
    net = mlp([4, 5, 3], activation_name="tanh", rng=rng, dtype=np.dtype(dtype))
    scaler = Scaler.fit("standard", rng.standard_normal((10, 4)))
    model = Model([net], classes=np.array([1, 2, 5]), scaler=scaler, info={"k": 1})
    return model, checkpoint.save(model, tmp_path / "model.npz")


def members(path):
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write_members(path, contents):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def header_of(path):
    return json.loads(np.load(io.BytesIO(members(path)["__glassnet__.npy"])).tobytes())


def with_header(path, header):
    contents = members(path)
    raw = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    contents["__glassnet__.npy"] = npy_bytes(raw)
    write_members(path, contents)


def test_huge_declared_array_is_refused_before_allocating(tmp_path):
    _, path = saved_model(tmp_path)
    contents = members(path)
    real = contents["net0.0.weight.npy"]
    # Claim a 10^12 x 10^12 array in the .npy header while keeping the real (small) data.
    header_end = real.index(b"\n") + 1
    fake = np.lib.format.header_data_from_array_1_0(np.zeros((2, 2)))
    fake["shape"] = (10**12, 10**12)
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, fake)
    contents["net0.0.weight.npy"] = buffer.getvalue() + real[header_end:]
    write_members(path, contents)
    with pytest.raises(ModelFileError, match="larger than its data"):
        checkpoint.load(path)


def test_huge_declared_layer_is_refused_before_building(tmp_path):
    _, path = saved_model(tmp_path)
    header = header_of(path)
    header["networks"][0]["layers"][0].update(in_features=10**9, out_features=10**9)
    with_header(path, header)
    with pytest.raises(ModelFileError, match="declared"):
        checkpoint.load(path)


HEADER_EDITS = {
    "layers that do not chain": (
        lambda h: h["networks"][0]["layers"].insert(
            2, {"type": "Linear", "in_features": 9, "out_features": 5}
        ),
        "declared|takes",
    ),
    "no layers": (lambda h: h["networks"][0].update(layers=[]), "description lists no layers$"),
    "a network that is not a mapping": (
        lambda h: h.update(networks=["net"]),
        "description lists no layers$",
    ),
    "first layer not Linear": (
        lambda h: h["networks"][0]["layers"].insert(0, {"type": "Tanh"}),
        r"a network must start with a Linear layer \(or a Reshape to images, or a "
        r"PeriodicEmbedding of numeric columns\)$",
    ),
    "unsupported dtype": (lambda h: h.update(dtype="float16"), "unsupported dtype 'float16'$"),
    "unknown layer type": (
        lambda h: h["networks"][0]["layers"].append({"type": "Exec"}),
        "unknown layer type",
    ),
    "NaN slope": (
        lambda h: h["networks"][0]["layers"].append(
            {"type": "LeakyReLU", "negative_slope": float("nan")}
        ),
        "finite",
    ),
    "missing key": (lambda h: h.pop("networks"), "lacks"),
    "wrong dtype": (lambda h: h.update(dtype="float32"), "header says float32"),
    "unknown task": (lambda h: h.update(task="ranking"), "unknown task"),
    "too few classes": (lambda h: h.update(classes=[1, 2]), "class labels"),
    "repeated classes": (lambda h: h.update(classes=[1, 1, 2]), "repeat"),
    "nested classes": (lambda h: h.update(classes=[[1], [2], [3]]), "class labels"),
    "unknown scaler": (lambda h: h.update(scaler="log"), "scaler"),
    "info not a mapping": (lambda h: h.update(info=[1, 2]), "info"),
    "newer format": (lambda h: h.update(format_version=99), "format version"),
    "networks not a list": (lambda h: h.update(networks="net"), "the header lists no networks$"),
    "no network at all": (lambda h: h.update(networks=[]), "the header lists no networks$"),
}


@pytest.mark.parametrize("case", sorted(HEADER_EDITS))
def test_tampered_header_is_refused(case, tmp_path):
    edit, words = HEADER_EDITS[case]
    _, path = saved_model(tmp_path)
    header = header_of(path)
    edit(header)
    with_header(path, header)
    with pytest.raises(ModelFileError, match=words):
        checkpoint.load(path)


ARRAY_EDITS = {
    "object array": (np.array([print, 1], dtype=object), "pickle"),
    "string array": (np.array(["a", "b", "c"]), "plain numbers"),
    "complex array": (np.zeros(3, dtype=complex), "plain numbers"),
    "big-endian floats": (np.zeros(3, dtype=">f8"), "plain numbers"),
    "NaN bias": (np.array([np.nan, 0.0, 0.0]), "NaN"),
}


@pytest.mark.parametrize("case", sorted(ARRAY_EDITS))
def test_tampered_arrays_are_refused(case, tmp_path):
    array, words = ARRAY_EDITS[case]
    _, path = saved_model(tmp_path)
    contents = members(path)
    contents["net0.2.bias.npy"] = npy_bytes(array)
    write_members(path, contents)
    with pytest.raises(ModelFileError, match=words):
        checkpoint.load(path)


def test_extra_or_repeated_members_are_refused(tmp_path):
    _, path = saved_model(tmp_path)
    contents = members(path)
    write_members(path, {**contents, "run.py": b"print('hi')"})
    with pytest.raises(ModelFileError, match="unexpected"):
        checkpoint.load(path)
    with zipfile.ZipFile(path, "w") as archive, pytest.warns(UserWarning, match="Duplicate"):
        for name, data in contents.items():
            archive.writestr(name, data)
        archive.writestr("net0.0.bias.npy", contents["net0.0.bias.npy"])
    with pytest.raises(ModelFileError, match="repeated"):
        checkpoint.load(path)


def test_compressed_members_are_refused_before_inflating(tmp_path):
    """glassnet writes stored members; inflating is how a zip bomb grows (issue 23)."""
    model, path = saved_model(tmp_path)
    contents = members(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match="is compressed; glassnet stores arrays"):
        checkpoint.load(path)


def assert_identical(loaded, model):
    assert loaded.task == model.task and loaded.info == model.info
    np.testing.assert_array_equal(loaded.classes, model.classes)
    np.testing.assert_array_equal(loaded.scaler.offset, model.scaler.offset)
    np.testing.assert_array_equal(loaded.scaler.scale, model.scaler.scale)
    for a, b in zip(loaded.networks, model.networks, strict=True):
        assert a.config() == b.config()
        for key, value in b.state_dict().items():
            assert a.state_dict()[key].dtype == value.dtype
            np.testing.assert_array_equal(a.state_dict()[key], value)


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    model, path = saved_model(tmp_path_factory.mktemp("model"), dtype="float32")
    return model, path.read_bytes()


FIXTURES_OK = [HealthCheck.function_scoped_fixture]  # tmp_path is reused, each file rewritten


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURES_OK)
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=4
    ),
    cut=st.one_of(st.none(), st.integers(min_value=0)),
)
def test_random_edits_are_refused_or_load_the_identical_model(edits, cut, original, tmp_path):
    model, data = original
    data = bytearray(data)
    for position, value in edits:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % len(data)]
    path = tmp_path / "edited.npz"
    path.write_bytes(bytes(data))
    try:
        loaded = checkpoint.load(path)
    except ModelFileError:
        return
    assert_identical(loaded, model)


@settings(max_examples=100, deadline=None, suppress_health_check=FIXTURES_OK)
@given(content=st.binary(max_size=2000))
def test_random_bytes_are_refused(content, tmp_path):
    path = tmp_path / "random.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError):
        checkpoint.load(path)


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES_OK)
@given(
    content=st.binary(min_size=1, max_size=300),
    name=st.sampled_from(["net0.0.weight", "__glassnet__"]),
)
def test_random_member_contents_are_refused(content, name, original, tmp_path):
    _, data = original
    path = tmp_path / "member.npz"
    path.write_bytes(data)
    contents = members(path)
    contents[f"{name}.npy"] = content
    write_members(path, contents)
    with pytest.raises(ModelFileError):
        checkpoint.load(path)


def test_a_valid_zip_of_a_struct_bomb_is_refused(tmp_path):
    """A .npy header that claims a gigantic shape via a version-2 header."""
    path = tmp_path / "bomb.npz"
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"
    header += b" " * (-(len(header) + 13) % 64) + b"\n"
    npy = b"\x93NUMPY\x02\x00" + struct.pack("<I", len(header)) + header + b"\0" * 16
    write_members(path, {"__glassnet__.npy": npy})
    with pytest.raises(ModelFileError, match="larger than its data"):
        checkpoint.load(path)


def saved_ensemble(tmp_path):
    rng = np.random.default_rng(4)
    nets = [mlp([4, 5, 3], activation_name="tanh", rng=rng) for _ in range(2)]
    model = Model(nets, classes=np.array([1, 2, 5]))
    return model, checkpoint.save(model, tmp_path / "ensemble.npz")


def replace_arrays(path, header, **arrays):
    """Rewrite ``path`` with ``header`` and the given arrays replaced (None removes one)."""
    contents = members(path)
    contents["__glassnet__.npy"] = npy_bytes(
        np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    )
    for name, array in arrays.items():
        if array is None:
            contents.pop(f"{name}.npy")
        else:
            contents[f"{name}.npy"] = npy_bytes(array)
    write_members(path, contents)


def refused(path, words):
    with pytest.raises(ModelFileError, match=words):
        checkpoint.load(path)


# Each case passes every check before the one it names (the file's own arrays agree with its
# header), so the named check is the one that refuses it.
def test_layers_whose_weights_match_but_do_not_chain_are_refused(tmp_path):
    _, path = saved_model(tmp_path)
    header = header_of(path)
    header["networks"][0]["layers"][2]["in_features"] = 6
    replace_arrays(path, header, **{"net0.2.weight": np.zeros((6, 3))})
    refused(path, r"Linear\(6, 3\) takes 6 features per sample, but gets shape \(5,\)")


def test_ensemble_members_of_different_input_sizes_are_refused(tmp_path):
    _, path = saved_ensemble(tmp_path)
    header = header_of(path)
    header["networks"][1]["layers"][0]["in_features"] = 3
    replace_arrays(path, header, **{"net1.0.weight": np.zeros((3, 5))})
    refused(path, "ensemble members disagree on input or output size$")


def test_ensemble_members_of_different_output_sizes_are_refused(tmp_path):
    _, path = saved_ensemble(tmp_path)
    header = header_of(path)
    header["networks"][1]["layers"][2]["out_features"] = 2
    replace_arrays(path, header, **{"net1.2.weight": np.zeros((5, 2)), "net1.2.bias": np.zeros(2)})
    refused(path, "ensemble members disagree on input or output size$")


@pytest.mark.parametrize(
    ("arrays", "words"),
    [
        ({"scaler.offset": None}, "its arrays are missing$"),
        (
            {"scaler.offset": np.zeros(3)},
            ": scaler arrays do not match the number of input features$",
        ),
        (
            {"scaler.scale": np.zeros((4, 1))},
            ": scaler arrays do not match the number of input features$",
        ),
        (
            {"scaler.scale": np.array([1.0, 0.0, 1.0, 1.0])},
            ": scaler arrays hold non-finite or zero values$",
        ),
        (
            {"scaler.offset": np.array([0.0, np.inf, 0.0, 0.0])},
            ": scaler arrays hold non-finite or zero values$",
        ),
        (
            {"scaler.scale": np.array([1.0, np.nan, 1.0, 1.0])},
            ": scaler arrays hold non-finite or zero values$",
        ),
    ],
)
def test_bad_scaler_arrays_are_refused(arrays, words, tmp_path):
    _, path = saved_model(tmp_path)
    replace_arrays(path, header_of(path), **arrays)
    refused(path, words)


def test_scaler_arrays_without_a_declared_scaler_are_unexpected(tmp_path):
    _, path = saved_model(tmp_path)
    header = header_of(path)
    header["scaler"] = None
    replace_arrays(path, header)
    refused(path, r"unexpected arrays \['scaler.offset', 'scaler.scale'\]")


def test_infinite_weights_are_refused(tmp_path):
    _, path = saved_model(tmp_path)
    replace_arrays(path, header_of(path), **{"net0.0.weight": np.full((4, 5), np.inf)})
    refused(path, "NaN or infinite")


@pytest.mark.parametrize(
    ("classes", "words"),
    [
        ([None, 1, 2], "class labels do not match"),
        (["a", "b", "c", "d"], "class labels do not match"),
        (["a", "b", "a"], "class labels repeat"),
    ],
)
def test_bad_class_lists_are_refused(classes, words, tmp_path):
    _, path = saved_model(tmp_path)
    header = header_of(path)
    header["classes"] = classes
    replace_arrays(path, header)
    refused(path, words)


def test_text_classes_and_a_regression_file_load(tmp_path):
    """The checks above refuse only what is wrong: text labels and no classes are fine."""
    model, path = saved_model(tmp_path)
    header = header_of(path)
    header["classes"] = ["x", "y", "z"]
    replace_arrays(path, header)
    assert checkpoint.load(path).classes.tolist() == ["x", "y", "z"]
    header.update(classes=None, task="regression")
    replace_arrays(path, header)
    loaded = checkpoint.load(path)
    assert loaded.task == "regression" and loaded.classes is None


@pytest.mark.parametrize(
    "raw",
    [
        np.frombuffer(b'{"format": "glassnet-model"}', dtype=np.uint8).reshape(1, -1),
        np.frombuffer(b'{"format": "glassnet-model"}', dtype=np.uint8).astype(np.float64),
        np.full(checkpoint.MAX_HEADER_BYTES + 1, ord(" "), dtype=np.uint8),
    ],
    ids=["2-D bytes", "float bytes", "over 1 MiB"],
)
def test_a_header_that_is_not_a_json_byte_string_is_refused(raw, tmp_path):
    _, path = saved_model(tmp_path)
    contents = members(path)
    contents["__glassnet__.npy"] = npy_bytes(raw)
    write_members(path, contents)
    refused(path, "the header is not a JSON byte string")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (b"[1, 2]", "format marker missing"),
        (b'{"format": "other"}', "format marker missing"),
        (b"\xff\xfe", "not valid JSON"),
        (b"{", "not valid JSON"),
    ],
)
def test_headers_that_are_not_glassnet_json_are_refused(text, words, tmp_path):
    _, path = saved_model(tmp_path)
    contents = members(path)
    contents["__glassnet__.npy"] = npy_bytes(np.frombuffer(text, dtype=np.uint8))
    write_members(path, contents)
    refused(path, words)


def test_an_unsupported_npy_version_is_refused(tmp_path):
    _, path = saved_model(tmp_path)
    contents = members(path)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.zeros(5), version=(3, 0))
    contents["net0.0.bias.npy"] = buffer.getvalue()
    write_members(path, contents)
    refused(path, r"format \(3, 0\), which is not supported")


def test_a_member_declaring_more_than_2_gib_is_refused(tmp_path):
    _, path = saved_model(tmp_path)
    data = bytearray(path.read_bytes())
    # The central directory entry's uncompressed size (offset 24) of the first member.
    entry = data.index(b"PK\x01\x02")
    data[entry + 24 : entry + 28] = (3 << 30).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    refused(path, "declares 3221225472 bytes; refusing")


def test_fortran_ordered_arrays_load_to_the_same_values(tmp_path):
    """np.save writes a Fortran-ordered array's bytes column by column; reading must agree."""
    model, path = saved_model(tmp_path)
    contents = members(path)
    weight = model.network.state_dict()["0.weight"]
    contents["net0.0.weight.npy"] = npy_bytes(np.asfortranarray(weight))
    write_members(path, contents)
    assert_identical(checkpoint.load(path), model)


def test_bytes_after_an_arrays_data_are_refused(tmp_path):
    _, path = saved_model(tmp_path)
    contents = members(path)
    contents["net0.0.bias.npy"] += b"\0" * 8
    write_members(path, contents)
    # (The message could say "8 bytes too many"; it names the array, which is what matters.)
    refused(path, "array 'net0.0.bias' holds")


def test_a_missing_weight_is_named_with_the_declared_size(tmp_path):
    _, path = saved_model(tmp_path)
    replace_arrays(path, header_of(path), **{"net0.2.weight": None})
    refused(path, r"layer 2 is declared \(5, 3\) but its weight is missing$")
    replace_arrays(path, header_of(path), **{"net0.2.weight": np.zeros((5, 2))})
    refused(path, r"layer 2 is declared \(5, 3\) but its weight is of shape \(5, 2\)$")


def test_a_scaler_loads_with_its_kind_and_values_unit_scales_included(tmp_path):
    """A scale of exactly 1 (a feature already in range) is a valid scaler; the kind survives
    so that a re-saved model still says which scaler it uses."""
    model, path = saved_model(tmp_path)
    scale = np.array([1.0, 2.0, 1.0, 0.5])
    replace_arrays(path, header_of(path), **{"scaler.scale": scale})
    loaded = checkpoint.load(path)
    assert loaded.scaler.kind == model.scaler.kind == "standard"
    np.testing.assert_array_equal(loaded.scaler.scale, scale)
    np.testing.assert_array_equal(loaded.scaler.offset, model.scaler.offset)
    assert header_of(checkpoint.save(loaded, tmp_path / "again.npz"))["scaler"] == "standard"


def full(path, message):
    """The whole refusal: the file's path, then exactly ``message``."""
    with pytest.raises(ModelFileError, match=f"^{re.escape(str(path))}: {message}$"):
        checkpoint.load(path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda h: h.update(format="other"),
            r"not a glassnet model file \(format marker missing\)",
        ),
        (lambda h: h.update(format_version=99), "format version 99; this glassnet reads version 1"),
        (lambda h: h.update(classes=[1, 2]), "class labels do not match the network's outputs"),
        (lambda h: h.update(classes=[1, 1, 2]), "class labels repeat"),
        (lambda h: h.update(info=[1, 2]), "the header's info is not a mapping"),
    ],
)
def test_header_refusals_say_exactly_what_is_wrong(edit, message, tmp_path):
    _, path = saved_model(tmp_path)
    header = header_of(path)
    edit(header)
    replace_arrays(path, header)
    full(path, message)


def test_array_refusals_say_exactly_what_is_wrong(tmp_path):
    _, path = saved_model(tmp_path)
    replace_arrays(path, header_of(path), **{"net0.0.weight": np.full((4, 5), np.nan)})
    full(path, "weights contain NaN or infinite values")
    _, path = saved_model(tmp_path)
    replace_arrays(path, header_of(path), **{"net0.2.bias": np.array([print, 1], dtype=object)})
    full(
        path,
        re.escape(
            "array 'net0.2.bias' has dtype object; glassnet files hold only plain numbers "
            "(object arrays would need pickle, which glassnet never loads)"
        ),
    )
    _, path = saved_model(tmp_path)
    contents = members(path)
    contents["__glassnet__.npy"] = npy_bytes(np.zeros((2, 2), dtype=np.uint8))
    write_members(path, contents)
    full(path, "the header is not a JSON byte string")


def test_a_negative_declared_shape_is_refused_by_name(tmp_path):
    _, path = saved_model(tmp_path)
    contents = members(path)
    real = contents["net0.0.bias.npy"]
    fake = np.lib.format.header_data_from_array_1_0(np.zeros(5))
    fake["shape"] = (-5,)
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, fake)
    contents["net0.0.bias.npy"] = buffer.getvalue() + real[real.index(b"\n") + 1 :]
    write_members(path, contents)
    full(path, re.escape("array 'net0.0.bias' declares a negative shape (-5,)"))


def test_a_missing_file_is_named():
    path = "no/such/model.npz"
    with pytest.raises(ModelFileError, match="^model file 'no/such/model.npz' does not exist$"):
        checkpoint.load(path)


def test_a_header_of_exactly_one_mib_loads(tmp_path):
    model, path = saved_model(tmp_path)
    text = json.dumps(header_of(path)).encode()
    padded = text[:-1] + b" " * (checkpoint.MAX_HEADER_BYTES - len(text)) + b"}"
    assert len(padded) == checkpoint.MAX_HEADER_BYTES
    contents = members(path)
    contents["__glassnet__.npy"] = npy_bytes(np.frombuffer(padded, dtype=np.uint8))
    write_members(path, contents)
    assert_identical(checkpoint.load(path), model)
