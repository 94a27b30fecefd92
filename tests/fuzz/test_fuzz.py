"""Issue 23 item 8: the entry points against random and mutated input. Each case ends in
success or in a glassnet error (exit 2 with one line), never another exception, a hang or
unbounded memory.

Bounded for the suite (well under a minute); ``benchmarks/fuzz.py`` runs the same tests
with many more examples (``GLASSNET_FUZZ_EXAMPLES``) under a memory limit.
"""

from __future__ import annotations

import io
import json
import os
import signal
import string
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glassnet.cli import main
from glassnet.errors import GlassnetError
from glassnet.models import checkpoint

SCALE = int(os.environ.get("GLASSNET_FUZZ_EXAMPLES", "0"))
FIXTURES_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
# Seconds one example may take before it counts as a hang.
HANG_SECONDS = int(os.environ.get("GLASSNET_FUZZ_HANG_SECONDS", "60"))


def examples(default: int) -> settings:
    return settings(
        max_examples=SCALE or default,
        deadline=None,
        suppress_health_check=FIXTURES_OK,
        database=None,
    )


@contextmanager
def no_hang():
    """Fail the example (TimeoutError) past HANG_SECONDS instead of waiting forever."""

    def alarm(*_):
        raise TimeoutError(f"no result in {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    with no_hang():
        code = main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert code in (0, 2), (code, err)
    if code == 2:
        assert len(errors) == 1 and err.endswith(errors[0] + "\n"), err
    return code, err


# A small valid table: two numbers, a category, a label.
def table_rows(n: int = 40) -> list[list[str]]:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(n, 2))
    colours = rng.choice(["red", "green", "blue"], n)
    return [
        [f"{a:.3f}", f"{b:.3f}", colour, "yes" if a > 0 else "no"]
        for (a, b), colour in zip(values, colours, strict=True)
    ]


HEADER = ["a", "b", "colour", "label"]
NASTY_TEXT = st.text(
    alphabet=st.sampled_from(
        list(string.printable) + ["\x00", "\x1b", "\u2028", "é", "$", "[", "]", "\ufeff", ";"]
    ),
    max_size=12,
)
CELLS = st.one_of(
    NASTY_TEXT,
    st.sampled_from(["inf", "-inf", "nan", "1e308", "-1e308", "", "NA", "1,5", "1.234,5", '"']),
    st.floats(allow_nan=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
)


def write_table(path: Path, header: list[str], rows: list[list[str]], delimiter=",") -> Path:
    lines = [delimiter.join(header)] + [delimiter.join(row) for row in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    path = write_table(folder / "good.csv", HEADER, table_rows())
    args = ["train", "--data", str(path), "--target", "label", "--epochs", "2", "--quiet"]
    assert main([*args, "--out", str(folder / "run")]) == 0
    return folder / "run" / "model.npz"


class Counter:
    value = 0

    @classmethod
    def next(cls) -> int:
        cls.value += 1
        return cls.value


@examples(12)
@given(content=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".tsv", ".csv.gz"]))
def test_random_bytes_as_a_table(content, suffix, trained, tmp_path, capsys):
    path = tmp_path / f"random{Counter.next()}{suffix}"
    path.write_bytes(content)
    out = tmp_path / f"run{Counter.value}"
    run_cli(["train", "--data", str(path), "--target", "label", "--epochs", "2",
             "--out", str(out), "--quiet"], capsys)  # fmt: skip
    run_cli(["predict", str(trained), "--data", str(path), "--quiet"], capsys)


