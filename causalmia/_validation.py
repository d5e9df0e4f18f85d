"""Host-side input checks shared by the metrics and estimators.

Each check raises ValueError with the name of the offending array, so that a
caller with several inputs can tell which one to fix.
"""

import jax
import numpy as np

_MAX_LISTED = 5


def _positions(flags: np.ndarray) -> str:
  where = np.argwhere(flags)
  listed = ", ".join(str(tuple(int(i) for i in row)) if len(row) > 1 else str(int(row[0]))
                     for row in where[:_MAX_LISTED])
  more = "" if len(where) <= _MAX_LISTED else f", ... ({len(where) - _MAX_LISTED} more)"
  return listed + more


def check_scores(scores, name: str = "scores") -> np.ndarray:
  """Returns `scores` as a float array; raises if any entry is NaN.

  Infinite scores are valid ordered values (+inf is the most member-like).
  """
  array = np.asarray(scores)
  if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
    raise ValueError(f"{name} must be numeric, got dtype {array.dtype}.")
  # float64 only when JAX runs with x64 enabled; float32 otherwise.
  array = array.astype(jax.dtypes.canonicalize_dtype(np.float64))
  nan = np.isnan(array)
  if nan.any():
    raise ValueError(
        f"{name} contains {int(nan.sum())} NaN value(s) at position(s) "
        f"{_positions(nan)}; remove or impute them before estimating."
    )
  return array


def check_members(members, shape: tuple[int, ...], name: str = "members") -> np.ndarray:
  """Returns a bool membership array of the given shape; raises on other values."""
  array = np.asarray(members)
  if array.shape != shape:
    raise ValueError(f"{name} has shape {array.shape}, but the scores have shape {shape}.")
  if array.dtype != bool:
    if not np.issubdtype(array.dtype, np.number):
      raise ValueError(f"{name} must be bool or 0/1, got dtype {array.dtype}.")
    invalid = ~np.isin(array, (0, 1))
    if invalid.any():
      raise ValueError(
          f"{name} must contain only 0/1 or True/False; found other values at "
          f"position(s) {_positions(invalid)}."
      )
    array = array.astype(bool)
  return array


def check_weights(weights, shape: tuple[int, ...], name: str = "weights") -> np.ndarray:
  """Returns float weights of the given shape; raises on negative or non-finite ones."""
  array = np.asarray(weights, dtype=jax.dtypes.canonicalize_dtype(np.float64))
  if array.shape != shape:
    raise ValueError(f"{name} has shape {array.shape}, but the scores have shape {shape}.")
  bad = ~np.isfinite(array) | (array < 0)
  if bad.any():
    raise ValueError(
        f"{name} must be finite and non-negative; invalid at position(s) {_positions(bad)}."
    )
  return array


def check_rates(rates, name: str = "fpr") -> tuple[float, ...]:
  """Returns false-positive rates as a tuple of floats in [0, 1]."""
  values = tuple(float(r) for r in np.atleast_1d(np.asarray(rates, dtype=np.float64)))
  for value in values:
    if not 0.0 <= value <= 1.0:
      raise ValueError(f"{name} values must lie in [0, 1], got {value}.")
  return values
