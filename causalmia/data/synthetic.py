"""Synthetic regression data with a known ground truth."""

from __future__ import annotations

import numpy as np

from causalmia.data.dataset import Dataset

_MAX_COVARIATES = 4


def make_ridge(
  seed: int,
  *,
  num_examples: int,
  num_features: int,
  noise_std: float = 0.5,
  weight_std: float = 1.0,
) -> tuple[Dataset, np.ndarray]:
  """Sample a linear-Gaussian regression dataset and return it with its true weights.

  Draws x ~ N(0, I), w ~ N(0, weight_std**2 / num_features * I) and
  y = x @ w + noise_std * N(0, 1), so that the signal variance is about
  weight_std**2 whatever num_features is. Arrays are identical for equal
  seeds (numpy's default_rng). Inputs and labels are float32. The weights
  are returned as float64, the precision used to compute the labels. The
  covariates are the first min(4, num_features) input columns, named x0, x1, ...
  """
  _check_positive_int("num_examples", num_examples)
  _check_positive_int("num_features", num_features)
  _check_non_negative("noise_std", noise_std)
  _check_non_negative("weight_std", weight_std)

  rng = np.random.default_rng(seed)
  inputs = rng.standard_normal((num_examples, num_features))
  weights = rng.normal(0.0, weight_std / np.sqrt(num_features), size=num_features)
  noise = rng.normal(0.0, noise_std, size=num_examples)
  labels = inputs @ weights + noise

  num_covariates = min(_MAX_COVARIATES, num_features)
  dataset = Dataset(
    inputs=inputs,
    labels=labels,
    num_classes=None,
    name="ridge",
    covariates=inputs[:, :num_covariates],
    covariate_names=tuple(f"x{column}" for column in range(num_covariates)),
  )
  return dataset, weights


def make_ridge_family(
  seed: int,
  *,
  num_base: int,
  num_audit: int,
  num_features: int,
  noise_std: float = 0.5,
  weight_std: float = 1.0,
  num_groups: int = 1,
) -> tuple[Dataset, Dataset, np.ndarray]:
  """Sample a base set and an audit pool from one linear-Gaussian model.

  The model is that of `make_ridge`: y = x @ w + noise_std * N(0, 1) with
  w ~ N(0, weight_std**2 / num_features * I). With `num_groups` > 1 the
  features are split into that many equal blocks, each example belongs to one
  group (uniform at random) and its inputs are zero outside its group's block
  and scaled by sqrt(num_groups) inside it, so that E||x||^2 = num_features
  whatever num_groups is. Ridge regression then decouples into one independent problem
  per group, so examples interfere only within their group.

  Returns:
    `(base, audit, weights)`: the base set (always trained on) and the audit
    pool as regression datasets, and the true weights (float64). Both
    datasets carry the group id as the covariate "group".
  """
  _check_positive_int("num_base", num_base)
  _check_positive_int("num_audit", num_audit)
  _check_positive_int("num_features", num_features)
  _check_positive_int("num_groups", num_groups)
  _check_non_negative("noise_std", noise_std)
  _check_non_negative("weight_std", weight_std)
  if num_features % num_groups:
    raise ValueError(
      f"num_features ({num_features}) must be a multiple of num_groups ({num_groups})"
    )

  rng = np.random.default_rng(seed)
  total = num_base + num_audit
  inputs = rng.standard_normal((total, num_features))
  weights = rng.normal(0.0, weight_std / np.sqrt(num_features), size=num_features)
  groups = rng.integers(0, num_groups, size=total)
  if num_groups > 1:
    block = num_features // num_groups
    in_block = (np.arange(num_features)[np.newaxis, :] // block) == groups[:, np.newaxis]
    inputs = np.where(in_block, inputs * np.sqrt(num_groups), 0.0)
  labels = inputs @ weights + rng.normal(0.0, noise_std, size=total)

  def part(rows: slice, name: str) -> Dataset:
    return Dataset(
      inputs=inputs[rows],
      labels=labels[rows],
      num_classes=None,
      name=name,
      covariates=groups[rows, np.newaxis],
      covariate_names=("group",),
    )

  return part(slice(0, num_base), "ridge_base"), part(slice(num_base, total), "ridge_audit"), weights


def _check_positive_int(field: str, value: object) -> None:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
    raise ValueError(f"{field} must be a positive int, got {value!r}")


def _check_non_negative(field: str, value: float) -> None:
  if not np.isfinite(value) or value < 0:
    raise ValueError(f"{field} must be a finite number >= 0, got {value!r}")
