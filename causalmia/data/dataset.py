"""In-memory dataset container with validated arrays."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

# Real-valued dtype kinds: bool, signed and unsigned integer, floating point.
_REAL_KINDS = "biuf"
_INTEGER_KINDS = "iu"


# eq=False because the generated __eq__ compares field tuples, which raises
# ValueError for multi-element arrays. The custom repr shows shapes, not data.
@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Dataset:
  """Inputs, labels and optional confounder covariates of one dataset.

  Construction validates every array and stores inputs and covariates as
  float32, classification labels as int32 and regression labels as float32.
  Each invalid field raises ValueError naming the field and the problem.
  """

  inputs: np.ndarray
  """Model inputs of shape [examples, ...], float32 and finite."""

  labels: np.ndarray
  """Targets of shape [examples]: int32 class ids, or float32 for regression."""

  num_classes: int | None
  """Class count of the task. None marks a regression dataset."""

  name: str
  """Dataset identifier, e.g. the source file stem, used to keep variants apart."""

  covariates: np.ndarray | None = None
  """Per-example features of shape [examples, covariates] for confounding adjustment."""

  covariate_names: tuple[str, ...] = ()
  """One name per covariate column."""

  def __post_init__(self) -> None:
    # The dataclass is frozen, so converted arrays are stored through object.__setattr__.
    _check_name(self.name)
    _check_num_classes(self.num_classes)
    inputs = _convert_inputs(self.inputs)
    num_examples = inputs.shape[0]
    labels = _convert_labels(self.labels, self.num_classes, num_examples)
    covariate_names = tuple(self.covariate_names)
    covariates = _convert_covariates(self.covariates, covariate_names, num_examples)
    object.__setattr__(self, "inputs", inputs)
    object.__setattr__(self, "labels", labels)
    object.__setattr__(self, "covariates", covariates)
    object.__setattr__(self, "covariate_names", covariate_names)

  def __len__(self) -> int:
    return int(self.inputs.shape[0])

  def __repr__(self) -> str:
    covariates_shape = None if self.covariates is None else self.covariates.shape
    return (
      f"Dataset(name={self.name!r}, inputs={self.inputs.shape}, "
      f"num_classes={self.num_classes}, covariates={covariates_shape})"
    )

  @property
  def num_features(self) -> int:
    """Number of input values per example: the product of the non-leading input dimensions."""
    return int(np.prod(self.inputs.shape[1:]))

  @property
  def is_regression(self) -> bool:
    """True when the labels are real-valued targets (num_classes is None)."""
    return self.num_classes is None

  def subset(self, index: np.ndarray | Sequence[int] | slice) -> Dataset:
    """Select examples by integer indices, a boolean mask or a slice.

    The result keeps num_classes, name and covariate names. Integer indices
    may repeat. A mask whose length differs from len(self) raises IndexError.
    """
    if not isinstance(index, slice):
      index = np.asarray(index)
      if index.ndim != 1:
        raise ValueError(f"subset index must be 1-D, got shape {index.shape}")
      if index.size == 0:
        # An empty list converts to float64, which numpy rejects as an index.
        index = index.astype(np.intp)
      if index.dtype.kind not in "biu":
        raise ValueError(
          f"subset index must contain integers or booleans, got dtype {index.dtype}"
        )
    covariates = None if self.covariates is None else self.covariates[index]
    return Dataset(
      inputs=self.inputs[index],
      labels=self.labels[index],
      num_classes=self.num_classes,
      name=self.name,
      covariates=covariates,
      covariate_names=self.covariate_names,
    )


def _check_name(name: object) -> None:
  if not isinstance(name, str) or not name:
    raise ValueError(f"name must be a non-empty string, got {name!r}")


def _check_num_classes(num_classes: object) -> None:
  if num_classes is None:
    return
  # bool is a subclass of int, but True is never a meaningful class count.
  if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
    raise ValueError(f"num_classes must be an int or None, got {num_classes!r}")
  if num_classes < 2:
    raise ValueError(f"num_classes must be at least 2, got {num_classes}")


def _convert_inputs(inputs: object) -> np.ndarray:
  array = np.asarray(inputs)
  if array.dtype.kind not in _REAL_KINDS:
    raise ValueError(f"inputs must be real numbers, got dtype {array.dtype}")
  if array.ndim < 2:
    raise ValueError(f"inputs must have shape [examples, ...features], got shape {array.shape}")
  array = array.astype(np.float32, copy=False)
  _check_finite("inputs", array)
  return array


def _convert_labels(labels: object, num_classes: int | None, num_examples: int) -> np.ndarray:
  array = np.asarray(labels)
  if array.ndim != 1:
    raise ValueError(f"labels must be 1-D with shape [examples], got shape {array.shape}")
  if array.shape[0] != num_examples:
    raise ValueError(
      f"labels has {array.shape[0]} entries but inputs has {num_examples} examples"
    )
  if num_classes is None:
    return _convert_regression_targets(array)
  return _convert_class_ids(array, num_classes)


def _convert_regression_targets(array: np.ndarray) -> np.ndarray:
  if array.dtype.kind not in _REAL_KINDS:
    raise ValueError(f"regression labels must be real numbers, got dtype {array.dtype}")
  array = array.astype(np.float32, copy=False)
  _check_finite("labels", array)
  return array


def _convert_class_ids(array: np.ndarray, num_classes: int) -> np.ndarray:
  if array.dtype.kind not in _INTEGER_KINDS:
    raise ValueError(
      f"labels must be integer class ids when num_classes={num_classes}, "
      f"got dtype {array.dtype}. Pass num_classes=None for regression."
    )
  # Check the range before the cast, so that int64 ids beyond the int32 range cannot wrap around.
  if array.size and (array.min() < 0 or array.max() >= num_classes):
    raise ValueError(
      f"labels must lie in [0, {num_classes}), got values from {array.min()} to {array.max()}"
    )
  return array.astype(np.int32, copy=False)


def _convert_covariates(
  covariates: object, names: tuple[str, ...], num_examples: int
) -> np.ndarray | None:
  if covariates is None:
    if names:
      raise ValueError(f"covariate_names is {names} but covariates is None")
    return None
  array = np.asarray(covariates)
  if array.dtype.kind not in _REAL_KINDS:
    raise ValueError(f"covariates must be real numbers, got dtype {array.dtype}")
  if array.ndim != 2:
    raise ValueError(f"covariates must be 2-D [examples, features], got shape {array.shape}")
  if array.shape[0] != num_examples:
    raise ValueError(
      f"covariates has {array.shape[0]} rows but inputs has {num_examples} examples"
    )
  _check_covariate_names(names, array.shape[1])
  array = array.astype(np.float32, copy=False)
  _check_finite("covariates", array)
  return array


def _check_covariate_names(names: tuple[str, ...], num_columns: int) -> None:
  if len(names) != num_columns:
    raise ValueError(
      f"covariate_names has {len(names)} names but covariates has {num_columns} columns"
    )
  if not all(isinstance(name, str) and name for name in names):
    raise ValueError(f"covariate_names must be non-empty strings, got {names}")
  if len(set(names)) != len(names):
    raise ValueError(f"covariate_names must be unique, got {names}")


def _check_finite(field: str, array: np.ndarray) -> None:
  finite = np.isfinite(array)
  if not finite.all():
    count = int(array.size - np.count_nonzero(finite))
    raise ValueError(f"{field} contains {count} non-finite values (NaN or inf)")
