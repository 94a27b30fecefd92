"""Issue 23 item 6: settings are bounded before work starts. Config files must be regular
UTF-8 files of at most 1 MiB nested at most 32 deep; every sweep distribution's arguments
are checked; all refusals are one ConfigError (exit 2 with one line from the CLI)."""

import os
import re
import threading

import pytest

from glassnet.cli import main
from glassnet.config_limits import MAX_CONFIG_BYTES, MAX_SWEEP_VALUES
from glassnet.errors import ConfigError
from glassnet.experiments import config_file
from glassnet.experiments.plan import parse_assignment, plan_from_dict


def one_line_exit_2(args, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("glassnet"), err
    return err


def test_a_fifo_as_config_is_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "run.toml"
    os.mkfifo(fifo)
    codes = []
    worker = threading.Thread(
        target=lambda: codes.append(main(["train", "--config", str(fifo), "--quiet"])),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=10)
    assert codes == [2], "reading the FIFO blocked"
    assert "is a named pipe (FIFO), not a regular file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nests arrays or tables too deeply"),
        (b"a = " + b"[" * 40 + b"]" * 40 + b"\n", "more than 32 deep"),
        (b'data = "caf\xe9.csv"\n', "is not UTF-8 \\(byte 11\\)"),
        (b"# " + b"x" * MAX_CONFIG_BYTES + b"\n", "larger than 1,048,576 bytes"),
    ],
)
def test_config_files_are_limited_in_depth_size_and_encoding(tmp_path, capsys, content, words):
    path = tmp_path / "run.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=words):
        config_file.read_file(path)
    assert re.search(words, one_line_exit_2(["train", "--config", str(path), "--quiet"], capsys))


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"logspace": [-2, 2, -1]}, "num must be a whole number"),
        ({"logspace": [-2, 2, 10**12]}, "num must be a whole number"),
        ({"logspace": [-2, 2, "ten"]}, "num must be a whole number"),
        ({"logspace": [-2, 2, 2.5]}, "num must be a whole number"),
        ({"logspace": [-2, 2, True]}, "num must be a whole number"),
        ({"linspace": ["a", 2, 3]}, "start and stop must be numbers"),
        ({"logspace": [-2, float("inf"), 3]}, "start and stop must be numbers"),
        ({"logspace": [-2, 400, 3]}, "within \\+-300"),
        ({"logspace": [1, 2]}, "takes \\[start, stop, num\\]"),
    ],
)
def test_every_value_range_argument_is_checked(spec, words):
    with pytest.raises(ConfigError, match=words):
        plan_from_dict({"sweep": {"l2": spec}})


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"uniform": ["a", 1]}, "two numbers, low <= high"),
        ({"uniform": [2, 1]}, "two numbers, low <= high"),
        ({"loguniform": [0, 1]}, "must be positive"),
        ({"loguniform": [1e-3, float("nan")]}, "two numbers"),
        ({"randint": [1.5, 4]}, "whole numbers"),
        ({"randint": [1, 2, 3]}, "needs \\[low, high\\]"),
    ],
)
def test_every_distribution_argument_is_checked(spec, words):
    with pytest.raises(ConfigError, match=words):
        plan_from_dict({"sweep": {"l2": spec}, "search": "random", "n_iter": 3})


def test_sweeps_of_absurd_size_are_refused_before_they_are_listed():
    with pytest.raises(ConfigError, match="configurations; at most"):
        plan_from_dict({"search": "random", "n_iter": 10**9, "sweep": {"l2": [0.1]}})
    grid = {"l2": {"logspace": [-2, 2, 1000]}, "lr": {"linspace": [0.01, 0.5, 1000]}}
    with pytest.raises(
        ConfigError, match=f"1,000,000 configurations; at most {MAX_SWEEP_VALUES:,}"
    ):
        plan_from_dict({"sweep": grid})


def test_the_cli_grid_flag_checks_its_count(capsys):
    key, spec = parse_assignment("l2=logspace(-2,2,-5)", many=True)
    assert spec == {"logspace": [-2, 2, -5]}
    err = one_line_exit_2(["sweep", "--grid", "l2=logspace(-2,2,-5)", "--quiet"], capsys)
    assert "num must be a whole number" in err
