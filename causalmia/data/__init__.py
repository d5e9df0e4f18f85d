"""Datasets for membership-inference experiments: container, loaders and synthetic data."""

from causalmia.data.dataset import Dataset
from causalmia.data.loaders import (
    DATASET_NAMES,
    load_cifar10,
    load_dataset,
    load_digits,
    load_location30,
)
from causalmia.data.npz import ArraySpec, read_npz_arrays, resolve_npz_path
from causalmia.data.synthetic import make_ridge

__all__ = [
    "DATASET_NAMES",
    "ArraySpec",
    "Dataset",
    "load_cifar10",
    "load_dataset",
    "load_digits",
    "load_location30",
    "make_ridge",
    "read_npz_arrays",
    "resolve_npz_path",
]
