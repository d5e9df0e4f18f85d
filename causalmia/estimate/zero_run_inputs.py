"""Input checks of `zero_run`: arrays, options, clipping and trimming rules.

Each check raises ValueError naming the argument and the fix.
"""

import numpy as np

from causalmia import _validation
from causalmia.estimate.adjusted_curves import TARGETS
from causalmia.metrics import summary

METHODS = ("naive", "ipw", "gformula", "aipw")
INTERVALS = ("bootstrap", "influence")


def check_options(method, target, interval, fpr, convention, confidence, num_replicates,
                  thresholds, clip, trim) -> dict:
  """Validates the options and returns them normalized: rates as a tuple, clip as bounds."""
  if method not in METHODS:
    raise ValueError(f"Unknown method {method!r}; expected one of {METHODS}.")
  if target not in TARGETS:
    raise ValueError(f"Unknown target {target!r}; expected one of {TARGETS}.")
  if interval not in INTERVALS:
    raise ValueError(f"Unknown interval {interval!r}; expected one of {INTERVALS}.")
  if interval == "influence" and method != "aipw":
    raise ValueError(f"interval='influence' is available for method 'aipw' only, got "
                     f"{method!r}; use interval='bootstrap'.")
  if convention not in summary.CONVENTIONS:
    raise ValueError(f"Unknown convention {convention!r}; expected one of {summary.CONVENTIONS}.")
  if not 0.0 < confidence < 1.0:
    raise ValueError(f"confidence must lie in (0, 1), got {confidence}.")
  if num_replicates < 0:
    raise ValueError(f"num_replicates must be non-negative, got {num_replicates}.")
  if thresholds < 2:
    raise ValueError(f"thresholds must be at least 2, got {thresholds}.")
  return {"fprs": _validation.check_rates(fpr), "convention": convention,
          "confidence": confidence, "interval": interval, "num_replicates": num_replicates,
          "thresholds": int(thresholds), "clip": parse_clip(clip), "trim": parse_trim(trim)}


def parse_clip(clip):
  """Converts `clip` (None, eta or `(low, high)`) to None or a `(low, high)` tuple."""
  if clip is None:
    return None
  bounds = (float(clip), 1.0 - float(clip)) if np.ndim(clip) == 0 else tuple(map(float, clip))
  if len(bounds) != 2 or not 0.0 < bounds[0] < bounds[1] < 1.0:
    raise ValueError(f"clip must be eta in (0, 1/2) or (low, high) with 0 < low < high < 1, "
                     f"got {clip!r}.")
  return bounds


def parse_trim(trim):
  """Validates `trim`: None, "support" or a propensity bound alpha in (0, 1/2)."""
  if trim is None or trim == "support":
    return trim
  if isinstance(trim, str) or not 0.0 < float(trim) < 0.5:
    raise ValueError(f"trim must be None, 'support' or alpha in (0, 1/2), got {trim!r}.")
  return float(trim)


def check_groups(members):
  """Raises when either group is empty."""
  if members.all() or not members.any():
    empty = "non-member" if members.all() else "member"
    raise ValueError(f"members has no {empty} row; a zero-run estimate compares both groups.")


def check_covariates(covariates, names, rows):
  """Returns float64 `[rows, covariates]` and their names, or `(None, ())` without covariates."""
  if covariates is None:
    return None, ()
  array = np.asarray(covariates)
  if array.dtype == bool:
    array = array.astype(np.float64)
  if not np.issubdtype(array.dtype, np.number):
    raise ValueError(f"covariates must be numeric, got dtype {array.dtype}; encode categories "
                     "as indicator columns.")
  array = array.astype(np.float64)
  if array.ndim == 1:
    array = array[:, None]
  if array.ndim != 2 or array.shape[0] != rows:
    raise ValueError(f"covariates has shape {array.shape}, expected ({rows}, covariates).")
  bad = ~np.isfinite(array)
  if bad.any():
    row, column = np.argwhere(bad)[0]
    raise ValueError(f"covariates contain {int(bad.sum())} NaN or infinite value(s), the first "
                     f"at row {row}, column {column}; remove or impute them.")
  names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(array.shape[1]))
  if len(names) != array.shape[1]:
    raise ValueError(f"covariate_names has {len(names)} names for {array.shape[1]} columns.")
  return array, names


def check_propensity(propensity, shape):
  """Returns given propensities as float64, or None; raises outside [0, 1]."""
  if propensity is None:
    return None
  array = np.asarray(propensity, dtype=np.float64)
  if array.shape != shape:
    raise ValueError(f"propensity has shape {array.shape}, but the scores have shape {shape}.")
  bad = ~np.isfinite(array) | (array < 0) | (array > 1)
  if bad.any():
    raise ValueError(f"propensity must lie in [0, 1]; invalid at position(s) "
                     f"{_validation._positions(bad)}.")
  return array


def check_folds(members, folds):
  """Raises when a group has fewer rows than cross-fitting folds."""
  smallest = int(min(members.sum(), (~members).sum()))
  if folds > 1 and smallest < folds:
    raise ValueError(f"folds={folds} cross-fitting needs at least {folds} rows in each group, "
                     f"but the smaller group has {smallest}; lower folds (1 disables "
                     "cross-fitting).")
