"""Loaders for the datasets that experiments train and attack.

File loaders take an explicit path and never assume where data is stored.
Each returns a Dataset with covariates that describe simple image or record
statistics, for use as confounders in causal membership estimates.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sklearn.datasets

from causalmia.data.dataset import Dataset
from causalmia.data.npz import ArraySpec, read_npz_arrays, resolve_npz_path
from causalmia.data.synthetic import make_ridge

DIGITS_NUM_CLASSES = 10
# Each scikit-learn digits pixel counts the set pixels of a 4x4 block in a 32x32 bitmap,
# so values run from 0 to 16.
_DIGITS_MAX_PIXEL = 16.0

CIFAR10_NUM_CLASSES = 10
CIFAR10_SPLITS = ("train", "test")
CIFAR10_COVARIATE_NAMES = ("mean_brightness", "contrast", "mean_red", "mean_green", "mean_blue")

LOCATION30_NUM_CLASSES = 30
LOCATION30_NUM_FEATURES = 446


def load_digits(*, flatten: bool = True) -> Dataset:
  """Load scikit-learn's bundled 8x8 digit images (1,797 examples, 10 classes).

  Inputs are scaled to [0, 1] with shape [1797, 64], or [1797, 8, 8, 1] (NHWC)
  when `flatten` is False. Covariates are the mean pixel intensity and the
  number of non-zero ("ink") pixels per image.
  """
  bunch = sklearn.datasets.load_digits()
  images = (bunch.images / _DIGITS_MAX_PIXEL).astype(np.float32)
  flat = images.reshape(images.shape[0], -1)
  covariates = np.stack([flat.mean(axis=1), np.count_nonzero(flat, axis=1)], axis=1)
  inputs = flat if flatten else images[..., np.newaxis]
  return Dataset(
    inputs=inputs,
    labels=bunch.target,
    num_classes=DIGITS_NUM_CLASSES,
    name="digits",
    covariates=covariates,
    covariate_names=("mean_intensity", "ink_pixels"),
  )


def load_cifar10(path: str | Path, *, split: str = "train", limit: int | None = None) -> Dataset:
  """Load one split of a CIFAR-10 `.npz` file as float32 NHWC images in [0, 1].

  `path` is the `.npz` file or a folder containing exactly one. The file must
  contain `x_<split>` (N, 32, 32, 3) uint8 and `y_<split>` (N,) integer class
  ids 0-9. The optional `<split>_index` (integers) and `<split>_file`
  (fixed-width unicode) arrays are validated but not returned. Only the
  requested split's arrays are read. `limit` keeps the first `limit` examples.

  The dataset name is the file stem (e.g. "cifar10_exact" or
  "cifar10_jpeg_q75"), so that callers can reject mixing variants whose
  compression artifacts differ.
  """
  if split not in CIFAR10_SPLITS:
    raise ValueError(f"split must be one of {CIFAR10_SPLITS}, got {split!r}")
  file = resolve_npz_path(path)
  images_key, labels_key = f"x_{split}", f"y_{split}"
  arrays = read_npz_arrays(
    file,
    required={
      images_key: ArraySpec(("examples", 32, 32, 3), kinds="u"),
      labels_key: ArraySpec(("examples",), kinds="iu"),
    },
    optional={
      f"{split}_index": ArraySpec(("examples",), kinds="iu"),
      f"{split}_file": ArraySpec(("examples",), kinds="U"),
    },
  )
  images = _take_first(arrays[images_key], limit)
  labels = _take_first(arrays[labels_key], limit)
  # uint16 or wider would pass the dtype check, so the 8-bit range is checked explicitly.
  _check_value_range(file, images_key, images, 0, 255)
  _check_value_range(file, labels_key, labels, 0, CIFAR10_NUM_CLASSES - 1)

  inputs = images.astype(np.float32) / np.float32(255.0)
  return Dataset(
    inputs=inputs,
    labels=labels,
    num_classes=CIFAR10_NUM_CLASSES,
    name=file.stem,
    covariates=_image_statistics(inputs),
    covariate_names=CIFAR10_COVARIATE_NAMES,
  )


def load_location30(path: str | Path) -> Dataset:
  """Load the Location-30 check-in records (binary features, 30 classes).

  `path` is the `.npz` file or a folder containing exactly one. The file must
  contain `x` (N, 446) with values in {0, 1} and `y` (N,) class ids 0-29.
  The covariate is the number of active features per record.
  """
  file = resolve_npz_path(path)
  arrays = read_npz_arrays(
    file,
    required={
      "x": ArraySpec(("records", LOCATION30_NUM_FEATURES), kinds="biu"),
      "y": ArraySpec(("records",), kinds="iu"),
    },
  )
  features, labels = arrays["x"], arrays["y"]
  _check_value_range(file, "x", features, 0, 1)
  _check_value_range(file, "y", labels, 0, LOCATION30_NUM_CLASSES - 1)

  active = np.count_nonzero(features, axis=1)[:, np.newaxis]
  return Dataset(
    inputs=features,
    labels=labels,
    num_classes=LOCATION30_NUM_CLASSES,
    name=file.stem,
    covariates=active,
    covariate_names=("active_features",),
  )


def load_dataset(name: str, path: str | Path | None = None, **kwargs: Any) -> Dataset:
  """Load a dataset by name, passing `kwargs` to its loader.

  "cifar10" and "location30" need `path`. "digits" and "ridge" take no path,
  and "ridge" needs the keyword arguments of `make_ridge`. The ridge dataset
  comes without its true weights, which only `make_ridge` returns.
  """
  if name in _FILE_LOADERS:
    if path is None:
      raise ValueError(
        f"dataset {name!r} needs a data file: set path to its .npz file "
        "or to the folder containing it"
      )
    return _FILE_LOADERS[name](path, **kwargs)
  if name in _BUILTIN_LOADERS:
    if path is not None:
      raise ValueError(
        f"dataset {name!r} is not read from a file, so path must be None, got {path!r}"
      )
    return _BUILTIN_LOADERS[name](**kwargs)
  raise ValueError(f"unknown dataset {name!r}. Known datasets: {', '.join(DATASET_NAMES)}")


def _make_ridge_dataset(**kwargs: Any) -> Dataset:
  dataset, _ = make_ridge(**kwargs)
  return dataset


_FILE_LOADERS: dict[str, Callable[..., Dataset]] = {
  "cifar10": load_cifar10,
  "location30": load_location30,
}
_BUILTIN_LOADERS: dict[str, Callable[..., Dataset]] = {
  "digits": load_digits,
  "ridge": _make_ridge_dataset,
}
DATASET_NAMES = tuple(sorted([*_FILE_LOADERS, *_BUILTIN_LOADERS]))


def _take_first(array: np.ndarray, limit: int | None) -> np.ndarray:
  if limit is None:
    return array
  if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
    raise ValueError(f"limit must be a positive int or None, got {limit!r}")
  if limit > array.shape[0]:
    raise ValueError(f"limit={limit} exceeds the {array.shape[0]} examples available")
  return array[:limit]


def _check_value_range(file: Path, key: str, array: np.ndarray, low: int, high: int) -> None:
  if array.size == 0:
    return
  smallest, largest = array.min(), array.max()
  if smallest < low or largest > high:
    raise ValueError(
      f"array {key!r} in {file} has values out of range: found {smallest} to {largest}, "
      f"expected {low} to {high}"
    )


def _image_statistics(images: np.ndarray) -> np.ndarray:
  """Per-image mean, standard deviation and per-channel means of NHWC images."""
  brightness = images.mean(axis=(1, 2, 3))
  contrast = images.std(axis=(1, 2, 3))
  channel_means = images.mean(axis=(1, 2))
  return np.column_stack([brightness, contrast, channel_means])
