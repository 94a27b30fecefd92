"""Data in: datasets and splits, file and OpenML sources, input checks and preprocessing."""

from glassnet.data.checks import (
    check_class_indices,
    check_classes,
    check_features,
    check_known_labels,
    check_targets,
)
from glassnet.data.datasets import Dataset, Splits, load_digits, random_split, seed_split
from glassnet.data.preprocessing import Scaler

__all__ = [
    "Dataset",
    "Scaler",
    "Splits",
    "check_class_indices",
    "check_classes",
    "check_features",
    "check_known_labels",
    "check_targets",
    "load_digits",
    "random_split",
    "seed_split",
]