@examples(15)
@given(
    header_edits=st.lists(st.tuples(st.integers(0, 3), NASTY_TEXT), max_size=2),
    cell_edits=st.lists(st.tuples(st.integers(0, 39), st.integers(0, 3), CELLS), max_size=6),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_mutated_tables_through_train_and_predict(
    header_edits, cell_edits, delimiter, trained, tmp_path, capsys
):
    header, rows = list(HEADER), table_rows()
    for column, text in header_edits:
        header[column] = text
    for row, column, text in cell_edits:
        rows[row][column] = text
    path = write_table(tmp_path / f"t{Counter.next()}.csv", header, rows, delimiter)
    out = tmp_path / f"run{Counter.value}"
    target = header[3]
    run_cli(["train", "--data", str(path), "--target", target, "--epochs", "2",
             "--out", str(out), "--quiet"], capsys)  # fmt: skip
    run_cli(["predict", str(trained), "--data", str(path), "--quiet"], capsys)


TOML_VALUES = st.recursive(
    st.none().map(lambda _: '"x"')
    | st.integers(-(10**20), 10**20).map(str)
    | st.floats(allow_nan=True).map(
        lambda v: {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(repr(v), repr(v))
    )
    | st.booleans().map(lambda v: "true" if v else "false")
    | NASTY_TEXT.map(json.dumps),
    lambda inner: (
        st.lists(inner, max_size=3).map(lambda vs: "[" + ", ".join(vs) + "]")
        | st.dictionaries(
            st.sampled_from(["logspace", "linspace", "uniform", "randint", "a"]), inner, max_size=2
        ).map(lambda d: "{" + ", ".join(f"{k} = {v}" for k, v in d.items()) + "}")
    ),
    max_leaves=6,
)
KEYS = st.sampled_from(
    [
        "data",
        "target",
        "base",
        "task",
        "epochs",
        "lr",
        "l2",
        "hidden_layer_sizes",
        "batch_size",
        "dtype",
        "seeds",
        "search",
        "n_iter",
        "drop",
        "numeric",
        "unknown",
    ]  # fmt: skip
)
TABLES = st.sampled_from(["", "[train]", "[sweep]", "[columns]", "[other]"])


@examples(40)
@given(
    lines=st.lists(st.tuples(TABLES, KEYS, TOML_VALUES), max_size=6),
    noise=st.binary(max_size=20),
)
def test_random_toml_through_the_config_reader(lines, noise, tmp_path):
    from glassnet.experiments import config_file
    from glassnet.experiments.plan import plan_from_dict

    text = "\n".join(f"{table}\n{key} = {value}" for table, key, value in lines)
    for content in (text.encode("utf-8", "surrogatepass"), text.encode() + noise):
        path = tmp_path / "run.toml"
        path.write_bytes(content)
        with no_hang():
            for command in ("train", "run", "sweep"):
                try:
                    config_file.resolve(path, command)
                except GlassnetError:
                    pass
            try:
                plan_from_dict(config_file.read_file(path))
            except GlassnetError:
                pass


@pytest.fixture(scope="module")
def model_bytes(trained):
    return trained.read_bytes()


def load_and_use(path: Path) -> None:
    try:
        model = checkpoint.load(path)
    except GlassnetError:
        return
    rows = np.random.default_rng(0).normal(size=(3, model.n_features))
    if model.table is None:
        try:
            model.predict(rows)
        except GlassnetError:
            pass


@examples(60)
@given(
    edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=6),
    cut=st.one_of(st.none(), st.integers(min_value=0)),
)
def test_random_byte_edits_of_a_model_file(edits, cut, model_bytes, tmp_path):
    path = tmp_path / "edited.npz"
    path.write_bytes(edited(model_bytes, edits, cut))
    with no_hang():
        load_and_use(path)


def edited(original: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    """``original`` with each (position, byte) edit made (positions wrap), then cut short."""
    data = bytearray(original)
    for position, value in edits:
        data[position % len(data)] = value
    return bytes(data if cut is None else data[: cut % (len(data) + 1)])


@pytest.fixture(scope="module")
def data_npz_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("npz") / "d.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.normal(size=(60, 4)), y=rng.integers(0, 2, 60))
    return path.read_bytes()


@examples(40)
@given(
    edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=4),
    cut=st.one_of(st.none(), st.integers(min_value=0)),
)
def test_random_byte_edits_of_a_data_npz(edits, cut, data_npz_bytes, tmp_path):
    from glassnet.data.sources import load_dataset

    path = tmp_path / "edited.npz"
    path.write_bytes(edited(data_npz_bytes, edits, cut))
    with no_hang():
        try:
            load_dataset(str(path), "y")
        except GlassnetError:
            pass


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats() | NASTY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NASTY_TEXT, inner, max_size=3),
    max_leaves=8,
)


@examples(60)
@given(
    path_in_header=st.lists(
        st.sampled_from(
            [
                "task",
                "dtype",
                "networks",
                "classes",
                "scaler",
                "info",
                "table",
                "target_scaler",
                0,
                1,
                "layers",
                "type",
                "in_features",
                "out_features",
                "target",
                "feature_names",
                "numeric",
                "categorical",
                "categories",
                "roles",
                "image_shape",
                "channels",
            ]  # fmt: skip
        ),
        min_size=1,
        max_size=4,
    ),
    value=JSON_VALUES,
)
def test_random_header_edits_with_valid_checksums(path_in_header, value, model_bytes, tmp_path):
    """Edits a CRC cannot catch: a header field anywhere set to any JSON value, the zip
    written anew; loading and predicting end in a model or a ModelFileError."""
    with zipfile.ZipFile(io.BytesIO(model_bytes)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    header = json.loads(np.load(io.BytesIO(members["__glassnet__.npy"])).tobytes())
    node = header
    for step in path_in_header[:-1]:
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
    last = path_in_header[-1]
    if isinstance(node, dict) and isinstance(last, str):
        node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = value
    buffer = io.BytesIO()
    raw = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.save(buffer, raw)
    members["__glassnet__.npy"] = buffer.getvalue()
    path = tmp_path / "edited.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with no_hang():
        load_and_use(path)
