"""Issue 23 item 6: a training's memory is estimated before it starts and refused, with the
estimate, when the machine has less."""

import numpy as np
import pytest

from glassnet.errors import ConfigError
from glassnet.training.config import TrainConfig
from glassnet.training.memory import (
    available_bytes,
    check_config_memory,
    check_memory,
    estimate_bytes,
    size_text,
)

GIB = 1 << 30


def test_the_estimate_counts_parameters_batches_and_data():
    parts = estimate_bytes([64, 48, 32, 10], n_rows=721, batch_size=None, dtype="float64")
    parameters = 64 * 48 + 48 + 48 * 32 + 32 + 32 * 10 + 10
    assert parts["parameters"] == parameters * 4 * 8  # value, gradient, momentum, best copy
    assert parts["batches"] == 721 * 3 * (64 + 48 + 32 + 10) * 8
    assert parts["data"] == 2 * 721 * 64 * 8
    assert parts["total"] == parts["parameters"] + parts["batches"] + parts["data"]
    half = estimate_bytes([64, 48, 32, 10], n_rows=721, batch_size=32, dtype="float32")
    assert half["parameters"] == parts["parameters"] // 2
    assert half["batches"] == 32 * 3 * (64 + 48 + 32 + 10) * 4
    adam = estimate_bytes([64, 48, 10], n_rows=10, optimizer="adam", parallel=3)
    sgd = estimate_bytes([64, 48, 10], n_rows=10, optimizer="sgd", parallel=3)
    assert adam["parameters"] == sgd["parameters"] * 5 // 4


def test_the_estimate_is_within_a_small_factor_of_a_real_training():
    """The fit loop's peak (tracemalloc) on a wide network is within 0.5x..3x of it."""
    import tracemalloc

    from glassnet.training.config import fit_from_config

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2000, 50)), rng.integers(0, 3, 2000)
    config = TrainConfig(hidden_layer_sizes=(512, 256), epochs=2, batch_size=None)
    tracemalloc.start()
    fit_from_config(config, (x, y), None, n_outputs=3, rng=rng)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    estimate = check_config_memory(config, n_features=50, n_outputs=3, n_rows=2000)["total"]
    assert 0.5 < peak / estimate < 3, (peak, estimate)


def test_a_network_of_a_hundred_million_units_is_refused_with_the_estimate():
    config = TrainConfig(hidden_layer_sizes=[100_000_000])
    with pytest.raises(
        ConfigError,
        match=r"needs about 1\.8 TiB of memory \(parameters 223\.5 GiB, .*\) but 16\.0 GiB",
    ):
        check_config_memory(config, n_features=64, n_outputs=10, n_rows=721, available=16 * GIB)
    # And on this machine, whatever it has (it has less than 200 GiB).
    with pytest.raises(ConfigError, match="hidden_layer_sizes, a batch_size"):
        check_config_memory(config, n_features=64, n_outputs=10, n_rows=721)


def test_a_full_batch_on_many_rows_is_refused_and_a_batch_size_fixes_it():
    sizes = [1000, 4096, 4096, 10]
    with pytest.raises(ConfigError, match="batches"):
        check_memory(sizes, n_rows=2_000_000, batch_size=None, available=8 * GIB)
    assert check_memory(sizes, n_rows=20_000, batch_size=256, available=8 * GIB)["total"] < 2 * GIB


def test_layers_given_one_by_one_are_counted_by_their_linear_widths():
    config = TrainConfig(layers=[{"type": "linear", "units": 10**8}, {"type": "relu"}])
    with pytest.raises(ConfigError, match="needs about"):
        check_config_memory(config, n_features=64, n_outputs=10, n_rows=100, available=16 * GIB)


def test_the_default_settings_fit_easily():
    parts = check_config_memory(TrainConfig(), n_features=64, n_outputs=10, n_rows=721)
    assert parts["total"] < 10 << 20
    assert available_bytes() is None or available_bytes() > 0
    assert size_text(512) == "512 bytes" and size_text(3 * GIB // 2) == "1.5 GiB"
