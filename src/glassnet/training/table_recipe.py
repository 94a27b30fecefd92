"""The recipe a table trains with by default: ``TABLE_RECIPE`` (activation, optimizer and L2,
the same for every table) and ``defaults_for`` (hidden layers, batch size, epochs, patience,
learning rate and its schedule, dtype, which follow the number of training rows, and the
periodic embeddings of numeric columns, which follow the task and the size).

Both were chosen by measurement on the 12 real tables of ``benchmarks/real_tables.py``
(selection on validation rows, figures on test rows) and, for the sizes, on the large tables
of ``benchmarks/big_tables.py``; docs/guide/tables-quality.md gives the figures. A setting the
user gives (flag or config file) always wins over these.
"""

from __future__ import annotations

import math
from typing import Any

# The settings that do not depend on the table's size.
TABLE_RECIPE: dict[str, Any] = {
    "activation": "relu",
    "optimizer": "adam",
    "l2": 0.0001,
}
# The settings ``defaults_for`` chooses from the table (its training rows and task).
SIZED = (
    "hidden_layer_sizes",
    "batch_size",
    "epochs",
    "early_stopping_patience",
    "numeric_embedding",
    "lr",
    "lr_schedule",
    "dtype",
)
# Up to SMALL_TABLE training rows: one hidden layer of 100 ReLU units, measured on the 12
# tables (3 x 256 with a cosine rate lost there: docs/guide/tables-quality.md).
SMALL_HIDDEN = [100]
# PLR embeddings of numeric columns (glassnet.nn.embeddings), this many features a column: on
# the regression half of benchmarks/real_tables.py they raised R² on all 6 tables (computers
# 0.897 -> 0.908, hotel_rates 0.931 -> 0.946, storms 0.941 -> 0.949); on the classification
# half they did not win (hmda 0.908 -> 0.899), so classes train without them. Large tables
# train without them too: they cost time there (not measured on quality).
NUMERIC_EMBEDDING = 8

# Up to SMALL_TABLE training rows a table keeps the small-table recipe (batches of 32, up to
# 300 epochs, patience 30), measured best on the 12 tables (1,000-6,000 training rows).
SMALL_TABLE = 20_000
# Above it the batch grows with the rows so that an epoch is about STEPS_PER_EPOCH optimizer
# steps, never beyond MAX_BATCH rows, and the epoch budget shrinks with the rows seen: an
# epoch of a large table already moves the weights as much as many epochs of a small one.
STEPS_PER_EPOCH = 600
MAX_BATCH = 1024
SAMPLES_BUDGET = 4_000_000  # about this many rows seen in all (epochs x rows), large tables
# Large tables train in float32 (flights: 16.2 -> 11.9 CPU seconds for the whole command, R²
# 0.9743 -> 0.9740); small ones keep float64, lr 0.001 and a constant rate. On flights
# (benchmarks/big_tables.py; chosen by validation R², seed 0, the network on seeds 0 1 2), one
# change at a time: a cosine decay of the rate over the whole epoch budget (the best epoch
# kept), lr 0.003 -> 0.006: test R² 0.9752 -> 0.9776 at the same time; 4 hidden layers of 32
# instead of one of 100: 0.9783 -> 0.9939 (20 epochs), no slower (fewer multiply-adds a row
# on flights' ~140 inputs); 20 epochs instead of 15 (budget 3M -> 4M rows): 0.9934 -> 0.9939.
LARGE_HIDDEN = [32, 32, 32, 32]
LARGE_LR = 0.006
LARGE_SCHEDULE = "cosine"
# Early stopping waits at least LARGE_PATIENCE epochs (a quarter of the budget when that is
# more), so the cosine's first, noisy epochs do not stop it: patience 5 cut flights at epoch 8
# of 20 (lr 0.01, one layer of 100: validation R² 0.9693 against 0.9773 trained through). On
# flights the validation loss never went 3 epochs without a new best with these settings, so
# 10 trains the whole budget there; on a mid-sized table it still saves time once the model
# overfits (ggplot2 diamonds, 32,364 training rows, 124 epochs: the best epoch was 61-64).
LARGE_PATIENCE = 10


def defaults_for(n_rows: int, n_features: int = 0, task: str = "classification") -> dict[str, Any]:
    """Hidden layers, batch size, epochs, early-stopping patience, numeric embedding, lr, lr
    schedule and dtype for a table of ``n_rows`` training rows and ``task`` (``n_features`` is
    taken for future rules). Small tables keep one layer of 100 and batches of 32; larger ones
    get 4 layers of 32, batches of up to ``MAX_BATCH`` rows and fewer, longer epochs, so the
    work grows far slower than the rows, with a cosine rate over all of them and a patience
    of at least ``LARGE_PATIENCE`` epochs. Small regression tables
    get PLR embeddings of their numeric columns (``NUMERIC_EMBEDDING``)."""
    if isinstance(n_rows, bool) or not isinstance(n_rows, int) or n_rows < 1:
        raise ValueError(f"n_rows must be a positive integer, got {n_rows!r}")
    if n_rows <= SMALL_TABLE:
        embedding = NUMERIC_EMBEDDING if task == "regression" else 0
        return {
            "hidden_layer_sizes": list(SMALL_HIDDEN),
            "batch_size": 32,
            "epochs": 300,
            "early_stopping_patience": 30,
            "numeric_embedding": embedding,
            "lr": 0.001,
            "lr_schedule": "constant",
            "dtype": "float64",
        }
    batch = 2 ** round(math.log2(n_rows / STEPS_PER_EPOCH))
    batch = int(min(MAX_BATCH, max(64, batch)))
    epochs = int(min(300, max(8, round(SAMPLES_BUDGET / n_rows))))
    return {
        "hidden_layer_sizes": list(LARGE_HIDDEN),
        "batch_size": batch,
        "epochs": epochs,
        "early_stopping_patience": max(LARGE_PATIENCE, epochs // 4),
        "numeric_embedding": 0,
        "lr": LARGE_LR,
        "lr_schedule": LARGE_SCHEDULE,
        "dtype": "float32",
    }


# Networks trained from different seeds and averaged (the preset's ``ensemble``) for small
# regression tables: on the regression half of real_tables.py (3 seeds) R² rose on all 6
# (diamonds 0.9892 -> 0.9905, star_math 0.7975 -> 0.8026, hotel_rates 0.9465 -> 0.9523) and
# the mean rank there went from 2.50 to 1.50, for 3x the training time.
ENSEMBLE = 3


def ensemble_for(n_rows: int, task: str = "classification") -> int:
    """How many networks a table's model averages by default: ``ENSEMBLE`` for a small
    regression table (the one that gets PLR embeddings), else 1."""
    return ENSEMBLE if defaults_for(n_rows, task=task)["numeric_embedding"] > 0 else 1


def table_defaults(
    n_rows: int, n_features: int = 0, task: str = "classification"
) -> dict[str, Any]:
    """The whole default recipe for such a table: ``TABLE_RECIPE`` and ``defaults_for``, as
    TrainConfig fields (what a user's run shows as its chosen defaults)."""
    return {**TABLE_RECIPE, **defaults_for(n_rows, n_features, task)}


def sized_settings(
    given: dict[str, Any], n_rows: int, n_features: int = 0, task: str = "classification"
) -> dict[str, Any]:
    """The ``SIZED`` settings that ``given`` (the user's own training settings) leaves open,
    chosen for the table: to pass to ``TrainConfig.replace``."""
    chosen = defaults_for(n_rows, n_features, task)
    return {key: chosen[key] for key in SIZED if key not in given}
